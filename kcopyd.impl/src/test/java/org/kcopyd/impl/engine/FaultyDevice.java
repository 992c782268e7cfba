package org.kcopyd.impl.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import org.kcopyd.api.BlockDevice;

/**
 * A fault-injecting test device in a heap array: fails reads or writes that touch chosen
 * sectors, can complete requests late (from another thread, out of order) or stall, and records
 * every read, write and flush as it is requested. A failed request changes nothing; a late one
 * moves its data when it completes, so a buffer reused too early shows in the content.
 */
class FaultyDevice implements BlockDevice {

    /**
     * One recorded request: its sector range, and when it was made and completed on one clock
     * shared by every device (0 while it has not completed). Lists of them are in call order.
     */
    record Write(long sector, long count, long issued, AtomicLong completed) {
        long end() {
            return sector + count;
        }
    }

    private static final AtomicLong CLOCK = new AtomicLong();
    private static final ScheduledExecutorService DELAYS = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "faulty-device-delay");
        t.setDaemon(true);
        return t;
    });

    private final String name;
    /** The content; requests of disjoint ranges may use it at once, their stages order the rest. */
    private final byte[] data;
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
    /** Injected faults are thrown by the call itself rather than reported through a failed stage. */
    volatile boolean throwFaults;
    private Random jitter;
    private int jitterMicros;
    private final AtomicInteger requests = new AtomicInteger();
    private int stallFrom = -1;
    private long stallMillis;
    private final CompletableFuture<Void> stallGate = new CompletableFuture<>();
    private final AtomicBoolean stallTimer = new AtomicBoolean();

    FaultyDevice(String name, long sectors) {
        this(name, new byte[Math.toIntExact(sectors * SECTOR_SIZE)]);
    }

    /** A device holding {@code content} (its size a multiple of 512), which it then owns. */
    FaultyDevice(String name, byte[] content) {
        if (content.length == 0 || content.length % SECTOR_SIZE != 0) {
            throw new IllegalArgumentException(content.length + " bytes are not a whole number of sectors");
        }
        this.name = name;
        this.data = content;
    }

    FaultyDevice failReadsAt(long sector) {
        readFaults.add(new long[] {sector, sector + 1});
        return this;
    }

    FaultyDevice failWritesAt(long sector) {
        writeFaults.add(new long[] {sector, sector + 1});
        return this;
    }

    /**
     * Completes each request after its own random delay of 0 to {@code maxMicros} microseconds
     * (a third of them at once, on the calling thread), so requests complete late, on other
     * threads and out of order. The delays follow {@code seed} in the order the requests arrive.
     */
    FaultyDevice jitter(long seed, int maxMicros) {
        this.jitter = new Random(seed);
        this.jitterMicros = maxMicros;
        return this;
    }

    /**
     * From its {@code fromRequest}-th read or write on (counting from 0), the device stalls: those
     * requests are held until {@code millis} after the first of them arrived, then all proceed.
     */
    FaultyDevice stall(int fromRequest, long millis) {
        this.stallFrom = fromRequest;
        this.stallMillis = millis;
        return this;
    }

    private long nextJitterMicros() {
        if (jitter == null) {
            return 0;
        }
        synchronized (jitter) {
            int d = jitter.nextInt(jitterMicros + 1);
            return d < jitterMicros / 3 ? 0 : d;
        }
    }

    private CompletableFuture<Void> stallFor(int request) {
        if (stallFrom < 0 || request < stallFrom || stallGate.isDone()) {
            return null;
        }
        if (stallTimer.compareAndSet(false, true)) {
            DELAYS.schedule(() -> stallGate.complete(null), stallMillis, TimeUnit.MILLISECONDS);
        }
        return stallGate;
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
        return name;
    }

    @Override
    public long sizeInSectors() {
        return data.length / SECTOR_SIZE;
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

    private CompletionStage<Void> later(Write request, Supplier<CompletionStage<Void>> op) {
        int now = inFlight.incrementAndGet();
        maxInFlight.accumulateAndGet(now, Math::max);
        CompletableFuture<Void> gate = stallFor(requests.getAndIncrement());
        long delay = delayMicros + nextJitterMicros();
        if (delay == 0 && gate == null) {
            CompletionStage<Void> r = op.get();
            inFlight.decrementAndGet();
            request.completed.set(CLOCK.incrementAndGet());
            return r;
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        Runnable complete = () -> {
            inFlight.decrementAndGet();
            op.get().whenComplete((v, t) -> {
                request.completed.set(CLOCK.incrementAndGet());
                if (t != null) {
                    f.completeExceptionally(t);
                } else {
                    f.complete(null);
                }
            });
        };
        Runnable delayed = delay == 0 ? complete : () -> DELAYS.schedule(complete, delay, TimeUnit.MICROSECONDS);
        if (gate == null) {
            delayed.run();
        } else {
            gate.thenRun(delayed);
        }
        return f;
    }

    private static Write record(List<Write> log, long sector, long count) {
        Write w = new Write(sector, count, CLOCK.incrementAndGet(), new AtomicLong());
        log.add(w);
        return w;
    }

    /** A fault found when the request is made: thrown now if {@link #throwFaults}, else reported later. */
    private CompletionStage<Void> fault(Write request, String what, long sector) {
        IOException e = new IOException("injected " + what + " error" + (request == null ? "" : " at sector " + sector));
        if (throwFaults) {
            if (request != null) {
                request.completed.set(CLOCK.incrementAndGet());
            }
            throw new UncheckedIOException(e.getMessage(), e);
        }
        CompletionStage<Void> failed = CompletableFuture.failedStage(e);
        return request == null ? failed : later(request, () -> failed);
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        long count = dst.remaining() / SECTOR_SIZE;
        Write request = record(reads, sector, count);
        if (hits(readFaults, sector, count)) {
            return fault(request, "read", sector);
        }
        return later(request, () -> move(sector, count, () -> dst.put(data, (int) (sector * SECTOR_SIZE),
                (int) (count * SECTOR_SIZE))));
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        long count = src.remaining() / SECTOR_SIZE;
        Write request = record(writes, sector, count);
        if (hits(writeFaults, sector, count)) {
            return fault(request, "write", sector);
        }
        return later(request, () -> move(sector, count, () -> src.get(data, (int) (sector * SECTOR_SIZE),
                (int) (count * SECTOR_SIZE))));
    }

    @Override
    public CompletionStage<Void> writeZeroes(long sector, long count) {
        Write request = record(writes, sector, count);
        if (hits(writeFaults, sector, count)) {
            return fault(request, "write", sector);
        }
        return later(request, () -> move(sector, count, () -> Arrays.fill(data, (int) (sector * SECTOR_SIZE),
                (int) ((sector + count) * SECTOR_SIZE), (byte) 0)));
    }

    @Override
    public CompletionStage<Void> flush() {
        flushes.incrementAndGet();
        return failFlush ? fault(null, "flush", 0) : CompletableFuture.completedStage(null);
    }

    /** Moves a request's data, or fails it as a disk does a request past its end. */
    private CompletionStage<Void> move(long sector, long count, Runnable transfer) {
        if (sector < 0 || count < 0 || sector + count > sizeInSectors()) {
            return CompletableFuture.failedStage(new IOException("request [" + sector + ", " + (sector + count)
                    + ") is outside device '" + name + "' of " + sizeInSectors() + " sectors"));
        }
        transfer.run();
        return CompletableFuture.completedStage(null);
    }

    byte[] bytes(long sector, long count) {
        return Arrays.copyOfRange(data, (int) (sector * SECTOR_SIZE), (int) ((sector + count) * SECTOR_SIZE));
    }

    void fill(long seed) {
        new Random(seed).nextBytes(data);
    }

    List<Write> writesSnapshot() {
        return new ArrayList<>(writes);
    }
}
