package org.kcopyd.control;

import java.util.Objects;

/**
 * A refused or failed control operation: its {@link Code} says which kind (the HTTP API's error
 * code and status), its message names the bad value and the limit or what failed.
 */
public class ControlException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The kinds of refusal and failure, with the HTTP API's code and status for each. */
    public enum Code {
        /** A missing or invalid value: the message names it and the rule. */
        BAD_REQUEST("bad-request", 400),
        /** No such snapshot, export, mirror or job. */
        NOT_FOUND("not-found", 404),
        /** The name is taken, a file or device is in use, or the state forbids it. */
        CONFLICT("conflict", 409),
        /** A needed service or bundle is not running: the message says which. */
        UNAVAILABLE("unavailable", 503),
        /** Accepted but failed (I/O error, refused by the component, not done in time): the message says why. */
        FAILED("failed", 500);

        private final String text;
        private final int status;

        Code(String text, int status) {
            this.text = text;
            this.status = status;
        }

        /** @return the API's code, such as {@code "not-found"} */
        public String text() {
            return text;
        }

        /** @return the HTTP status */
        public int status() {
            return status;
        }
    }

    private final Code code;

    /**
     * @param code    the kind
     * @param message what was refused or failed, naming the value and the limit
     */
    public ControlException(Code code, String message) {
        super(message);
        this.code = Objects.requireNonNull(code, "code");
    }

    /**
     * @param code    the kind
     * @param message what was refused or failed
     * @param cause   the underlying exception
     */
    public ControlException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = Objects.requireNonNull(code, "code");
    }

    /** @return the kind of refusal or failure */
    public Code code() {
        return code;
    }

    /** @param message the message @return a {@link Code#BAD_REQUEST} */
    public static ControlException badRequest(String message) {
        return new ControlException(Code.BAD_REQUEST, message);
    }

    /** @param message the message @return a {@link Code#NOT_FOUND} */
    public static ControlException notFound(String message) {
        return new ControlException(Code.NOT_FOUND, message);
    }

    /** @param message the message @return a {@link Code#CONFLICT} */
    public static ControlException conflict(String message) {
        return new ControlException(Code.CONFLICT, message);
    }

    /** @param message the message @return an {@link Code#UNAVAILABLE} */
    public static ControlException unavailable(String message) {
        return new ControlException(Code.UNAVAILABLE, message);
    }

    /** @param message the message @return a {@link Code#FAILED} */
    public static ControlException failed(String message) {
        return new ControlException(Code.FAILED, message);
    }
}
