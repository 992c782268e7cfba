package org.kcopyd.impl.osgi;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

import org.kcopyd.api.BlockDevice;

/**
 * A device a provider opened for one bundle's opener: every call goes to the provider's device;
 * closing it also tells the opener, which then forgets it (it cannot ask an arbitrary device whether
 * it is still open, as it asks its files). Thread-safe as the device is.
 */
final class OwnedDevice implements BlockDevice {

    private final BlockDevice device;
    private final Consumer<OwnedDevice> closed;

    OwnedDevice(BlockDevice device, Consumer<OwnedDevice> closed) {
        this.device = device;
        this.closed = closed;
    }

    @Override
    public String name() {
        return device.name();
    }

    @Override
    public long sizeInSectors() {
        return device.sizeInSectors();
    }

    @Override
    public boolean isReadOnly() {
        return device.isReadOnly();
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        return device.read(sector, dst);
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        return device.write(sector, src);
    }

    @Override
    public CompletionStage<Void> flush() {
        return device.flush();
    }

    @Override
    public boolean supportsWriteZeroes() {
        return device.supportsWriteZeroes();
    }

    @Override
    public CompletionStage<Void> writeZeroes(long sector, long count) {
        return device.writeZeroes(sector, count);
    }

    @Override
    public boolean supportsDiscard() {
        return device.supportsDiscard();
    }

    @Override
    public CompletionStage<Void> discard(long sector, long count) {
        return device.discard(sector, count);
    }

    @Override
    public boolean requiresSequentialWrites() {
        return device.requiresSequentialWrites();
    }

    @Override
    public void close() throws IOException {
        try {
            device.close();
        } finally {
            closed.accept(this);
        }
    }

    @Override
    public String toString() {
        return device.toString();
    }
}
