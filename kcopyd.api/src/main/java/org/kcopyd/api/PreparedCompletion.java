package org.kcopyd.api;

import java.util.concurrent.CompletionStage;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A caller-made completion obtained from {@link KcopydClient#prepareCallback}: dm-kcopyd's
 * {@code do_callback}. Completing it delivers its callback through the client's completion
 * thread, after the completions of jobs that finished before it.
 */
@ProviderType
public interface PreparedCompletion {

    /**
     * Delivers the completion. Only the first call has an effect.
     *
     * @param readError   the read error flag to report
     * @param writeErrors the write error bits to report
     * @return true if this call completed it, false if it was already completed
     */
    boolean complete(boolean readError, long writeErrors);

    /** @return a stage completed with the reported result, on the completion thread */
    CompletionStage<CopyResult> result();
}
