package org.kcopyd.test;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.kcopyd.api.BlockDevice;

/** An in-memory test device whose reads complete later, from another thread: keeps jobs in flight. */
final class SlowMemoryDevice implements BlockDevice {

    private static final ScheduledExecutorService LATER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "slow-device");
        t.setDaemon(true);
        return t;
    });

    private final String name;
    private final byte[] data;
    private final long readDelayMillis;

    SlowMemoryDevice(String name, int sectors, long readDelayMillis, long seed) {
        this.name = name;
        this.data = new byte[sectors * SECTOR_SIZE];
        this.readDelayMillis = readDelayMillis;
        if (seed != 0) {
            new Random(seed).nextBytes(data);
        }
    }

    byte[] bytes() {
        synchronized (data) {
            return data.clone();
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long sizeInSectors() {
        return data.length / SECTOR_SIZE;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        LATER.schedule(() -> {
            synchronized (data) {
                dst.put(data, (int) (sector * SECTOR_SIZE), dst.remaining());
            }
            done.complete(null);
        }, readDelayMillis, TimeUnit.MILLISECONDS);
        return done;
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        synchronized (data) {
            src.get(data, (int) (sector * SECTOR_SIZE), src.remaining());
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Void> flush() {
        return CompletableFuture.completedFuture(null);
    }
}
