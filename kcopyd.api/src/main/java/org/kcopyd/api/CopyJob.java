package org.kcopyd.api;

import java.util.concurrent.CompletionStage;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A handle to one accepted copy or zero job, returned by {@link KcopydClient#copyJob} and
 * {@link KcopydClient#zeroJob}: its progress, a way to stop it, and its result. dm-kcopyd has
 * no such handle; its jobs cannot be cancelled.
 *
 * <p><b>Units.</b> Byte counts, in bytes (sectors of {@link BlockDevice#SECTOR_SIZE} times 512).
 *
 * <p><b>Threading.</b> Every method may be called from any thread, including the client's
 * completion thread (a callback), and never blocks.
 *
 * <p><b>Cancellation.</b> A cancelled job hands out no further chunk. Chunks already being
 * read or written finish (their writes complete: a buffer is never abandoned while a device
 * still uses it), the job's pages return to the client, and the job then completes exactly
 * once, as every job does, through the client's completion thread. Its result says
 * {@link CopyResult#cancelled()} when the cancel left part of the region uncopied, and which
 * destinations do not hold the whole source region ({@link CopyResult#incompleteDestinations()}):
 * the bytes after the stop point are left as they were. A job still waiting for pages completes
 * promptly with nothing written. A cancel that arrives when every chunk has already been handed
 * out changes nothing: the job completes normally, not cancelled.
 */
@ProviderType
public interface CopyJob {

    /**
     * @return the bytes the job covers: the source region's length for a copy, the
     *         destination regions' length for a zero job; fixed
     */
    long bytesTotal();

    /**
     * The bytes of the chunks that have been read and written on every destination without an
     * error (skipped holes and zeros of a sparse copy included). Monotonic; equal to
     * {@link #bytesTotal()} once a job that copied everything has completed, less for a
     * cancelled job or one with errors. Cheap: a single read of a field, no lock.
     *
     * @return the bytes done so far, 0..{@link #bytesTotal()}
     */
    long bytesDone();

    /**
     * Asks the job to stop. Returns at once; the job completes later through its result.
     *
     * @return true if this call moved a job that had not completed (its result not yet
     *         delivered) to cancelling; false if the job had already completed or a cancel was
     *         already taken. True does not promise a cancelled result: a job whose chunks were
     *         all handed out, or whose outcome was being delivered, completes normally.
     */
    boolean cancel();

    /**
     * @return true once {@link #cancel()} has returned true for this job (the request was
     *         taken; the result says whether it stopped anything)
     */
    boolean isCancelRequested();

    /**
     * @return true once the job has completed: its callback has run and its result stage is
     *         complete
     */
    boolean isDone();

    /**
     * @return the stage completed, exactly once and on the client's completion thread, with the
     *         job's result: the same stage {@link KcopydClient#copy} or {@link KcopydClient#zero}
     *         returns
     */
    CompletionStage<CopyResult> result();
}
