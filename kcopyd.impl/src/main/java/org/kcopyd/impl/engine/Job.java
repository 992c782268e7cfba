package org.kcopyd.impl.engine;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyJob;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.IoRegion;

/**
 * A master job: one copy, zero or prepared completion, as accepted by a client. Its fields
 * after construction are only touched by the client's worker thread, which hands out chunks
 * to sub-jobs, merges their outcomes and delivers the completion. Posted to the worker, it is
 * the event "accepted".
 *
 * <p>A copy or zero job is also its own {@link CopyJob} handle (no further object per job):
 * {@link #bytesDone()} reads a field the worker publishes with a release store per chunk, and
 * {@link #cancel()} sets a flag with one compare-and-set and posts a {@link WorkerEvent.CancelRequested};
 * the worker stops the job (see {@link ChunkScheduler#cancel}). Prepared completions are never
 * handed out as handles.
 */
final class Job implements WorkerEvent, CopyJob {

    /**
     * The least length of a job that offloads: 1 MiB, two default sub-job chunks. Shorter copies go
     * through pages, where the kernel's copy would cost more than it saves.
     */
    static final long OFFLOAD_MIN_SECTORS = (1L << 20) / 512;

    /** Where {@link #cancel()} posts its request: the client's worker. */
    interface Canceller {
        void cancelRequested(Job job);
    }

