package org.kcopyd.nbd.internal.osgi;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;

/**
 * A device opened without {@code READ_WRITE}: reads and flushes go to the device, writes,
 * write-zeroes and discards fail with an {@link IOException} naming it; closing closes it.
 * Thread-safe as the device is.
 */
final class ReadOnlyDevice implements BlockDevice {

    private final BlockDevice device;

    ReadOnlyDevice(BlockDevice device) {
        this.device = device;
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
        return true;
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        return device.read(sector, dst);
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        return refused("write");
    }

    @Override
    public CompletionStage<Void> flush() {
        return device.flush();
    }

    @Override
    public CompletionStage<Void> writeZeroes(long sector, long count) {
        return refused("write-zeroes");
    }

    @Override
    public CompletionStage<Void> discard(long sector, long count) {
        return refused("discard");
    }

    private CompletionStage<Void> refused(String what) {
        return CompletableFuture.failedStage(new IOException(what + " refused: " + device.name()
            + " was opened read-only"));
    }

    @Override
    public void close() throws IOException {
        device.close();
    }
}
