package org.kcopyd.test;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.testdevices.ForwardingDevice;

/** An in-memory test device whose reads complete later, from another thread: keeps jobs in flight. */
final class SlowMemoryDevice extends ForwardingDevice {

    private static final ScheduledExecutorService LATER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "slow-device");
        t.setDaemon(true);
        return t;
    });

    private final long readDelayMillis;

    /** A device of {@code sectors} sectors, random bytes of {@code seed} unless it is 0 (then zeros). */
    SlowMemoryDevice(String name, int sectors, long readDelayMillis, long seed) {
        super(new MemoryBlockDevice(name, sectors));
        this.readDelayMillis = readDelayMillis;
        if (seed != 0) {
            byte[] data = new byte[sectors * SECTOR_SIZE];
            new Random(seed).nextBytes(data);
            inner.write(0, ByteBuffer.wrap(data)).toCompletableFuture().join();
        }
    }

    byte[] bytes() {
        ByteBuffer all = ByteBuffer.allocate(Math.toIntExact(sizeInSectors() * SECTOR_SIZE));
        inner.read(0, all).toCompletableFuture().join();
        return all.array();
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        LATER.schedule(() -> inner.read(sector, dst).whenComplete((v, e) -> {
            if (e != null) {
                done.completeExceptionally(e);
            } else {
                done.complete(null);
            }
        }), readDelayMillis, TimeUnit.MILLISECONDS);
        return done;
    }
}
