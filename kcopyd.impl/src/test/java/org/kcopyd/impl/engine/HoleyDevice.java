package org.kcopyd.impl.engine;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;

/**
 * A sparse test device: a {@link FaultyDevice} (content, faults, late completions) that knows
 * which sectors are allocated, as a file does. Writes allocate, {@link #writeZeroes} punches
 * (deallocates and zeroes), {@link #extents} answers HOLE for unallocated sectors. It counts the
 * sectors read that were holes, the sectors written with data, and the sectors punched. An
 * unallocated sector always holds zeros.
 */
final class HoleyDevice implements BlockDevice {

    final FaultyDevice store;
    /** Guarded by itself. */
    private final BitSet allocated = new BitSet();
    final AtomicLong holeSectorsRead = new AtomicLong();
    final AtomicLong dataSectorsWritten = new AtomicLong();
    final AtomicLong sectorsPunched = new AtomicLong();
    final AtomicLong extentCalls = new AtomicLong();
    final AtomicLong zeroCalls = new AtomicLong();
    final AtomicLong writeCalls = new AtomicLong();
    /** false: the device does not know, and answers with the default (all data). */
    volatile boolean answersExtents = true;
    /** Most runs per answer (a prefix of the range beyond that), as NBD servers may do. */
    volatile int maxRuns = Integer.MAX_VALUE;
    /** Answers that break the rules (a first run elsewhere): must be taken as data. */
    volatile boolean badExtents;
    /** Extents fail (a failed stage). */
    volatile boolean failExtents;
    /** Extents answer only when this completes (null: at once). */
    volatile CompletableFuture<Void> extentsGate;

    HoleyDevice(String name, long sectors) {
        this.store = new FaultyDevice(name, sectors);
        store.zeroCommand = true;
    }

    /** Writes {@code count} sectors of random non-zero-ish data at {@code sector} (allocated). */
    HoleyDevice data(long sector, long count, Random random) {
        byte[] b = new byte[Math.toIntExact(count * SECTOR_SIZE)];
        random.nextBytes(b);
        b[0] |= 1;
        write(sector, ByteBuffer.wrap(b)).toCompletableFuture().join();
        return this;
    }

    /** Zeros written as data at {@code sector}: allocated, reading as zeros (the engine must find them). */
    HoleyDevice writtenZeros(long sector, long count) {
        write(sector, ByteBuffer.allocate(Math.toIntExact(count * SECTOR_SIZE))).toCompletableFuture().join();
        return this;
    }

    /** The whole device random and allocated: a destination that held data. */
    HoleyDevice filledRandom(Random random) {
        return data(0, sizeInSectors(), random);
    }

    boolean isAllocated(long sector) {
        synchronized (allocated) {
            return allocated.get(Math.toIntExact(sector));
        }
    }

    long allocatedSectors() {
        synchronized (allocated) {
            return allocated.cardinality();
        }
    }

    byte[] bytes() {
        return store.bytes(0, sizeInSectors());
    }

    @Override
    public String name() {
        return store.name();
    }

    @Override
    public long sizeInSectors() {
        return store.sizeInSectors();
    }

    @Override
    public boolean isReadOnly() {
        return store.isReadOnly();
    }

    @Override
    public boolean requiresSequentialWrites() {
        return store.requiresSequentialWrites();
    }

    @Override
    public boolean supportsWriteZeroes() {
        return store.supportsWriteZeroes();
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        long count = dst.remaining() / SECTOR_SIZE;
        synchronized (allocated) {
            int from = Math.toIntExact(sector);
            int to = Math.toIntExact(sector + count);
            int holes = 0;
            for (int i = from; i < to; i++) {
                if (!allocated.get(i)) {
                    holes++;
                }
            }
            holeSectorsRead.addAndGet(holes);
        }
        return store.read(sector, dst);
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        writeCalls.incrementAndGet();
        long count = src.remaining() / SECTOR_SIZE;
        return store.write(sector, src).thenRun(() -> {
            synchronized (allocated) {
                allocated.set(Math.toIntExact(sector), Math.toIntExact(sector + count));
            }
            dataSectorsWritten.addAndGet(count);
        });
    }

    @Override
    public CompletionStage<Void> writeZeroes(long sector, long count) {
        zeroCalls.incrementAndGet();
        return store.writeZeroes(sector, count).thenRun(() -> {
            synchronized (allocated) {
                allocated.clear(Math.toIntExact(sector), Math.toIntExact(sector + count));
            }
            sectorsPunched.addAndGet(count);
        });
    }

    @Override
    public CompletionStage<Void> flush() {
        return store.flush();
    }

    @Override
    public CompletionStage<List<Extent>> extents(long sector, long count) {
        extentCalls.incrementAndGet();
        if (failExtents) {
            return CompletableFuture.failedStage(new java.io.IOException("injected extents failure"));
        }
        CompletableFuture<Void> gate = extentsGate;
        if (gate != null) {
            return gate.thenCompose(v -> answer(sector, count));
        }
        return answer(sector, count);
    }

    private CompletionStage<List<Extent>> answer(long sector, long count) {
        if (!answersExtents) {
            return BlockDevice.super.extents(sector, count);
        }
        if (badExtents) {
            return CompletableFuture.completedStage(List.of(new Extent(sector + 1, count, Extent.Type.HOLE)));
        }
        List<Extent> runs = new ArrayList<>();
        synchronized (allocated) {
            long pos = sector;
            long end = sector + count;
            while (pos < end && runs.size() < maxRuns) {
                boolean data = allocated.get(Math.toIntExact(pos));
                long next = data ? allocated.nextClearBit(Math.toIntExact(pos))
                        : allocated.nextSetBit(Math.toIntExact(pos));
                if (next < 0 || next > end) {
                    next = end;
                }
                runs.add(new Extent(pos, next - pos, data ? Extent.Type.DATA : Extent.Type.HOLE));
                pos = next;
            }
        }
        return CompletableFuture.completedStage(runs);
    }
}
