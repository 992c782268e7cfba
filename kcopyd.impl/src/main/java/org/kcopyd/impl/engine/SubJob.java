package org.kcopyd.impl.engine;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.Function;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;
import org.kcopyd.api.IoRegion;

/**
 * One chunk of a job in flight: read the source into pages once, then write those pages to
 * every destination in parallel (the first destination on the reading thread, the others on
 * further I/O threads). When the last write completes the sub-job goes back to its client's
 * worker, which frees its pages and gives it the job's next chunk. Of its client it sees only
 * an {@link Owner}.
 *
 * <p>Sub-jobs are pooled by their client and reused, together with their buffer views, so a
 * steady stream of jobs allocates no buffers and few objects. Posted to the worker, it is the
 * event "my chunk's I/O ended" (or, with {@link #readDoneAwaitingTurn}, "read, waiting to write").
 *
 * <p>In a {@linkplain Job#sparse sparse} copy the chunk first asks the source where its data
 * is, reads only the data ({@link SparseChunk}), looks for zeros in what it read, and each
 * destination asks where its own data is: a run of zeros is skipped where the destination
 * already reads as zeros there, written with the destination's write-zeroes command where it
 * has one, and written from the shared zero buffer otherwise.
 *
 * <p><b>Offload.</b> The data of a chunk goes to each destination in its {@link #offloadMask}
 * by {@link BlockDevice#offloadTo} (the kernel copies it) instead of from the pages. A chunk
 * offloaded to every destination ({@link #offloadOnly}) has no pages and reads nothing itself:
 * in a sparse copy it still asks the source where its data is, and only the data is offloaded.
 * A failed offload stops offloading to that destination for the rest of the job; the
 * destination's data is then written from the pages, or, in a chunk without pages, the whole
 * chunk goes back to the worker to be copied again with pages ({@link #redo}).
 */
final class SubJob implements Runnable, BiConsumer<Void, Throwable>, WorkerEvent {

    private static final CompletionStage<Void> DONE = CompletableFuture.completedStage(null);
    /** The most answers of the source one offloaded sparse chunk gathers; past them the rest is data. */
    private static final int MOST_ASKS = 64;

    private final Owner owner;
    private final PagePool pool;
    private final ZeroBuffer zeros;
    private final ByteBuffer readView;
    private DestinationWrite[] writes = new DestinationWrite[0];
    private final AtomicInteger pendingWrites = new AtomicInteger();
    private final AtomicInteger pendingReads = new AtomicInteger();
    private final AtomicReference<Throwable> sparseReadFailure = new AtomicReference<>();
    private final BiConsumer<List<Extent>, Throwable> sourceExtentsDone = this::sourceExtents;
    private final BiConsumer<Void, Throwable> sparseReadDone = (ignored, failure) -> sparseRead(failure);
    private SparseChunk plan;
    /** A sparse {@link #offloadOnly} chunk: the source's answers so far, asked again until they cover it. */
    private final List<Extent> gathered = new java.util.ArrayList<>();
    private int asked;

    Job job;
    long offset;
    int sectors;
    int firstPage = -1;
    int pageCount;
    Throwable readFailure;
    Throwable[] writeFailures = new Throwable[0];
    /**
     * A sparse chunk known to read as zeros before it was handed out (the rest of a hole the
     * source reported): nothing is read or asked of the source.
     */
    boolean knownZeros;
    /**
     * Set by a sparse chunk: the offset (relative to the region starts) where a run of zeros the
     * source reported, covering the chunk's end, ends past it; else -1. Read by the worker.
     */
    long zerosUntil = -1;
    /** Set by an I/O thread when a WRITE_SEQ read completed: the worker schedules the writes. */
    volatile boolean readDoneAwaitingTurn;
    /** Set by the worker: the destinations this chunk offloads to (bit i: {@code dests[i]}). */
    long offloadMask;
    /** Set by the worker: the chunk offloads to every destination; it has no pages and reads nothing. */
    boolean offloadOnly;
    /**
     * Set by an I/O thread: an offload of this {@link #offloadOnly} chunk failed; the worker
     * copies the chunk again, with pages, instead of counting it done.
     */
    volatile boolean redo;
    /** Set by the worker: the chunk waits to be copied again ({@link #redo}) at its offset, with pages. */
    boolean retry;
    /** Set by the worker: the end (an offset like {@link #offset}) of the chunk being copied again, else 0. */
    long retryEnd;
    /**
     * Set by the worker: the sub-jobs of later small jobs whose regions continue this one's on the
     * source and every destination, copied by this sub-job's I/O ({@link ChunkScheduler}'s merge);
     * {@link #sectors} then counts theirs too, {@link #ownSectors} this job's. Empty otherwise.
     */
    final List<SubJob> riders = new java.util.ArrayList<>();
    /** Set by the worker with {@link #riders}: this sub-job's own sectors. */
    int ownSectors;
    /**
     * Set by the worker: this chunk was part of a merged chunk whose I/O failed and is copied again
     * alone. It was handed out: a cancel of its job no longer stops it, as with any chunk in flight.
     */
    boolean split;

