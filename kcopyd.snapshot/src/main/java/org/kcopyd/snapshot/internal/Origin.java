package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.ClientBinding;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.Extent;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;

/**
 * An origin device and its snapshots: the snapshot-aware {@link BlockDevice} that origin
 * writes must go through, and the copy-on-write logic shared by its snapshots. A snapshot's own
 * reads and writes are {@link SnapshotVolume}'s, merges back into the origin {@link SnapshotMerge}'s.
 *
 * <p>Before an origin write reaches a chunk that a snapshot has not copied yet, one kcopyd
 * job copies that chunk to the COW store of every snapshot that needs it (one source, several
 * destinations, flushed), each snapshot records the chunk durably, and only then is the origin
 * written. Chunk state changes are made under one lock; I/O never runs under it. A striped
 * read/write lock keeps a snapshot read that falls through to the origin from seeing an
 * origin write that began after the chunk was recorded.
 *
 * <p>The origin and COW devices are files opened by this bundle: their I/O completes in the
 * calling thread, which the striped lock relies on.
 */
final class Origin implements BlockDevice {

    private static final int STRIPES = 64;
    private static final int STRIPE_SHIFT = 11;

    private final BlockDevice device;
    private final ClientBinding kcopyd;
    private final Duration wait;
    private final CopyLimiter limiter;
    private final SnapshotMerge merge;
    private final List<SnapshotVolume> snapshots = new CopyOnWriteArrayList<>();
    private final ReentrantReadWriteLock[] stripes = new ReentrantReadWriteLock[STRIPES];
    private final Object lock = new Object();
    /** Set once the origin closes: new origin writes, snapshot writes and merge steps are refused. Guarded by lock. */
    private boolean closing;
    /** Origin writes, snapshot writes and merge steps begun and not finished. Guarded by lock. */
    private int inFlight;

