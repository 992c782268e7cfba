package org.kcopyd.runtime.client;

/**
 * The thin client's exit codes: the command line's (kcopyd.cli's {@code Exit}), and how the
 * control API's error codes map to them.
 *
 * <ul>
 * <li>{@code bad-request} and {@code not-found} are 2: the request named something wrong (a bad
 *     value, a name that does not exist); nothing was changed, as with a refused argument ("no
 *     snapshot named s9" is exit 2 in the shell's command too). So is {@code too-large} (HTTP 413):
 *     the arguments made a request body larger than the daemon takes, and nothing was done.</li>
 * <li>{@code conflict} is 1, as in the shell's commands and the README's table: the request was
 *     right but could not run now (a name taken, a file in use, an export serving it).</li>
 * <li>{@code failed}, {@code unavailable}, {@code unauthorized}, {@code misdirected},
 *     {@code method-not-allowed} and any code this client does not know are 1: the command
 *     could not be carried out (a job's source or destination that cannot be opened or created is
 *     {@code failed}: exit 1, as the one-shot {@code copy} and {@code zero}).</li>
 * </ul>
 */
final class ExitCodes {
    /** Everything worked. */
    static final int OK = 0;
    /** The command could not be carried out. */
    static final int FAILED = 1;
    /** Bad arguments or a refused request; nothing was changed. */
    static final int USAGE = 2;
    /** A copy job's source could not be read (kcopyd.cli's READ_ERROR). */
    static final int READ_ERROR = 3;
    /** A copy or zero job's destination could not be written (kcopyd.cli's WRITE_ERROR). */
    static final int WRITE_ERROR = 4;

    private ExitCodes() {
    }

    /** @return the exit code of an API error code */
    static int of(String apiCode) {
        return switch (apiCode) {
            case "bad-request", "not-found", "too-large" -> USAGE;
            default -> FAILED;
        };
    }
}
