package org.kcopyd.mirror.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;

/** A test device that passes everything to another; subclasses change what they test. */
class ForwardingDevice implements BlockDevice {

    final BlockDevice inner;

    ForwardingDevice(BlockDevice inner) {
        this.inner = inner;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public long sizeInSectors() {
        return inner.sizeInSectors();
    }

    @Override
    public boolean isReadOnly() {
        return inner.isReadOnly();
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        return inner.read(sector, dst);
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        return inner.write(sector, src);
    }

    @Override
    public CompletionStage<Void> flush() {
        return inner.flush();
    }

    @Override
    public void close() throws java.io.IOException {
        inner.close();
    }
}
