package org.kcopyd.impl.engine;

import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

import org.kcopyd.api.CopyResult;
import org.kcopyd.api.IoRegion;

/**
 * A master job: one copy, zero or prepared completion, as accepted by a client. Its fields
 * after construction are only touched by the client's worker thread, which hands out chunks
 * to sub-jobs, merges their outcomes and delivers the completion. Posted to the worker, it is
 * the event "accepted".
 */
final class Job implements WorkerEvent {

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
    final Consumer<CopyResult> callback;
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

    Throwable readFailure;
    final Throwable[] writeFailures;
    CopyResult result;
    /** The completion is decided (queued for delivery); later events of this job change nothing. */
    boolean finished;
    boolean delivered;

    Job(Kind kind, IoRegion source, IoRegion[] dests, boolean ignoreError, boolean writeSeq, boolean flush,
            Consumer<CopyResult> callback) {
        this(kind, source, dests, ignoreError, writeSeq, flush, false, false, callback);
    }

    /**
     * @param sparse       SPARSE asked for: in effect for a copy without WRITE_SEQ (a sequential
     *                     device must get every write in order)
     * @param sparseAlways SPARSE_ALWAYS asked for (implies sparse)
     */
    Job(Kind kind, IoRegion source, IoRegion[] dests, boolean ignoreError, boolean writeSeq, boolean flush,
            boolean sparse, boolean sparseAlways, Consumer<CopyResult> callback) {
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
        this.sourceExtents = this.sparse ? new ExtentCache() : null;
        this.destExtents = this.sparse ? new ExtentCache[dests.length] : null;
        if (this.sparse) {
            for (int i = 0; i < dests.length; i++) {
                destExtents[i] = new ExtentCache();
            }
        }
        this.writeFailures = new Throwable[dests.length];
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

    CopyResult buildResult() {
        return CopyResult.of(dests.length, readFailure, writeFailures);
    }
}
