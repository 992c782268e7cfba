package org.kcopyd.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The completion routine of a job: dm-kcopyd's {@code kcopyd_notify_fn}.
 *
 * <p><b>Threading.</b> Called exactly once per job, on the client's completion thread, one
 * completion at a time and never concurrently for one client, never on the thread that
 * submitted the job. A callback that blocks stalls that client's completions (and only
 * that client's). An exception thrown by the callback is logged and otherwise ignored.
 *
 * @param <C> the type of the caller's context
 */
@ConsumerType
@FunctionalInterface
public interface CopyCallback<C> {

    /**
     * Reports the end of a job.
     *
     * @param readError   true if reading the source failed for some chunk
     * @param writeErrors bit {@code i} set when writing (or flushing) {@code dests[i]} failed, or
     *                    when a {@linkplain CopyJob#cancel() cancel} left {@code dests[i]} incomplete
     * @param context     the context given at submission, possibly null
     */
    void completed(boolean readError, long writeErrors, C context);
}