    SubJob(Owner owner, PagePool pool, ZeroBuffer zeros) {
        this.owner = owner;
        this.pool = pool;
        this.zeros = zeros;
        this.readView = pool.view();
    }

    void assign(Job owner) {
        this.job = owner;
        int n = owner.dests.length;
        if (writes.length < n) {
            DestinationWrite[] grown = new DestinationWrite[n];
            System.arraycopy(writes, 0, grown, 0, writes.length);
            for (int i = writes.length; i < n; i++) {
                grown[i] = new DestinationWrite(i);
            }
            writes = grown;
            writeFailures = new Throwable[n];
        }
    }

    void clear() {
        job = null;
        firstPage = -1;
        pageCount = 0;
        readFailure = null;
        java.util.Arrays.fill(writeFailures, null);
        readDoneAwaitingTurn = false;
        knownZeros = false;
        zerosUntil = -1;
        offloadMask = 0;
        offloadOnly = false;
        redo = false;
        retry = false;
        retryEnd = 0;
        asked = 0;
        split = false;
    }

    int bytes() {
        return sectors * BlockDevice.SECTOR_SIZE;
    }

    private int bufferStart() {
        return firstPage * PagePool.PAGE;
    }

    /**
     * Runs on an I/O thread, or on the client's worker for a source whose calls never block
     * ({@link Job#sourceNonBlocking}): starts the read, or for a zero job the writes (under
     * WRITE_SEQ, in turn). What follows on this thread never blocks it: the writes go to an I/O
     * thread from the worker ({@link #startWrites}).
     */
    @Override
    public void run() {
        if (job.isZero()) {
            if (job.writeSeq) {
                // Nothing to read: the chunk waits for its turn to write like a copied one.
                readDoneAwaitingTurn = true;
                owner.done(this);
            } else {
                startWrites();
            }
            return;
        }
        if (job.sparse) {
            startSparse();
            return;
        }
        if (offloadOnly) {
            // The kernel reads the source, for every destination.
            owner.countRead(bytes());
            startWrites();
            return;
        }
        IoRegion source = job.source;
        int start = bufferStart();
        readView.limit(start + bytes()).position(start);
        CompletionStage<Void> stage;
        try {
            stage = source.device().read(source.sector() + offset, readView);
        } catch (RuntimeException | Error e) {
            accept(null, e);
            return;
        }
        stage.whenComplete(this);
    }

    /**
     * A sparse chunk: asks the source where its data is (through the job's {@link ExtentCache},
     * from the chunk to the region's end: a hole past the chunk is then handed out whole), or
     * writes a chunk known to be zeros.
     */
    private void startSparse() {
        if (plan == null) {
            plan = new SparseChunk();
        }
        zerosUntil = -1;
        if (knownZeros) {
            plan.allZeros(sectors);
            owner.countRead(bytes());
            startWrites();
            return;
        }
        IoRegion source = job.source;
        long start = source.sector() + offset;
        // A failed answer is only a hint lost: the whole chunk is then read.
        job.sourceExtents.lookup(source.device(), start, start + sectors, source.endSector())
                .whenComplete(sourceExtentsDone);
    }

