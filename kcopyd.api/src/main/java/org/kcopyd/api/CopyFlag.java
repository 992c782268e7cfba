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
    NO_WAIT,
    /**
     * Sparse copy ({@code --sparse=auto}): before reading a chunk the engine asks the source
     * {@linkplain BlockDevice#extents where its data is} and does not read holes; a chunk (or a
     * piece of at least {@value #SPARSE_BLOCK} bytes of it) read as all zeros is found by
     * comparing it with zeros. Such zero runs of {@value #SPARSE_MIN_RUN} bytes or more reach each
     * destination as {@link BlockDevice#writeZeroes} where it
     * {@linkplain BlockDevice#supportsWriteZeroes() supports it} (holes in files), are not
     * written at all where the destination's own {@linkplain BlockDevice#extents extents} say it
     * already reads as zeros there (a file just created), and are written as zeros otherwise;
     * shorter zero runs between data are written as data. Every destination ends with the
     * source's content, zeros included, whatever it held before. Data that is
     * {@linkplain #NO_OFFLOAD offloaded} is not read, so zeros in it are not looked for. Ignored
     * with {@link #WRITE_SEQ} (a sequential device gets every write) and by zero jobs.
     *
     * @since 1.2.0
     */
    SPARSE,
    /**
     * {@code --sparse=always}: as {@link #SPARSE}, and every zero run of at least
     * {@value #SPARSE_BLOCK} bytes becomes a hole (write-zeroes) or is skipped, even where writing
     * the zeros with the data around them would be as cheap. Implies {@link #SPARSE}; turns copy
     * offload off (see {@link #NO_OFFLOAD}): every block of data is read to find its zeros.
     *
     * @since 1.2.0
     */
    SPARSE_ALWAYS,
    /**
     * {@code --offload=never}: every chunk passes through the engine's pages.
     *
     * <p><b>Copy offload.</b> Chunks whose source {@linkplain BlockDevice#canOffloadTo can copy}
     * to a destination may be copied there by the kernel or file system
     * ({@link BlockDevice#offloadTo}: a reflink or {@code copy_file_range} between two files),
     * chunk by chunk, so progress and cancel work as for other copies; a refusal makes the job
     * copy through its pages for that destination. Without an offload flag (the default,
     * {@code --offload=auto}) a copy offloads only where the source also says the kernel's copy
     * is faster than the pages ({@link BlockDevice#offloadBeatsPagesTo}: for files, a file
     * system that shares blocks, where the copy is a reflink, or a network file system, where it
     * is a server-side copy), and uses its pages elsewhere without trying (on ext4 or tmpfs the
     * kernel's copy is slower); {@link #OFFLOAD_ALWAYS} offloads wherever the source accepts.
     * A chunk offloaded to every destination uses no pages and is not read by the engine, so a
     * source device that must see the bytes (a hashing view) does not accept offload. With
     * {@link #SPARSE}, as {@code cp --sparse=auto}, the source's holes are still asked for and
     * kept out of the copy, and only its data is offloaded: zeros written as data are copied as
     * data, not found and punched. {@link #SPARSE_ALWAYS}, which looks for zeros in every block,
     * reads everything and does not offload. Offload is ignored by zero jobs, with
     * {@link #WRITE_SEQ}, and for jobs shorter than 1 MiB. Not with {@link #OFFLOAD_ALWAYS}: a
     * job given both is refused ({@link IllegalArgumentException}).
     *
     * @since 1.3.0
     */
    NO_OFFLOAD,
    /**
     * {@code --offload=always}: offload (see {@link #NO_OFFLOAD}) to every destination the source
     * {@linkplain BlockDevice#canOffloadTo accepts}, whether or not the kernel's copy is faster
     * than the engine's pages there ({@code copy_file_range} on ext4 or tmpfs, for instance), for
     * storage known to gain from it. The kernel's refusals still fall back to the pages. Not with
     * {@link #NO_OFFLOAD}.
     *
     * @since 1.3.0
     */
    OFFLOAD_ALWAYS;

    /** Bytes: the granularity at which {@link #SPARSE} copies find zeros in data they read. */
    public static final int SPARSE_BLOCK = 4096;

    /**
     * Bytes: the shortest zero run between data that a {@link #SPARSE} copy (without
     * {@link #SPARSE_ALWAYS}) does not write as data.
     */
    public static final int SPARSE_MIN_RUN = 65536;
}
