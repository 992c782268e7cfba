package org.kcopyd.impl.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.MemoryBlockDevice;

/**
 * A fault-injecting test device over a memory device: fails reads or writes that touch chosen
 * sectors, can complete requests late (from another thread), and records every write and flush.
 */
final class FaultyDevice implements BlockDevice {

    /** One recorded write: sector range and the order in which it completed. */
    record Write(long sector, long count) {
        long end() {
            return sector + count;
        }
    }

    private static final ScheduledExecutorService DELAYS = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "faulty-device-delay");
        t.setDaemon(true);
        return t;
    });

    final MemoryBlockDevice memory;
    private final List<long[]> readFaults = new CopyOnWriteArrayList<>();
    private final List<long[]> writeFaults = new CopyOnWriteArrayList<>();
    final List<Write> writes = new CopyOnWriteArrayList<>();
    final List<Write> reads = new CopyOnWriteArrayList<>();
    final AtomicInteger flushes = new AtomicInteger();
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger maxInFlight = new AtomicInteger();
    volatile long delayMicros;
    volatile boolean failFlush;
    volatile boolean sequentialOnly;
    volatile boolean readOnly;
    volatile boolean zeroCommand = true;

    FaultyDevice(String name, long sectors) {
        this.memory = new MemoryBlockDevice(name, sectors);
    }

    FaultyDevice failReadsAt(long sector) {
        readFaults.add(new long[] {sector, sector + 1});
        return this;
    }

    FaultyDevice failWritesAt(long sector) {
        writeFaults.add(new long[] {sector, sector + 1});
        return this;
    }

    private static boolean hits(List<long[]> faults, long sector, long count) {
        for (long[] f : faults) {
            if (sector < f[1] && f[0] < sector + count) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String name() {
        return memory.name();
    }

    @Override
    public long sizeInSectors() {
        return memory.sizeInSectors();
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public boolean requiresSequentialWrites() {
        return sequentialOnly;
    }

    @Override
    public boolean supportsWriteZeroes() {
        return zeroCommand;
    }

    private CompletionStage<Void> later(java.util.function.Supplier<CompletionStage<Void>> op) {
        int now = inFlight.incrementAndGet();
        maxInFlight.accumulateAndGet(now, Math::max);
        long delay = delayMicros;
        if (delay == 0) {
            CompletionStage<Void> r = op.get();
            inFlight.decrementAndGet();
            return r;
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        DELAYS.schedule(() -> {
            inFlight.decrementAndGet();
            op.get().whenComplete((v, t) -> {
                if (t != null) {
                    f.completeExceptionally(t);
                } else {
                    f.complete(null);
                }
            });
        }, delay, TimeUnit.MICROSECONDS);
        return f;
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        long count = dst.remaining() / SECTOR_SIZE;
        return later(() -> {
            reads.add(new Write(sector, count));
            if (hits(readFaults, sector, count)) {
                return CompletableFuture.failedStage(new IOException("injected read error at sector " + sector));
            }
            return memory.read(sector, dst);
        });
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        long count = src.remaining() / SECTOR_SIZE;
        return later(() -> {
            writes.add(new Write(sector, count));
            if (hits(writeFaults, sector, count)) {
                return CompletableFuture.failedStage(new IOException("injected write error at sector " + sector));
            }
            return memory.write(sector, src);
        });
    }

    @Override
    public CompletionStage<Void> writeZeroes(long sector, long count) {
        return later(() -> {
            writes.add(new Write(sector, count));
            if (hits(writeFaults, sector, count)) {
                return CompletableFuture.failedStage(new IOException("injected write error at sector " + sector));
            }
            return memory.writeZeroes(sector, count);
        });
    }

    @Override
    public CompletionStage<Void> flush() {
        flushes.incrementAndGet();
        return failFlush ? CompletableFuture.failedStage(new IOException("injected flush error")) : memory.flush();
    }

    byte[] bytes(long sector, long count) {
        ByteBuffer b = ByteBuffer.allocate((int) (count * SECTOR_SIZE));
        memory.read(sector, b).toCompletableFuture().join();
        return b.array();
    }

    void fill(long seed) {
        java.util.Random r = new java.util.Random(seed);
        byte[] chunk = new byte[1 << 16];
        long total = sizeInSectors() * SECTOR_SIZE;
        for (long pos = 0; pos < total; pos += chunk.length) {
            r.nextBytes(chunk);
            int n = (int) Math.min(chunk.length, total - pos);
            memory.write(pos / SECTOR_SIZE, ByteBuffer.wrap(chunk, 0, n)).toCompletableFuture().join();
        }
    }

    List<Write> writesSnapshot() {
        return new ArrayList<>(writes);
    }
}