    /** The source answered (or failed to: then all is data); reads the data segments, all at once. */
    private void sourceExtents(List<Extent> runs, Throwable failure) {
        IoRegion source = job.source;
        List<Extent> known = failure == null ? runs : null;
        if (offloadOnly) {
            known = gatherExtents(known);
            if (known == null) {
                // Asked again: this method runs once more with the answer.
                return;
            }
        }
        long beyond = plan.plan(known, source.sector() + offset, sectors, job.sparseAlways);
        zerosUntil = beyond < 0 ? -1 : beyond - source.sector();
        if (offloadOnly) {
            // Nothing to read: the data segments are offloaded, the zeros written as the destinations allow.
            owner.countRead(bytes());
            startWrites();
            return;
        }
        sparseReadFailure.set(null);
        // One count for this loop, so that reads completing in it cannot end the chunk under it.
        pendingReads.set(plan.dataSegments() + 1);
        // Slices are checked against the limit, which the last chunk's use may have left short.
        readView.clear();
        int base = bufferStart();
        for (int i = 0; i < plan.count(); i++) {
            if (plan.isZero(i)) {
                continue;
            }
            ByteBuffer dst = readView.slice(base + plan.start(i) * BlockDevice.SECTOR_SIZE,
                    plan.length(i) * BlockDevice.SECTOR_SIZE);
            CompletionStage<Void> stage;
            try {
                stage = source.device().read(source.sector() + offset + plan.start(i), dst);
            } catch (RuntimeException | Error e) {
                sparseRead(e);
                continue;
            }
            stage.whenComplete(sparseReadDone);
        }
        sparseRead(null);
    }

    /**
     * An offloaded chunk is larger than the page chunks one answer of a file usually covers
     * (FileHoles answers a few runs): asks the source again from where its answers stop, up to
     * {@value #MOST_ASKS} times, so that its holes are not offloaded as data.
     *
     * @param runs the latest answer, or null if it failed
     * @return every run gathered (what the plan is made from) once the chunk is covered, the
     *         source stopped answering or the limit was reached; null when asked again
     */
    private List<Extent> gatherExtents(List<Extent> runs) {
        IoRegion source = job.source;
        long end = source.sector() + offset + sectors;
        if (asked++ == 0) {
            gathered.clear();
        }
        if (runs != null && !runs.isEmpty()) {
            gathered.addAll(runs);
            long covered = runs.get(runs.size() - 1).endSector();
            if (covered < end && asked < MOST_ASKS) {
                job.sourceExtents.lookup(source.device(), covered, end, source.endSector())
                        .whenComplete(sourceExtentsDone);
                return null;
            }
        }
        asked = 0;
        return gathered.isEmpty() ? List.of() : gathered;
    }

    private void sparseRead(Throwable failure) {
        if (failure != null) {
            sparseReadFailure.compareAndSet(null, unwrap(failure));
        }
        if (pendingReads.decrementAndGet() != 0) {
            return;
        }
        Throwable failed = sparseReadFailure.get();
        if (failed != null) {
            readFailure = failed;
            if (!job.ignoreError) {
                owner.done(this);
                return;
            }
            // IGNORE_ERROR: the destinations still get this chunk, as zeros: every one, none by offload.
            plan.allZeros(sectors);
            offloadMask = 0;
        } else {
            owner.countRead(bytes());
            if (plan.dataSegments() > 0) {
                plan.findZeros(readView.slice(bufferStart(), bytes()), zeros.slice(bytes()), job.sparseAlways);
            }
        }
        startWrites();
    }

    /** Read completion, on whatever thread completed the device's stage. */
    @Override
    public void accept(Void ignored, Throwable failure) {
        if (failure != null) {
            readFailure = unwrap(failure);
            if (!job.ignoreError) {
                owner.done(this);
                return;
            }
            // IGNORE_ERROR: the destinations still get this chunk, as zeros: every one, none by offload.
            offloadMask = 0;
            ByteBuffer chunk = readView.duplicate();
            chunk.limit(bufferStart() + bytes()).position(bufferStart());
            zeros.fill(chunk);
        } else if (riders.isEmpty()) {
            // A merged chunk is counted by the worker once it is known not to be copied again job by job.
            owner.countRead(bytes());
        }
        if (job.writeSeq) {
            readDoneAwaitingTurn = true;
            owner.done(this);
        } else {
            startWrites();
        }
    }

