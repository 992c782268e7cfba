package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.locks.Lock;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.Extent;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.PreparedCompletion;
import org.kcopyd.device.BlockIo;
import org.kcopyd.snapshot.Snapshot;
import org.kcopyd.snapshot.SnapshotState;

/**
 * One snapshot: its COW store, its in-flight exceptions and merges, its device view, and the
 * reads and writes of that view. The copy-on-write logic shared by all snapshots of an origin
 * lives in {@link Origin}, the merge in {@link SnapshotMerge}. Its in-flight state is guarded by
 * the origin's lock, which it shares.
 */
final class SnapshotVolume implements Snapshot {

    private static final int SECTOR_SIZE = BlockDevice.SECTOR_SIZE;
    private static final System.Logger LOG = System.getLogger(SnapshotVolume.class.getName());

    private final String name;
    final Origin origin;
    private final Object lock;
    final CowStore store;
    private final int chunkSectors;
    /** The places whose content the store's view record covers ({@link OriginIdentity#viewSamples}). */
    private final java.util.List<long[]> viewSamples;
    /** Exceptions being made, by origin chunk: waiters see the chunk mapped once it completes. Guarded by lock. */
    private final Map<Long, CompletableFuture<Void>> pending = new HashMap<>();
    /** Chunks being merged back, by origin chunk. Guarded by lock. */
    final Map<Long, CompletableFuture<Void>> merges = new HashMap<>();
    /** Set when the snapshot is detached: it takes no writes or merge steps any more. Guarded by lock. */
    private boolean closed;
    /** Snapshot writes begun and not finished. Guarded by lock. */
    private int writes;
    /** The running merge, if any. Guarded by lock. */
    CompletableFuture<Void> merge;
    private final View view = new View();