    Origin(BlockDevice device, ClientBinding kcopyd, Duration wait, int maxCopiesInFlight) {
        this.device = device;
        this.kcopyd = kcopyd;
        this.wait = wait;
        this.limiter = new CopyLimiter(maxCopiesInFlight);
        this.merge = new SnapshotMerge(this, lock, kcopyd, wait);
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantReadWriteLock();
        }
    }

    /**
     * Attaches a snapshot whose COW store is {@code store}: a new, empty store takes the snapshot
     * now; a store loaded from its device is as it was (and an interrupted merge resumes, unless
     * the store is invalid).
     *
     * @throws IOException if an interrupted merge cannot resume; the snapshot is not attached then
     */
    SnapshotVolume attach(String name, CowStore store) throws IOException {
        SnapshotVolume snapshot = new SnapshotVolume(name, this, lock, store);
        synchronized (lock) {
            snapshots.add(snapshot);
        }
        if (store.isValid() && store.isMerging()) {
            try {
                merge(snapshot);
            } catch (RuntimeException e) {
                detach(snapshot);
                throw new IOException("snapshot '" + name + "' cannot resume its merge: " + e.getMessage(), e);
            }
        }
        return snapshot;
    }

    /**
     * Detaches a snapshot that other snapshots outlive: it takes no new exceptions, and the
     * exceptions and merges of it already in flight are waited for (up to {@code drain}), so
     * that its COW store can be closed without a copy failing on it.
     *
     * @return true if nothing of it was in flight any more
     */
    boolean detach(SnapshotVolume snapshot, Duration drain) {
        synchronized (lock) {
            snapshots.remove(snapshot);
            snapshot.markClosed();
            return awaitUnderLock(drain, snapshot::isIdle);
        }
    }

    /** Detaches a snapshot that was never used (its attach failed). */
    void detach(SnapshotVolume snapshot) {
        synchronized (lock) {
            snapshots.remove(snapshot);
        }
    }

    /**
     * Starts closing the origin (its last snapshot leaves, or the bundle stops): from now on
     * origin writes, snapshot writes and merge steps are refused with an {@link IOException}
     * ("origin ... closed"); those already begun, and the copies they wait for, are waited for
     * up to {@code drain}. Then the snapshots are detached.
     *
     * @return true if everything in flight finished in time (the origin then holds only writes
     *         whose copies were recorded, and its fingerprint may be taken)
     */
    boolean closeWrites(Duration drain) {
        synchronized (lock) {
            closing = true;
            snapshots.forEach(SnapshotVolume::markClosed);
            boolean drained = awaitUnderLock(drain, () -> inFlight == 0
                    && snapshots.stream().allMatch(SnapshotVolume::copiesDone));
            snapshots.clear();
            return drained;
        }
    }

    /** Under lock: waits until {@code done} holds or {@code limit} passed. */
    private boolean awaitUnderLock(Duration limit, BooleanSupplier done) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!done.getAsBoolean()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(lock, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /**
     * Counts an origin write, snapshot write or merge step as in flight; each successful call is
     * paired with one {@link #end()}.
     *
     * @return the refusal of new work once the origin closes, or null after counting the work in flight
     */
    IOException begin() {
        synchronized (lock) {
            if (closing) {
                return closedError();
            }
            inFlight++;
            return null;
        }
    }

    void end() {
        synchronized (lock) {
            inFlight--;
            lock.notifyAll();
        }
    }

    IOException closedError() {
        return new IOException("origin " + name() + " closed: the snapshot bundle is stopping or its last snapshot"
                + " was removed");
    }

    /** @return true once the origin closes: a failure then is the closing's, not the snapshot's */
    boolean isClosing() {
        synchronized (lock) {
            return closing;
        }
    }

    BlockDevice device() {
        return device;
    }

    /**
     * Closes the origin's device for good, once its last snapshot is detached: with every stripe
     * locked, no origin write can land between the fingerprint taken here and the close (one
     * still on its way finds the device closed), so the fingerprint is what kcopyd left.
     *
     * @return the origin's {@linkplain OriginIdentity#fingerprint fingerprint} as closed, or null
     *         if it could not be read
     * @throws IOException if the device cannot be closed
     */
    byte[] closeDevice() throws IOException {
        List<Lock> held = new ArrayList<>();
        for (ReentrantReadWriteLock stripe : stripes) {
            stripe.writeLock().lock();
            held.add(stripe.writeLock());
        }
        try {
            byte[] fingerprint;
            try {
                fingerprint = OriginIdentity.fingerprint(device);
            } catch (IOException e) {
                fingerprint = null;
            }
            device.close();
            return fingerprint;
        } finally {
            held.forEach(Lock::unlock);
        }
    }

    /** @return the names of the snapshots attached now, in the order they were attached */
    List<String> snapshotNames() {
        return snapshots.stream().map(SnapshotVolume::name).toList();
    }

    // ---- the origin as a block device ----

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
        return false;
    }

    @Override
    public int minimumBlockBytes() {
        return device.minimumBlockBytes();
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        SnapshotVolume merging = merging();
        if (merging == null) {
            return device.read(sector, dst);
        }
        // While merging, the origin already shows the snapshot: unmerged chunks come from its COW store.
        return merging.readSnapshot(sector, dst);
    }

    /**
     * Where the origin's data is: its device's answer (a file's holes). While a snapshot merges into
     * it, the origin shows the snapshot, whose unmerged chunks come from the COW store: then all is
     * data, also when a merge began while the device answered.
     */
    @Override
    public CompletionStage<List<Extent>> extents(long sector, long count) {
        if (merging() != null) {
            return BlockDevice.super.extents(sector, count);
        }
        return device.extents(sector, count)
                .thenApply(runs -> merging() == null ? runs : List.of(new Extent(sector, count, Extent.Type.DATA)));
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        IOException closed = begin();
        if (closed != null) {
            return CompletableFuture.failedFuture(closed);
        }
        CompletableFuture<Void> written;
        try {
            List<CompletableFuture<Void>> waits = prepareOriginWrite(sector, src.remaining() / SECTOR_SIZE, null);
            written = waits.isEmpty() ? writeOrigin(sector, src).toCompletableFuture()
                    : CompletableFuture.allOf(waits.toArray(new CompletableFuture<?>[0]))
                            .thenCompose(v -> writeOrigin(sector, src));
        } catch (RuntimeException e) {
            end();
            throw e;
        }
        return written.whenComplete((v, e) -> end());
    }

    @Override
    public CompletionStage<Void> flush() {
        return device.flush();
    }

    /** The origin is lost with its device (an export whose connection dropped): its snapshots then close and retry. */
    @Override
    public CompletionStage<IOException> whenLost() {
        return device.whenLost();
    }

    /** @return the snapshot merging into the origin, or null */
    SnapshotVolume merging() {
        for (SnapshotVolume s : snapshots) {
            if (s.isMergingNow()) {
                return s;
            }
        }
        return null;
    }

    private CompletionStage<Void> writeOrigin(long sector, ByteBuffer src) {
        List<Lock> held = lockStripes(sector, src.remaining() / SECTOR_SIZE, true);
        try {
            return device.write(sector, src);
        } finally {
            held.forEach(Lock::unlock);
        }
    }

    /**
     * Read-locks the stripes of an origin range, for a snapshot read that falls through to the
     * origin: no origin write of the range can begin until the locks returned are unlocked.
     */
    List<Lock> lockForRead(long sector, long count) {
        return lockStripes(sector, count, false);
    }

    private List<Lock> lockStripes(long sector, long count, boolean write) {
        long first = sector >>> STRIPE_SHIFT;
        long last = (sector + count - 1) >>> STRIPE_SHIFT;
        boolean[] taken = new boolean[STRIPES];
        for (long g = first; g <= last && g - first < STRIPES; g++) {
            taken[(int) (g % STRIPES)] = true;
        }
        List<Lock> held = new ArrayList<>();
        for (int i = 0; i < STRIPES; i++) {
            if (taken[i]) {
                Lock l = write ? stripes[i].writeLock() : stripes[i].readLock();
                l.lock();
                held.add(l);
            }
        }
        return held;
    }

    /** Waits until every snapshot read of the range that started before now has finished. */
    void barrier(long sector, long count) {
        lockStripes(sector, count, true).forEach(Lock::unlock);
    }

    /**
     * Decides what must happen before the origin range may be overwritten: merges of chunks a
     * merging snapshot still holds, exceptions other writers are already making, and new
     * copies for snapshots that lack a chunk (started here).
     *
     * @param exclude a snapshot to leave out (the one being merged), or null
     * @return what to wait for
     */
    List<CompletableFuture<Void>> prepareOriginWrite(long sector, long count, SnapshotVolume exclude) {
        List<CompletableFuture<Void>> waits = new ArrayList<>();
        Map<CowJob, CowJob> jobs = new LinkedHashMap<>();
        synchronized (lock) {
            for (SnapshotVolume s : snapshots) {
                if (s == exclude || !s.isValid()) {
                    continue;
                }
                int c0 = s.chunkSectors();
                for (long c = sector / c0; c <= (sector + count - 1) / c0; c++) {
                    if (s.isMerging()) {
                        if (s.holds(c)) {
                            waits.add(merge.mergeChunk(s, c));
                        }
                        continue;
                    }
                    CompletableFuture<Void> inFlight = s.exceptionInFlight(c);
                    if (inFlight != null) {
                        waits.add(inFlight);
                        continue;
                    }
                    if (s.holds(c)) {
                        continue;
                    }
                    long slot = s.allocateSlot();
                    if (slot < 0) {
                        continue;
                    }
                    CowJob key = new CowJob(c0, c);
                    jobs.computeIfAbsent(key, k -> k).add(s, slot);
                }
            }
            for (CowJob job : jobs.values()) {
                for (SnapshotVolume s : job.snapshots) {
                    s.exceptionStarted(job.chunk, job.done);
                }
                waits.add(job.done);
            }
        }
        jobs.values().forEach(this::startCow);
        return waits;
    }

    /** One chunk to copy from the origin to the COW stores of several snapshots with that chunk size. */
    private static final class CowJob {
        final int chunkSectors;
        final long chunk;
        final List<SnapshotVolume> snapshots = new ArrayList<>();
        final List<Long> slots = new ArrayList<>();
        final CompletableFuture<Void> done = new CompletableFuture<>();

        CowJob(int chunkSectors, long chunk) {
            this.chunkSectors = chunkSectors;
            this.chunk = chunk;
        }

        void add(SnapshotVolume s, long slot) {
            snapshots.add(s);
            slots.add(slot);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof CowJob j && j.chunkSectors == chunkSectors && j.chunk == chunk;
        }

        @Override
        public int hashCode() {
            return Long.hashCode(chunk) * 31 + chunkSectors;
        }
    }

    private void startCow(CowJob job) {
        SnapshotVolume first = job.snapshots.get(0);
        long start = job.chunk * job.chunkSectors;
        int length = first.chunkLength(job.chunk);
        List<IoRegion> dests = new ArrayList<>();
        for (int i = 0; i < job.snapshots.size(); i++) {
            dests.add(job.snapshots.get(i).cowRegion(job.slots.get(i), job.chunk));
        }
        limiter.acquire()
                .thenCompose(v -> kcopyd.submit(wait, client -> client.copy(IoRegion.of(device, start, length), dests,
                        EnumSet.of(CopyFlag.FLUSH))))
                .whenComplete((result, error) -> {
                    limiter.release();
                    finishCow(job, result, error);
                });
    }

    private void finishCow(CowJob job, CopyResult result, Throwable error) {
        IOException refusal = null;
        if (error == null && !result.isSuccess() && isClosing()) {
            // Our own shutdown failed the copy: the chunk is not recorded and the origin write is refused, so the
            // snapshots lose nothing and stay valid.
            refusal = new IOException("origin write to " + name() + " refused: chunk " + job.chunk
                    + " could not be copied to its snapshots first as the origin is closing: " + result);
        } else if (error != null) {
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            // No copy was made: refuse the origin write rather than break the snapshots.
            refusal = new IOException("origin write to " + name() + " refused: chunk " + job.chunk
                    + " could not be copied to its snapshots first: " + cause.getMessage(), cause);
        } else if (result.readError()) {
            // The origin could not be read (its NBD server gone, say): the write would most likely fail too, and
            // refusing it leaves the origin as the snapshots know it. Invalidating them (H39: one short outage
            // lost a snapshot for good) would protect nothing.
            refusal = new IOException("origin write to " + name() + " refused: chunk " + job.chunk + " could not be "
                    + "read from the origin to copy it to its snapshots first (" + result + "); the snapshots stay "
                    + "as they were", result.readFailure().orElse(null));
        } else {
            for (int i = 0; i < job.snapshots.size(); i++) {
                SnapshotVolume s = job.snapshots.get(i);
                if (result.destinationFailed(i)) {
                    s.invalidate("copying chunk " + job.chunk + " to the COW store failed: " + result);
                    continue;
                }
                try {
                    s.record(job.chunk, job.slots.get(i));
                } catch (IOException e) {
                    if (isClosing()) {
                        refusal = new IOException("origin write to " + name() + " refused: chunk " + job.chunk
                                + " could not be recorded in the COW store of snapshot '" + s.name()
                                + "' as the origin is closing: " + e.getMessage(), e);
                    } else {
                        s.invalidate("recording chunk " + job.chunk + " in the COW store failed: " + e.getMessage());
                    }
                }
            }
        }
        synchronized (lock) {
            for (SnapshotVolume s : job.snapshots) {
                s.exceptionEnded(job.chunk);
            }
            lock.notifyAll();
        }
        if (refusal != null) {
            job.done.completeExceptionally(refusal);
        } else {
            job.done.complete(null);
        }
    }

    /** Starts merging {@code s} into the origin, or returns the merge already running. */
    CompletableFuture<Void> merge(SnapshotVolume s) {
        return merge.merge(s);
    }

    /** Submits {@code job} to kcopyd, waiting for a factory as configured. */
    <T> CompletableFuture<T> submit(Function<KcopydClient, CompletionStage<T>> job) {
        return kcopyd.submit(wait, job);
    }

    @Override
    public String toString() {
        return "Origin[" + device.name() + ", " + snapshots.size() + " snapshots]";
    }
}
