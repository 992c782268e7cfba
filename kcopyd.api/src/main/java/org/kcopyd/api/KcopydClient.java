package org.kcopyd.api;

import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A kcopyd client: reserved page buffers, a job queue and one completion thread.
 *
 * <p><b>Memory.</b> A client reserves {@link #pages()} pages of {@value #PAGE_SIZE} bytes
 * when it is created and never uses more buffer memory, whatever the size or number of
 * jobs. Jobs wait for pages; a job always gets them eventually (a client's pages hold at
 * least one chunk, so the oldest waiting job can always proceed).
 *
 * <p><b>Admission.</b> A client accepts a bounded number of outstanding jobs (configured on
 * the factory). When the bound is reached, {@code copy}, {@code zero} and
 * {@code prepareCallback} block until a job completes, or with {@link CopyFlag#NO_WAIT}
 * throw {@link java.util.concurrent.RejectedExecutionException}. Called from the client's
 * own completion thread, they never block: they throw instead when the bound is reached.
 *
 * <p><b>Completion.</b> Every accepted job completes exactly once: its callback runs on the
 * client's completion thread (never concurrently with another of this client's callbacks,
 * never on the submitting thread) and then the returned stage completes on that same
 * thread, so non-async dependent actions run there too. {@link #copyJob} and {@link #zeroJob}
 * return a {@link CopyJob}: the same job with its progress and a cancel (which the kernel's
 * kcopyd does not have).
 *
 * <p><b>Validation.</b> Submissions are checked before anything is read or written; a bad
 * request throws {@link IllegalArgumentException} naming the bad value and the limit (null
 * or empty destinations, too many destinations, a destination of another length than the
 * source, a region past its device's end, a read-only destination, a destination overlapping
 * the source or another destination). A closed client throws {@link IllegalStateException}.
 *
 * <p>Thread-safe: any thread may submit.
 */
@ProviderType
public interface KcopydClient extends AutoCloseable {

    /** Bytes per page of the client's buffer pool. */
    int PAGE_SIZE = 4096;

    /** @return the client's name, used in thread names and error messages */
    String name();

    /** @return the number of {@value #PAGE_SIZE}-byte pages reserved by this client */
    int pages();

    /**
     * Copies the source region to every destination region: dm-kcopyd's {@code kcopyd_copy}.
     * The source is read once; the destinations are written in parallel. The same as
     * {@link #copyJob copyJob(...)}{@code .result()}.
     *
     * @param <C>      the context type
     * @param from     the source region
     * @param dests    1..maximum destination regions, each as long as {@code from}
     * @param flags    job options, possibly empty
     * @param callback called once on completion, or null to use only the returned stage
     * @param context  passed back to {@code callback}, may be null
     * @return a stage completed (normally, even on I/O errors) with the job's result
     * @throws IllegalArgumentException if the request is invalid; nothing has been written
     * @throws IllegalStateException if the client is closed
     * @throws java.util.concurrent.RejectedExecutionException with {@link CopyFlag#NO_WAIT}
     *         (or from the completion thread) when the client's admission bound is reached
     */
    default <C> CompletionStage<CopyResult> copy(IoRegion from, List<IoRegion> dests, Set<CopyFlag> flags,
            CopyCallback<? super C> callback, C context) {
        return copyJob(from, dests, flags, callback, context).result();
    }

    /**
     * Copies the source region to every destination region, as {@link #copy copy}, and returns
     * a handle to the job: its progress ({@link CopyJob#bytesDone()} of
     * {@link CopyJob#bytesTotal()}), {@link CopyJob#cancel()} and its result. Admission,
     * validation and completion are those of {@code copy}. A cancelled job's callback is told
     * every {@linkplain CopyResult#incompleteDestinations() incomplete destination} as a write
     * error, so that code seeing only the callback never takes a cancelled copy for a whole one;
     * the result tells a cancel from a failure.
     *
     * @param <C>      the context type
     * @param from     the source region
     * @param dests    1..maximum destination regions, each as long as {@code from}
     * @param flags    job options, possibly empty
     * @param callback called once on completion, or null to use only the job's result stage
     * @param context  passed back to {@code callback}, may be null
     * @return the accepted job
     * @throws IllegalArgumentException if the request is invalid; nothing has been written
     * @throws IllegalStateException if the client is closed
     * @throws java.util.concurrent.RejectedExecutionException with {@link CopyFlag#NO_WAIT}
     *         (or from the completion thread) when the client's admission bound is reached
     * @since 1.3
     */
    <C> CopyJob copyJob(IoRegion from, List<IoRegion> dests, Set<CopyFlag> flags,
            CopyCallback<? super C> callback, C context);

    /**
     * Copies without a callback; the same as {@code copy(from, dests, flags, null, null)}.
     *
     * @param from  the source region
     * @param dests the destination regions
     * @param flags job options
     * @return a stage completed with the job's result
     */
    default CompletionStage<CopyResult> copy(IoRegion from, List<IoRegion> dests, Set<CopyFlag> flags) {
        return copy(from, dests, flags, null, null);
    }

    /**
     * Sets every destination region to zeros: dm-kcopyd's {@code zero}. Uses no page buffers:
     * one shared zero buffer, or the device's own write-zeroes command when every destination
     * {@linkplain BlockDevice#supportsWriteZeroes() has one}. The same as
     * {@link #zeroJob zeroJob(...)}{@code .result()}.
     *
     * @param <C>      the context type
     * @param dests    1..maximum destination regions
     * @param flags    job options, possibly empty
     * @param callback called once on completion (read error always false), or null
     * @param context  passed back to {@code callback}
     * @return a stage completed with the job's result
     * @throws IllegalArgumentException if the request is invalid; nothing has been written
     * @throws IllegalStateException if the client is closed
     */
    default <C> CompletionStage<CopyResult> zero(List<IoRegion> dests, Set<CopyFlag> flags,
            CopyCallback<? super C> callback, C context) {
        return zeroJob(dests, flags, callback, context).result();
    }

    /**
     * Sets every destination region to zeros, as {@link #zero zero}, and returns a handle to the
     * job (progress, cancel, result; see {@link #copyJob copyJob}). Its
     * {@link CopyJob#bytesTotal()} is the destination regions' length.
     *
     * @param <C>      the context type
     * @param dests    1..maximum destination regions
     * @param flags    job options, possibly empty
     * @param callback called once on completion (read error always false), or null
     * @param context  passed back to {@code callback}
     * @return the accepted job
     * @throws IllegalArgumentException if the request is invalid; nothing has been written
     * @throws IllegalStateException if the client is closed
     * @throws java.util.concurrent.RejectedExecutionException with {@link CopyFlag#NO_WAIT}
     *         (or from the completion thread) when the client's admission bound is reached
     * @since 1.3
     */
    <C> CopyJob zeroJob(List<IoRegion> dests, Set<CopyFlag> flags, CopyCallback<? super C> callback, C context);

    /**
     * Prepares a caller-made completion: dm-kcopyd's {@code prepare_callback}. The caller
     * later calls {@link PreparedCompletion#complete}, and the callback is delivered through
     * this client's completion thread, in order with the completions of real jobs. Counts
     * against the admission bound until delivered.
     *
     * @param <C>      the context type
     * @param callback called once when the prepared completion is completed, or null
     * @param context  passed back to {@code callback}
     * @return the handle to complete
     * @throws IllegalStateException if the client is closed
     */
    <C> PreparedCompletion prepareCallback(CopyCallback<? super C> callback, C context);

    /**
     * A barrier: the returned stage completes, on the completion thread, after every job
     * submitted before this call has completed and its callback has returned.
     *
     * @return the barrier stage
     * @throws IllegalStateException if the client is closed
     */
    CompletionStage<Void> flush();

    /** @return a snapshot of the client's counters; callable from any thread */
    ClientStatistics statistics();

    /**
     * Closes the client: dm-kcopyd's {@code kcopyd_client_destroy}, made safe. New submissions
     * fail with {@link IllegalStateException}; jobs already accepted run to completion (or, if
     * cancelled, to their stop) and report; then the completion thread ends and the pages are released. Blocks until then,
     * unless called from the completion thread itself (then it returns at once and the
     * client finishes closing after the callback returns). Idempotent.
     */
    @Override
    void close();
}
