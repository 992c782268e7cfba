package org.kcopyd.runtime.client;

import com.google.gson.JsonObject;

/**
 * Why a thin-client command stopped: the exit code, a stable error code and a one-line message
 * naming the bad value. Errors the daemon answered carry its error object as it sent it; local
 * refusals get one of the codes below, which never clash with the control API's.
 *
 * <ul>
 * <li>{@code bad-request} (exit 2): a bad argument, refused before any request;</li>
 * <li>{@code no-daemon} (exit 1): no daemon holds the state directory;</li>
 * <li>{@code unsafe-state} (exit 1): a token or control file others can read or change;</li>
 * <li>{@code connection-failed} (exit 1): the daemon could not be reached, or stopped answering;</li>
 * <li>{@code daemon-gone} (exit 1): the daemon ended while the client waited for a job of it.</li>
 * </ul>
 */
final class ClientException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int exitCode;
    private final String code;
    private final transient JsonObject apiError;

    ClientException(int exitCode, String code, String message) {
        this(exitCode, code, message, null);
    }

    private ClientException(int exitCode, String code, String message, JsonObject apiError) {
        super(message);
        this.exitCode = exitCode;
        this.code = code;
        this.apiError = apiError;
    }

    /** A bad argument: exit 2, nothing sent. */
    static ClientException usage(String message) {
        return new ClientException(ExitCodes.USAGE, "bad-request", message);
    }

    /**
     * The daemon ended (no daemon holds the state directory any more, or it stopped answering)
     * while the client waited for {@code work}: exit 1.
     *
     * @param gone what that means for the work, e.g. {@link #JOB_GONE}
     */
    static ClientException daemonGone(String work, String gone, ClientException cause) {
        return new ClientException(ExitCodes.FAILED, "daemon-gone", "the kcopyd daemon ended while " + work
                + " ran: " + gone + " (" + cause.getMessage() + ")");
    }

    /** What a daemon's end means for a copy or zero job: a daemon started again does not know it. */
    static final String JOB_GONE = "its destinations may be incomplete, and a daemon started again does not resume it";

    /** A failure of the channel itself: exit 1. */
    static ClientException connection(String message) {
        return new ClientException(ExitCodes.FAILED, "connection-failed", message);
    }

    /**
     * The daemon's error answer.
     *
     * @param status   the HTTP status
     * @param response the whole response object ({@code {"error": {...}}}), or null if the body held none
     * @param fallback the message when the body names none
     */
    static ClientException api(int status, JsonObject response, String fallback) {
        JsonObject error = response != null && response.get("error") instanceof JsonObject e ? e : null;
        String code = error == null ? null : Json.string(error, "code");
        String message = error == null ? null : Json.string(error, "message");
        if (code == null) {
            code = switch (status) {
                case 401 -> "unauthorized";
                case 404 -> "not-found";
                case 413 -> "too-large";
                default -> "failed";
            };
        }
        if (message == null && status == 413) {
            message = fallback + " (Payload Too Large): the request is larger than the daemon takes; nothing was done";
        }
        JsonObject whole = new JsonObject();
        JsonObject e = new JsonObject();
        e.addProperty("code", code);
        e.addProperty("message", message == null ? fallback : message);
        whole.add("error", e);
        return new ClientException(ExitCodes.of(code), code, message == null ? fallback : message, whole);
    }

    int exitCode() {
        return exitCode;
    }

    String code() {
        return code;
    }

    /** @return the error as {@code --json} prints it: the daemon's error object, or one made of the code and message */
    JsonObject json() {
        if (apiError != null) {
            return apiError;
        }
        JsonObject whole = new JsonObject();
        JsonObject e = new JsonObject();
        e.addProperty("code", code);
        e.addProperty("message", getMessage());
        whole.add("error", e);
        return whole;
    }
}
