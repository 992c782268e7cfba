package org.kcopyd.cli.internal;

/** The command line's exit codes. */
final class Exit {
    /** Everything worked. */
    static final int OK = 0;
    /** The command could not run: a file could not be opened or created, a service was missing, a step failed. */
    static final int FAILED = 1;
    /** Bad arguments (picocli's code for invalid input too); nothing was written. */
    static final int USAGE = 2;
    /** Reading the source failed for some chunk (while copying, or while {@code copy --verify} read it back). */
    static final int READ_ERROR = 3;
    /** Writing (or flushing) a destination failed. */
    static final int WRITE_ERROR = 4;
    /**
     * {@code copy --verify}: a destination read back differs from the source, or could not be read
     * back to compare; the copy itself reported no error.
     */
    static final int VERIFY_FAILED = 5;
    /**
     * Interrupted (SIGINT, Ctrl-C: 128 + 2). After a signal the process's status is set by the
     * JVM, not returned by a command; a command interrupted in the shell returns it.
     */
    static final int INTERRUPTED = 130;
    /** Terminated (SIGTERM: 128 + 15); the JVM's exit status after the signal. */
    static final int TERMINATED = 143;

    private Exit() {
    }
}