    private static final VarHandle DONE_BYTES;
    private static final VarHandle CANCEL_REQUESTED;
    private static final VarHandle OFFLOAD_DESTS;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            DONE_BYTES = lookup.findVarHandle(Job.class, "doneBytes", long.class);
            CANCEL_REQUESTED = lookup.findVarHandle(Job.class, "cancelRequested", boolean.class);
            OFFLOAD_DESTS = lookup.findVarHandle(Job.class, "offloadDests", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    enum Kind { COPY, ZERO, PREPARED }

    final Kind kind;
    final IoRegion source;
    final IoRegion[] dests;
    final boolean ignoreError;
    final boolean writeSeq;
    final boolean flush;
    /** {@link org.kcopyd.api.CopyFlag#SPARSE} in effect (never for zero jobs or under WRITE_SEQ). */
    final boolean sparse;
    /** {@link org.kcopyd.api.CopyFlag#SPARSE_ALWAYS} in effect. */
    final boolean sparseAlways;
    /**
     * The source's calls never block ({@link org.kcopyd.api.BlockDevice#isNonBlocking}): its
     * chunks are started on the client's worker, without a hand-off to an I/O thread.
     */
    final boolean sourceNonBlocking;
    final Consumer<CopyResult> callback;
    private final Canceller canceller;
    final CompletableFuture<CopyResult> future = new CompletableFuture<>();
    /** Length of the job in sectors (0 for a prepared completion). */
    final long count;

    long seq;
    /** Next sector offset (relative to the region starts) not yet handed to a sub-job. */
    long nextOffset;
    /** Sub-jobs that exist for this job: queued for pages, doing I/O, or waiting their turn to write. */
    int subJobs;
    boolean started;
    /** No more chunks: an error occurred without IGNORE_ERROR. */
    boolean stopped;
    /** WRITE_SEQ: offset of the next chunk allowed to write. */
    long nextWriteOffset;
    /** Sparse: the source reads as zeros from {@link #nextOffset} (when below) up to this offset. */
    long zerosUntil;
    /** Every destination has a write-zeroes command (known-zero chunks may then be large). */
    final boolean zeroCommands;
    /** Sparse: the source's extents, shared by the sub-jobs (null otherwise). */
    final ExtentCache sourceExtents;
    /** Sparse: each destination's extents, shared by the sub-jobs (null otherwise). */
    final ExtentCache[] destExtents;

    /** Bit i set for every destination: the mask of a chunk offloaded to all of them. */
    final long allDests;
    /**
     * {@link Offload#AUTO}: every destination offloaded to was advised by the source (a reflink,
     * a server-side copy), whose copy moves no data through this process; its chunks may be larger.
     */
    final boolean offloadAdvised;
    /**
     * Bit i: the source {@linkplain org.kcopyd.api.BlockDevice#canOffloadTo offloads} to
     * {@code dests[i]}; cleared, from an I/O thread, at the first failure of an offload to it.
     * Zero without offload (NO_OFFLOAD, AUTO where no destination is advised, zero jobs, WRITE_SEQ, SPARSE_ALWAYS,
     * jobs under 1 MiB).
     */
    @SuppressWarnings("unused") // through OFFLOAD_DESTS
    private volatile long offloadDests;

    /** Bytes of chunks done on every destination without error; written by the worker only (release). */
    @SuppressWarnings("unused") // through DONE_BYTES
    private long doneBytes;
    /** cancel() returned true; set once, from any thread. */
    @SuppressWarnings("unused") // through CANCEL_REQUESTED
    private volatile boolean cancelRequested;
    /** Sectors of chunks whose I/O ended (with or without errors): what the job covered. */
    long endedSectors;
    /** The worker stopped handing out chunks because of a cancel (not an error, not an abort). */
    boolean cancelStopped;

    Throwable readFailure;
    final Throwable[] writeFailures;
    CopyResult result;
    /** The completion is decided (queued for delivery); later events of this job change nothing. */
    boolean finished;
    boolean delivered;

    Job(Kind kind, IoRegion source, IoRegion[] dests, boolean ignoreError, boolean writeSeq, boolean flush,
            Consumer<CopyResult> callback) {
        this(kind, source, dests, ignoreError, writeSeq, flush, false, false, Offload.NEVER, callback, null);
    }

    /**
     * @param sparse       SPARSE asked for: in effect for a copy without WRITE_SEQ (a sequential
     *                     device must get every write in order)
     * @param sparseAlways SPARSE_ALWAYS asked for (implies sparse)
     * @param offload      the flags' offload mode: a copy without WRITE_SEQ or SPARSE_ALWAYS offloads to each
     *                     destination {@link Offload#offloads} names (never, advised, or
     *                     {@linkplain org.kcopyd.api.BlockDevice#canOffloadTo accepted})
     * @param canceller    where {@link #cancel()} posts its request; null for a job never handed out
     */
    Job(Kind kind, IoRegion source, IoRegion[] dests, boolean ignoreError, boolean writeSeq, boolean flush,
            boolean sparse, boolean sparseAlways, Offload offload, Consumer<CopyResult> callback, Canceller canceller) {
        this.canceller = canceller;
        this.kind = kind;
        this.source = source;
        this.dests = dests;
        this.writeSeq = writeSeq;
        this.ignoreError = ignoreError && !writeSeq;
        this.flush = flush;
        this.sparse = kind == Kind.COPY && !writeSeq && (sparse || sparseAlways);
        this.sparseAlways = this.sparse && sparseAlways;
        this.callback = callback;
        this.count = dests.length == 0 ? 0 : dests[0].count();
        boolean zeroing = true;
        for (IoRegion d : dests) {
            zeroing &= d.device().supportsWriteZeroes();
        }
        this.zeroCommands = zeroing;
        this.sourceNonBlocking = source != null && source.device().isNonBlocking();
        this.sourceExtents = this.sparse ? new ExtentCache() : null;
        this.destExtents = this.sparse ? new ExtentCache[dests.length] : null;
        if (this.sparse) {
            for (int i = 0; i < dests.length; i++) {
                destExtents[i] = new ExtentCache();
            }
        }
        this.writeFailures = new Throwable[dests.length];
        this.allDests = dests.length == 64 ? -1L : (1L << dests.length) - 1;
        this.offloadAdvised = offload == Offload.AUTO;
        long offloading = 0;
        // SPARSE_ALWAYS looks for zeros in every block of data, which the engine must read for that. A small
        // job goes through its pages: the kernel's copy of a few KiB (copy_file_range splices through a pipe)
        // costs more than a read and a write from the page cache, and its one call cannot use the I/O threads'
        // parallelism that many small jobs get from the page path (jobs-4k fell from 418k to 167k jobs/s).
        if (offload != Offload.NEVER && kind == Kind.COPY && !writeSeq && !this.sparseAlways
                && count >= OFFLOAD_MIN_SECTORS) {
            for (int i = 0; i < dests.length; i++) {
                if (offload.offloads(source.device(), dests[i].device())) {
                    offloading |= 1L << i;
                }
            }
        }
        OFFLOAD_DESTS.setRelease(this, offloading);
    }

    /** @return the destinations still offloaded to (bit i: {@code dests[i]}); any thread */
    long offloadDests() {
        return (long) OFFLOAD_DESTS.getAcquire(this);
    }

    /**
     * Any thread: an offload to {@code dests[dest]} failed; from now on the job copies to it
     * through its pages.
     *
     * @return true the first time for this destination
     */
    boolean offloadFailed(int dest) {
        long bit = 1L << dest;
        long old = (long) OFFLOAD_DESTS.getAndBitwiseAnd(this, ~bit);
        return (old & bit) != 0;
    }

    boolean isZero() {
        return kind == Kind.ZERO;
    }

    boolean hasMoreChunks() {
        return !stopped && nextOffset < count;
    }

    void recordRead(Throwable failure) {
        if (failure != null && readFailure == null) {
            readFailure = failure;
        }
    }

    void recordWrite(int dest, Throwable failure) {
        if (failure != null && writeFailures[dest] == null) {
            writeFailures[dest] = failure;
        }
    }

    /** Worker: a chunk of {@code sectors} ended; {@code clean} when it was read and written everywhere. */
    void chunkEnded(int sectors, boolean clean) {
        endedSectors += sectors;
        if (clean) {
            DONE_BYTES.setRelease(this, (long) DONE_BYTES.get(this) + (long) sectors * BlockDevice.SECTOR_SIZE);
        }
    }

    /**
     * Worker: the outcome. A destination is incomplete when its write failed, when the read
     * failed (every one), or when the job ended with part of its region never covered (stopped by
     * a cancel or an error: every one).
     */
    CopyResult buildResult() {
        long all = dests.length == 64 ? -1L : (1L << dests.length) - 1;
        boolean covered = endedSectors >= count;
        long incomplete = 0;
        if (readFailure != null || !covered) {
            incomplete = all;
        } else {
            for (int i = 0; i < writeFailures.length; i++) {
                if (writeFailures[i] != null) {
                    incomplete |= 1L << i;
                }
            }
        }
        if (incomplete == 0 && !cancelStopped) {
            // The common case: one result, no extra checks.
            return CopyResult.of(dests.length, readFailure, writeFailures);
        }
        return CopyResult.of(dests.length, readFailure, writeFailures, cancelStopped && !covered, incomplete);
    }

    // ---- CopyJob (any thread) ----

    @Override
    public long bytesTotal() {
        return count * BlockDevice.SECTOR_SIZE;
    }

    @Override
    public long bytesDone() {
        return (long) DONE_BYTES.getAcquire(this);
    }

    @Override
    public boolean cancel() {
        if (canceller == null) {
            throw new IllegalStateException("a " + kind + " job has no handle to cancel");
        }
        if (future.isDone() || !CANCEL_REQUESTED.compareAndSet(this, false, true)) {
            return false;
        }
        canceller.cancelRequested(this);
        return true;
    }

    @Override
    public boolean isCancelRequested() {
        return cancelRequested;
    }

    @Override
    public boolean isDone() {
        return future.isDone();
    }

    @Override
    public CompletionStage<CopyResult> result() {
        return future;
    }

    @Override
    public String toString() {
        return "CopyJob[" + kind + ", " + bytesDone() + " of " + bytesTotal() + " bytes"
                + (cancelRequested ? ", cancel requested" : "") + (future.isDone() ? ", done" : "") + "]";
    }
}
