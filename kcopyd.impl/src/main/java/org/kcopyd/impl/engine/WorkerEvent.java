package org.kcopyd.impl.engine;

import java.util.concurrent.CompletableFuture;

import org.kcopyd.api.CopyResult;

/**
 * What a client's worker is told through its inbox. Submitters post accepted {@link Job}s,
 * flush requests and prepared completions; I/O threads post {@link SubJob}s whose I/O ended and
 * flushed destinations; a cancel posts {@link CancelRequested}; closing posts {@link Close} and
 * {@link Abort}. A job and a sub-job are their own events so that the steady stream of them costs
 * no further object.
 */
sealed interface WorkerEvent permits Job, SubJob, WorkerEvent.FlushRequested, WorkerEvent.FlushDone,
        WorkerEvent.PreparedDone, WorkerEvent.CancelRequested, WorkerEvent.Close, WorkerEvent.Abort {

    /** flush() was called: complete the future once every job accepted before it is delivered. */
    record FlushRequested(CompletableFuture<Void> future) implements WorkerEvent {
    }

    /** The destinations of a FLUSH job have been flushed; failures[i] is dests[i]'s flush error or null. */
    record FlushDone(Job job, Throwable[] failures) implements WorkerEvent {
    }

    /** The caller completed a prepared completion: deliver it in order with real jobs. */
    record PreparedDone(Job job, CopyResult result) implements WorkerEvent {
    }

    /** {@link Job#cancel()} was called: stop handing out the job's chunks and end it once its I/O is over. */
    record CancelRequested(Job job) implements WorkerEvent {
    }

    /** The client is closed: finish the accepted jobs, then end the worker. */
    record Close() implements WorkerEvent {
    }

    /** A close that cannot wait any longer: end every accepted job now, its destinations reported failed. */
    record Abort() implements WorkerEvent {
    }
}
