package org.kcopyd.impl.engine;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * A test device over another that lets the first {@code passFirst} requests of the chosen kinds
 * through and holds the later ones until {@link #open()} (then they proceed, in the order they
 * came): a job stopped in the middle, deterministically. It forwards write-zeroes and extents
 * too (a sparse or zero job sees the inner device's abilities) and records the sectors of every
 * read and every write or write-zeroes request it was given.
 */
final class HoldingDevice extends ForwardingDevice {

    enum Op { READ, WRITE, WRITE_ZEROES }

    private final Set<Op> held;
    private final int passFirst;
    private final AtomicInteger counted = new AtomicInteger();
    private final AtomicInteger holding = new AtomicInteger();
    private final CompletableFuture<Void> gate = new CompletableFuture<>();
    /** Guarded by itself. */
    private final BitSet readSectors = new BitSet();
    /** Guarded by itself. */
    private final BitSet writtenSectors = new BitSet();
    /** Guarded by itself: every write and write-zeroes request, as {sector, count}. */
    private final List<long[]> writes = new ArrayList<>();

    HoldingDevice(BlockDevice inner, Set<Op> held, int passFirst) {
        super(inner);
        this.held = held.isEmpty() ? EnumSet.noneOf(Op.class) : EnumSet.copyOf(held);
        this.passFirst = passFirst;
    }

    /** Lets every held request and every later one proceed. */
    void open() {
        gate.complete(null);
    }

    /** @return requests being held now (made after the first {@code passFirst}, before {@link #open()}) */
    int held() {
        return holding.get();
    }

    /** @return the sectors that were asked to be read */
    BitSet readSectors() {
        synchronized (readSectors) {
            return (BitSet) readSectors.clone();
        }
    }

    /** @return the sectors that were asked to be written (data or zeros) */
    BitSet writtenSectors() {
        synchronized (writtenSectors) {
            return (BitSet) writtenSectors.clone();
        }
    }

    /** @return the number of write and write-zeroes requests made */
    int writeRequests() {
        synchronized (writtenSectors) {
            return writes.size();
        }
    }

    private CompletionStage<Void> maybeHold(Op op, java.util.function.Supplier<CompletionStage<Void>> request) {
        if (!held.contains(op) || counted.getAndIncrement() < passFirst || gate.isDone()) {
            return request.get();
        }
        holding.incrementAndGet();
        return gate.thenCompose(open -> {
            holding.decrementAndGet();
            return request.get();
        });
    }

    private static void mark(BitSet bits, long sector, long count) {
        synchronized (bits) {
            bits.set(Math.toIntExact(sector), Math.toIntExact(sector + count));
        }
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        mark(readSectors, sector, dst.remaining() / SECTOR_SIZE);
        return maybeHold(Op.READ, () -> inner.read(sector, dst));
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        recordWrite(sector, src.remaining() / SECTOR_SIZE);
        return maybeHold(Op.WRITE, () -> inner.write(sector, src));
    }

    @Override
    public boolean supportsWriteZeroes() {
        return inner.supportsWriteZeroes();
    }

    @Override
    public CompletionStage<Void> writeZeroes(long sector, long count) {
        recordWrite(sector, count);
        return maybeHold(Op.WRITE_ZEROES, () -> inner.writeZeroes(sector, count));
    }

    @Override
    public CompletionStage<List<Extent>> extents(long sector, long count) {
        return inner.extents(sector, count);
    }

    private void recordWrite(long sector, long count) {
        synchronized (writtenSectors) {
            writes.add(new long[] {sector, count});
            writtenSectors.set(Math.toIntExact(sector), Math.toIntExact(sector + count));
        }
    }
}
