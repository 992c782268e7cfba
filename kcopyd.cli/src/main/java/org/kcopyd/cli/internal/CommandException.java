package org.kcopyd.cli.internal;

/**
 * A command that cannot go on: one line of words saying what failed and why, and the exit code.
 * Thrown before anything is written (a refusal), or when a step fails.
 */
final class CommandException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int exitCode;

    CommandException(int exitCode, String message) {
        super(message, null, false, false);
        this.exitCode = exitCode;
    }

    /** @return a refusal of bad arguments ({@link Exit#USAGE}) */
    static CommandException usage(String message) {
        return new CommandException(Exit.USAGE, message);
    }

    /** @return a failure to run ({@link Exit#FAILED}): a file could not be opened or created, a service is missing */
    static CommandException failed(String message) {
        return new CommandException(Exit.FAILED, message);
    }

    int exitCode() {
        return exitCode;
    }
}
