package org.kcopyd.api;

/** Options of a copy or zero job, with dm-kcopyd's semantics. */
public enum CopyFlag {
    /**
     * Keep going after an I/O error: later chunks are still copied, and a chunk whose read
     * failed is written as zeros. Errors are still reported. Turned off by {@link #WRITE_SEQ}.
     */
    IGNORE_ERROR,
    /**
     * Writes reach each destination strictly in ascending sector order: a chunk's writes
     * start only after the previous chunk's writes completed. Needed by zoned or append-only
     * devices; set automatically when a destination
     * {@linkplain BlockDevice#requiresSequentialWrites() requires it}.
     */
    WRITE_SEQ,
    /**
     * Flush every destination that was written without error ({@link BlockDevice#flush()})
     * before the completion is reported; a failed flush sets that destination's write error bit.
     */
    FLUSH,
    /**
     * Do not wait for admission: if the client already has its maximum number of jobs
     * outstanding, the submission fails at once with
     * {@link java.util.concurrent.RejectedExecutionException} instead of blocking.
     */
    NO_WAIT
}
