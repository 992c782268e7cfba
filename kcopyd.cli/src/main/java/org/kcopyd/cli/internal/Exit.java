package org.kcopyd.cli.internal;

/** The command line's exit codes. */
final class Exit {
    /** Everything worked. */
    static final int OK = 0;
    /** The command could not run: a file could not be opened, a service was missing, a step failed. */
    static final int FAILED = 1;
    /** Bad arguments (picocli's code for invalid input too). */
    static final int USAGE = 2;
    /** Reading the source failed for some chunk. */
    static final int READ_ERROR = 3;
    /** Writing (or flushing) a destination failed. */
    static final int WRITE_ERROR = 4;

    private Exit() {
    }
}