    SnapshotVolume(String name, Origin origin, Object lock, CowStore store) {
        this.name = name;
        this.origin = origin;
        this.lock = lock;
        this.store = store;
        this.chunkSectors = store.chunkSectors();
        this.viewSamples = OriginIdentity.viewSamples(origin.sizeInSectors());
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public BlockDevice device() {
        return view;
    }

    @Override
    public int chunkSectors() {
        return chunkSectors;
    }

    @Override
    public UUID cowStoreId() {
        return store.id();
    }

    @Override
    public SnapshotState state() {
        if (!store.isValid()) {
            return SnapshotState.INVALID;
        }
        return store.isMerging() ? SnapshotState.MERGING : SnapshotState.ACTIVE;
    }

    @Override
    public Optional<String> invalidReason() {
        return store.isValid() ? Optional.empty() : Optional.ofNullable(store.invalidReason());
    }

    @Override
    public long chunksUsed() {
        return store.used();
    }

    @Override
    public long chunksCapacity() {
        return store.capacity();
    }

    @Override
    public CompletionStage<Void> merge() {
        return origin.merge(this);
    }

    /** @return sectors in origin chunk {@code chunk} (the last chunk may be short) */
    int chunkLength(long chunk) {
        return (int) Math.min(chunkSectors, origin.sizeInSectors() - chunk * chunkSectors);
    }

    void invalidate(String reason) {
        if (store.isValid()) {
            store.invalidate(reason);
            LOG.log(System.Logger.Level.ERROR, "snapshot '" + name + "' of " + origin.name() + " is now invalid: "
                    + reason + "; the origin keeps working");
        }
    }

    IOException invalidError() {
        return new IOException("snapshot '" + name + "' is invalid: " + store.invalidReason());
    }

    // ---- in-flight state, under the origin's lock unless said otherwise ----

    /** Takes no new writes, exceptions or merge steps from now on. */
    void markClosed() {
        closed = true;
    }

    /** @return true once the origin or this snapshot closes (takes the lock itself) */
    boolean isClosing() {
        synchronized (lock) {
            return origin.isClosing() || closed;
        }
    }

    /** @return true if no exception and no merge step of this snapshot is in flight */
    boolean copiesDone() {
        return pending.isEmpty() && merges.isEmpty();
    }

    /** @return true if no exception, merge step or snapshot write of this snapshot is in flight */
    boolean isIdle() {
        return copiesDone() && writes == 0;
    }

    /** @return the exception being made for origin chunk {@code chunk}, or null */
    CompletableFuture<Void> exceptionInFlight(long chunk) {
        return pending.get(chunk);
    }

    /** Records that {@code done} completes once origin chunk {@code chunk} is mapped (or failed). */
    void exceptionStarted(long chunk, CompletableFuture<Void> done) {
        pending.put(chunk, done);
    }

    void exceptionEnded(long chunk) {
        pending.remove(chunk);
    }

    /** @return true if the store is valid (no lock needed) */
    boolean isValid() {
        return store.isValid();
    }

    /** @return true if the store is valid and merging into the origin (no lock needed) */
    boolean isMergingNow() {
        return store.isValid() && store.isMerging();
    }

    /** @return true if the store is merging into the origin (no lock needed) */
    boolean isMerging() {
        return store.isMerging();
    }

    /** @return true if origin chunk {@code chunk} has its own copy in the COW store */
    boolean holds(long chunk) {
        return store.lookup(chunk) != null;
    }

    /** @return a free COW slot, or -1 after invalidating the snapshot because its store is full */
    long allocateSlot() {
        long slot = store.allocate();
        if (slot < 0) {
            invalidate("COW store full: all " + store.capacity() + " chunks are used");
        }
        return slot;
    }

    /** Records durably that origin chunk {@code chunk} lives in COW slot {@code slot} (no lock needed). */
    void record(long chunk, long slot) throws IOException {
        store.commit(chunk, slot);
    }

    /** @return where origin chunk {@code chunk} goes in COW slot {@code slot} */
    IoRegion cowRegion(long slot, long chunk) {
        return IoRegion.of(store.device(), store.dataChunk(slot) * chunkSectors, chunkLength(chunk));
    }

    // ---- reads and writes of the snapshot view ----

    CompletionStage<Void> readSnapshot(long sector, ByteBuffer dst) {
        try {
            long end = sector + dst.remaining() / SECTOR_SIZE;
            int position = dst.position();
            for (long cur = sector; cur < end;) {
                long chunk = cur / chunkSectors;
                long pieceEnd = Math.min((chunk + 1) * chunkSectors, end);
                int bytes = (int) (pieceEnd - cur) * SECTOR_SIZE;
                ByteBuffer piece = dst.duplicate();
                piece.limit(position + bytes).position(position);
                long offset = cur - chunk * chunkSectors;
                Long cowChunk = store.lookup(chunk);
                if (cowChunk != null) {
                    BlockIo.await(store.device().read(cowChunk * chunkSectors + offset, piece));
                } else {
                    List<Lock> held = origin.lockForRead(cur, pieceEnd - cur);
                    try {
                        cowChunk = store.lookup(chunk);
                        BlockIo.await(cowChunk != null ? store.device().read(cowChunk * chunkSectors + offset, piece)
                                : origin.device().read(cur, piece));
                    } finally {
                        held.forEach(Lock::unlock);
                    }
                }
                position += bytes;
                cur = pieceEnd;
            }
            dst.position(dst.limit());
            return CompletableFuture.completedFuture(null);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * Where the snapshot's data is: a chunk copied to the COW store is data; a chunk not copied
     * reads as the origin does, so the origin device's answer holds for it. Asked under the
     * origin's read stripe locks, as a read of the origin is, so that no origin write copies such
     * a chunk out and changes the origin meanwhile (an origin write records its copy-out before
     * it takes these locks to write). Answers a prefix where the origin answers one, or answers against the rules
     * (the rest then asked again by the caller).
     */
    CompletionStage<List<Extent>> snapshotExtents(long sector, long count) {
        long end = sector + count;
        List<Extent> runs = new ArrayList<>();
        List<Lock> held = origin.lockForRead(sector, count);
        try {
            long cur = sector;
            while (cur < end) {
                boolean copied = holds(cur / chunkSectors);
                long runEnd = Math.min((cur / chunkSectors + 1) * chunkSectors, end);
                while (runEnd < end && holds(runEnd / chunkSectors) == copied) {
                    runEnd = Math.min(runEnd + chunkSectors, end);
                }
                if (copied) {
                    runs.add(new Extent(cur, runEnd - cur, Extent.Type.DATA));
                    cur = runEnd;
                    continue;
                }
                long answered = originExtents(cur, runEnd, runs);
                if (answered < runEnd) {
                    break;
                }
                cur = runEnd;
            }
        } catch (IOException e) {
            if (runs.isEmpty()) {
                return CompletableFuture.failedStage(e);
            }
        } finally {
            held.forEach(Lock::unlock);
        }
        return CompletableFuture.completedStage(List.copyOf(runs));
    }

    /**
     * Adds the origin device's runs for {@code [from, to)} that follow {@link BlockDevice#extents}'
     * rules (contiguous from {@code from}, not past {@code to}).
     *
     * @return the sector after the last run added ({@code from} if none)
     */
    private long originExtents(long from, long to, List<Extent> runs) throws IOException {
        List<Extent> answer;
        try {
            answer = origin.device().extents(from, to - from).toCompletableFuture().join();
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (RuntimeException e) {
            throw new IOException("asking " + origin.name() + " where its data is failed: " + e, e);
        }
        long pos = from;
        for (Extent run : answer == null ? List.<Extent>of() : answer) {
            if (run == null || run.sector() != pos || run.endSector() > to) {
                break;
            }
            runs.add(run);
            pos = run.endSector();
        }
        return pos;
    }

    private CompletionStage<Void> writeSnapshot(long sector, ByteBuffer src) {
        if (OriginIdentity.inViewSample(sector, sector + src.remaining() / SECTOR_SIZE, viewSamples)) {
            // The view's fingerprint (see Origins) no longer holds once this lands: dropped first, durably.
            try {
                store.recordView(null);
            } catch (IOException e) {
                return CompletableFuture.failedFuture(new IOException("snapshot '" + name + "': write refused: its "
                        + "COW store's header could not be written first: " + e.getMessage(), e));
            }
        }
        IOException refused = origin.begin();
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        synchronized (lock) {
            if (closed) {
                origin.end();
                return CompletableFuture.failedFuture(new IOException("snapshot '" + name + "' of " + origin.name()
                        + " closed: the snapshot bundle is stopping or the snapshot was removed"));
            }
            writes++;
        }
        return writePieces(sector, src).whenComplete((v, e) -> {
            synchronized (lock) {
                writes--;
            }
            origin.end();
        });
    }

    private CompletableFuture<Void> writePieces(long sector, ByteBuffer src) {
        long end = sector + src.remaining() / SECTOR_SIZE;
        int position = src.position();
        CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
        for (long cur = sector; cur < end;) {
            long chunk = cur / chunkSectors;
            long pieceEnd = Math.min((chunk + 1) * chunkSectors, end);
            int bytes = (int) (pieceEnd - cur) * SECTOR_SIZE;
            ByteBuffer piece = src.duplicate();
            piece.limit(position + bytes).position(position);
            long offset = cur - chunk * chunkSectors;
            chain = chain.thenCompose(v -> writePiece(chunk, offset, piece));
            position += bytes;
            cur = pieceEnd;
        }
        return chain.thenRun(() -> src.position(src.limit()));
    }

    private CompletableFuture<Void> writePiece(long chunk, long offset, ByteBuffer piece) {
        CompletableFuture<Void> busy;
        CompletableFuture<Void> done = new CompletableFuture<>();
        long slot;
        synchronized (lock) {
            busy = pending.get(chunk);
            if (busy == null) {
                Long cowChunk = store.lookup(chunk);
                if (cowChunk != null) {
                    return store.device().write(cowChunk * chunkSectors + offset, piece).toCompletableFuture();
                }
                slot = allocateSlot();
                if (slot < 0) {
                    return CompletableFuture.failedFuture(invalidError());
                }
                pending.put(chunk, done);
            } else {
                slot = -1;
            }
        }
        if (busy != null) {
            return busy.handle((v, e) -> null).thenCompose(v -> writePiece(chunk, offset, piece));
        }
        long cowStart = store.dataChunk(slot) * chunkSectors;
        boolean whole = offset == 0 && piece.remaining() / SECTOR_SIZE == chunkLength(chunk);
        CompletableFuture<Void> data;
        if (whole) {
            // The write covers the chunk: no copy. Its record is delivered through the client like a
            // real job's (dm-snapshot's prepare_callback/do_callback), in order with the copies.
            data = origin.submit(client -> {
                CompletableFuture<Void> recorded = new CompletableFuture<>();
                PreparedCompletion record = client.prepareCallback((readError, writeErrors, ctx) -> {
                    if (readError || writeErrors != 0) {
                        recorded.completeExceptionally(new IOException("writing chunk " + chunk + " of snapshot '"
                                + name + "' to its COW store failed"));
                    } else {
                        recorded.complete(null);
                    }
                }, null);
                store.device().write(cowStart, piece).thenCompose(v -> store.device().flush())
                        .whenComplete((v, e) -> record.complete(e != null, e != null ? 1L : 0L));
                return recorded;
            });
        } else {
            IoRegion from = IoRegion.of(origin.device(), chunk * chunkSectors, chunkLength(chunk));
            data = origin.submit(client -> client.copy(from, List.of(cowRegion(slot, chunk)),
                            EnumSet.of(CopyFlag.FLUSH)))
                    .thenCompose(result -> {
                        if (!result.isSuccess()) {
                            return CompletableFuture.failedFuture(new IOException("copying chunk " + chunk
                                    + " for a write to snapshot '" + name + "' failed: " + result));
                        }
                        return store.device().write(cowStart + offset, piece)
                                .thenCompose(v -> store.device().flush()).toCompletableFuture();
                    });
        }
        data.whenComplete((v, error) -> {
            Throwable failure = error;
            if (failure == null) {
                try {
                    store.commit(chunk, slot);
                } catch (IOException e) {
                    if (!isClosing()) {
                        invalidate("recording chunk " + chunk + " in the COW store failed: " + e.getMessage());
                    }
                    failure = e;
                }
            }
            synchronized (lock) {
                pending.remove(chunk);
                lock.notifyAll();
            }
            if (failure != null) {
                done.completeExceptionally(failure);
            } else {
                done.complete(null);
            }
        });
        return done;
    }

    @Override
    public String toString() {
        return "Snapshot[" + name + " of " + origin.name() + ", " + state() + ", " + store.used() + "/"
                + store.capacity() + " chunks]";
    }

    /** The snapshot as a block device: the origin as it was, plus what was written to the snapshot. */
    private final class View implements BlockDevice {

        @Override
        public String name() {
            return "snapshot " + name;
        }

        @Override
        public long sizeInSectors() {
            return origin.sizeInSectors();
        }

        @Override
        public boolean isReadOnly() {
            return false;
        }

        /** Reads and writes go to the origin and the COW store: the larger of their minimum blocks. */
        @Override
        public int minimumBlockBytes() {
            return Math.max(origin.minimumBlockBytes(), store.device().minimumBlockBytes());
        }

        /**
         * Refused while the snapshot merges: a merged chunk is read from the origin, which takes
         * writes meanwhile, so the snapshot's content is no longer what a read would return (the
         * origin device itself shows the snapshot plus the writes since the merge began).
         */
        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            if (!store.isValid()) {
                return CompletableFuture.failedStage(invalidError());
            }
            if (store.isMerging()) {
                return CompletableFuture.failedStage(new IOException("snapshot '" + name + "' is merging into its "
                        + "origin and cannot be read: merged chunks are the origin's now, which takes writes; read the "
                        + "origin (" + origin.name() + "), which shows the snapshot and the writes made since the merge "
                        + "began"));
            }
            return readSnapshot(sector, dst);
        }

        /** See {@link SnapshotVolume#snapshotExtents}; all data while the snapshot merges. */
        @Override
        public CompletionStage<List<Extent>> extents(long sector, long count) {
            if (!store.isValid()) {
                return CompletableFuture.failedStage(invalidError());
            }
            if (store.isMerging()) {
                return BlockDevice.super.extents(sector, count);
            }
            return snapshotExtents(sector, count);
        }

        @Override
        public CompletionStage<Void> write(long sector, ByteBuffer src) {
            if (!store.isValid()) {
                return CompletableFuture.failedStage(invalidError());
            }
            if (store.isMerging()) {
                return CompletableFuture.failedStage(new IOException("snapshot '" + name
                        + "' is merging into its origin and takes no writes"));
            }
            return writeSnapshot(sector, src);
        }

        @Override
        public CompletionStage<Void> flush() {
            return store.device().flush();
        }
    }
}
