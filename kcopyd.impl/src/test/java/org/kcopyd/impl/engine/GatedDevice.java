package org.kcopyd.impl.engine;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;

/** A read-only test source whose reads complete only once {@link #open()} is called: holds jobs in flight. */
final class GatedDevice implements BlockDevice {

    private final long sectors;
    private final CompletableFuture<Void> gate = new CompletableFuture<>();

    GatedDevice(long sectors) {
        this.sectors = sectors;
    }

    void open() {
        gate.complete(null);
    }

    @Override
    public String name() {
        return "gated";
    }

    @Override
    public long sizeInSectors() {
        return sectors;
    }

    @Override
    public boolean isReadOnly() {
        return true;
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        return gate.thenRun(() -> dst.position(dst.limit()));
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        throw new UnsupportedOperationException("read-only test device");
    }

    @Override
    public CompletionStage<Void> flush() {
        return gate;
    }
}