    /**
     * Issues the writes to every destination: destination 0 on this thread, the rest in parallel;
     * on the client's worker (a read of a non-blocking source that completed at once, a chunk
     * known to be zeros, an offload), all of them on I/O threads: a destination may block.
     */
    void startWrites() {
        if (owner.onWorker()) {
            // Handed on: writeNow itself, so that an executor refusing the task (shutting down), which runs
            // it on this thread instead, does not hand it on again and again.
            owner.execute(this::writeNow);
            return;
        }
        writeNow();
    }

    private void writeNow() {
        readDoneAwaitingTurn = false;
        int n = job.dests.length;
        pendingWrites.set(n);
        for (int i = 1; i < n; i++) {
            owner.execute(writes[i]);
        }
        writes[0].run();
    }

    private void writeDone(int dest, Throwable failure) {
        if (failure != null) {
            writeFailures[dest] = unwrap(failure);
        } else if (!redo && riders.isEmpty()) {
            owner.countWritten(bytes());
        }
        if (pendingWrites.decrementAndGet() == 0) {
            owner.done(this);
        }
    }

    static Throwable unwrap(Throwable t) {
        Throwable cause = t;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    /**
     * What a sub-job needs of the client that owns it; called on I/O threads and device threads
     * (and on the worker: execute, and for a non-blocking source everything a read starts).
     */
    interface Owner {

        /** Runs a task on an I/O thread (on this thread when the I/O threads are shutting down). */
        void execute(Runnable task);

        /** Hands the sub-job back to its client's worker. */
        void done(SubJob subJob);

        /** @return true on the client's worker thread, which never waits for a device that may block */
        boolean onWorker();

        void countRead(int bytes);

        void countWritten(int bytes);

        /** The first offload of {@code job} to {@code dests[dest]} that failed; later chunks write it from pages. */
        void offloadFailed(Job job, int dest, Throwable cause);
    }

    /** The write of this sub-job's chunk to one destination; reused for every chunk. */
    private final class DestinationWrite implements Runnable, BiConsumer<Void, Throwable> {
        private final int dest;
        private ByteBuffer view;
        private final AtomicInteger pendingOps = new AtomicInteger();
        private final AtomicReference<Throwable> opFailure = new AtomicReference<>();
        private final BiConsumer<List<Extent>, Throwable> destExtentsDone = this::writeSegments;
        private final BiConsumer<Void, Throwable> opDone = (ignored, failure) -> opDone(failure);

        DestinationWrite(int dest) {
            this.dest = dest;
        }

        @Override
        public void run() {
            IoRegion region = job.dests[dest];
            BlockDevice device = region.device();
            long sector = region.sector() + offset;
            if (job.sparse && plan.hasZeros()) {
                startSparseWrite(device, sector);
                return;
            }
            CompletionStage<Void> stage;
            try {
                if (job.isZero()) {
                    stage = device.supportsWriteZeroes() ? device.writeZeroes(sector, sectors)
                            : device.write(sector, zeros.slice(bytes()));
                } else if (offloads()) {
                    stage = offload(device, sector, 0, sectors);
                } else {
                    if (view == null) {
                        view = pool.view();
                    }
                    int start = bufferStart();
                    view.limit(start + bytes()).position(start);
                    stage = device.write(sector, view);
                }
            } catch (RuntimeException | Error e) {
                accept(null, e);
                return;
            }
            stage.whenComplete(this);
        }

        @Override
        public void accept(Void ignored, Throwable failure) {
            writeDone(dest, failure);
        }

        /** A sparse chunk with zeros: asks the destination where it already reads as zeros. */
        private void startSparseWrite(BlockDevice device, long sector) {
            // A failed answer is only a hint lost: every zero run is then written.
            job.destExtents[dest].lookup(device, sector, sector + sectors, job.dests[dest].endSector())
                    .whenComplete(destExtentsDone);
        }

        /** Writes the chunk's segments, all at once: data from the pages, zeros as the destination allows. */
        private void writeSegments(List<Extent> runs, Throwable failure) {
            IoRegion region = job.dests[dest];
            BlockDevice device = region.device();
            long chunkSector = region.sector() + offset;
            List<Extent> known = failure == null ? runs : null;
            opFailure.set(null);
            pendingOps.set(plan.count() + 1);
            if (view == null) {
                view = pool.view();
            }
            view.clear();
            int base = bufferStart();
            boolean offloading = offloads();
            for (int i = 0; i < plan.count(); i++) {
                long sector = chunkSector + plan.start(i);
                int length = plan.length(i);
                CompletionStage<Void> stage;
                try {
                    if (!plan.isZero(i) && offloading) {
                        stage = offload(device, sector, plan.start(i), length);
                    } else if (!plan.isZero(i)) {
                        stage = device.write(sector, view.slice(base + plan.start(i) * BlockDevice.SECTOR_SIZE,
                                length * BlockDevice.SECTOR_SIZE));
                    } else if (readsAsZeros(known, sector, length)) {
                        opDone(null);
                        continue;
                    } else if (device.supportsWriteZeroes()) {
                        stage = device.writeZeroes(sector, length);
                    } else {
                        stage = writeZeroBuffer(device, sector, length);
                    }
                } catch (RuntimeException | Error e) {
                    opDone(e);
                    continue;
                }
                stage.whenComplete(opDone);
            }
            opDone(null);
        }

        /** @return true if this chunk's data goes to this destination by offload */
        private boolean offloads() {
            return (offloadMask & (1L << dest)) != 0;
        }

        /**
         * Offloads {@code length} sectors at {@code at} (from the chunk's start) to the
         * destination. A failure stops offloading to it for the rest of the job and is not this
         * chunk's failure: the sectors are written from the pages, or in a chunk without pages the
         * whole chunk is to be copied again ({@link #redo}).
         */
        private CompletionStage<Void> offload(BlockDevice device, long sector, int at, int length) {
            IoRegion source = job.source;
            CompletionStage<Void> stage;
            try {
                stage = source.device().offloadTo(source.sector() + offset + at, length, device, sector);
            } catch (RuntimeException | Error e) {
                stage = CompletableFuture.failedStage(e);
            }
            return stage.handle((ignored, failure) -> failure == null ? DONE : offloadFailed(device, sector, at,
                    length, unwrap(failure))).thenCompose(Function.identity());
        }

        private CompletionStage<Void> offloadFailed(BlockDevice device, long sector, int at, int length,
                Throwable failure) {
            if (job.offloadFailed(dest)) {
                owner.offloadFailed(job, dest, failure);
            }
            if (offloadOnly) {
                redo = true;
                return DONE;
            }
            // The pages hold the data (a sparse chunk's data segments too): write it from them.
            ByteBuffer pages = pool.view();
            pages.clear();
            return device.write(sector, pages.slice(bufferStart() + at * BlockDevice.SECTOR_SIZE,
                    length * BlockDevice.SECTOR_SIZE));
        }

        /**
         * Zeros from the shared zero buffer, in pieces of its size (a chunk of known zeros may be
         * larger, and a destination may lose its write-zeroes command); each piece one more op.
         */
        private CompletionStage<Void> writeZeroBuffer(BlockDevice device, long sector, int length) {
            int most = zeros.capacity() / BlockDevice.SECTOR_SIZE;
            long at = sector;
            long end = sector + length;
            while (end - at > most) {
                pendingOps.incrementAndGet();
                CompletionStage<Void> piece;
                try {
                    piece = device.write(at, zeros.slice(most * BlockDevice.SECTOR_SIZE));
                } catch (RuntimeException | Error e) {
                    opDone(e);
                    at += most;
                    continue;
                }
                piece.whenComplete(opDone);
                at += most;
            }
            return device.write(at, zeros.slice((int) (end - at) * BlockDevice.SECTOR_SIZE));
        }

        private void opDone(Throwable failure) {
            if (failure != null) {
                opFailure.compareAndSet(null, failure);
            }
            if (pendingOps.decrementAndGet() == 0) {
                writeDone(dest, opFailure.get());
            }
        }
    }

    /**
     * @return true if the destination's answer (contiguous runs, from an {@link ExtentCache}) says
     *         {@code [sector, sector + count)} reads as zeros
     */
    static boolean readsAsZeros(List<Extent> runs, long sector, long count) {
        if (runs == null) {
            return false;
        }
        long pos = sector;
        long end = sector + count;
        for (Extent run : runs) {
            if (run == null || run.sector() > pos) {
                return false;
            }
            if (run.endSector() <= pos) {
                continue;
            }
            if (!run.type().readsAsZeros()) {
                return false;
            }
            pos = run.endSector();
            if (pos >= end) {
                return true;
            }
        }
        return false;
    }
}
