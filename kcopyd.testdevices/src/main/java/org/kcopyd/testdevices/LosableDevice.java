package org.kcopyd.testdevices;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;

/**
 * A device that a test can lose, as an NBD export is lost when its server goes away: after
 * {@link #lose}, every read, write and flush fails with the reason and {@link #whenLost()}
 * completes with it, on the test's thread. Before, every call goes to the wrapped device.
 * Thread-safe.
 */
public final class LosableDevice extends ForwardingDevice {

    private final CompletableFuture<IOException> lost = new CompletableFuture<>();

    /** @param inner the device every call goes to until it is lost */
    public LosableDevice(BlockDevice inner) {
        super(inner);
    }

    /** Loses the device: later requests fail with {@code why}, and {@link #whenLost()} completes with it. */
    public void lose(IOException why) {
        lost.complete(why);
    }

    @Override
    public CompletionStage<IOException> whenLost() {
        return lost.minimalCompletionStage();
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        return lost.isDone() ? CompletableFuture.failedFuture(lost.join()) : super.read(sector, dst);
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        return lost.isDone() ? CompletableFuture.failedFuture(lost.join()) : super.write(sector, src);
    }

    @Override
    public CompletionStage<Void> flush() {
        return lost.isDone() ? CompletableFuture.failedFuture(lost.join()) : super.flush();
    }
}
