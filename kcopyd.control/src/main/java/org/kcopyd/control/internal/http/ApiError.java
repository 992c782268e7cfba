package org.kcopyd.control.internal.http;

/**
 * An error answered before or beside the control operations: the HTTP-only codes (401, 404 for an
 * unknown endpoint, 405, 421) and malformed requests.
 */
final class ApiError extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int status;
    private final String code;
    private final transient String allow;

    ApiError(int status, String code, String message, String allow) {
        super(message);
        this.status = status;
        this.code = code;
        this.allow = allow;
    }

    static ApiError badRequest(String message) {
        return new ApiError(400, "bad-request", message, null);
    }

    int status() {
        return status;
    }

    String code() {
        return code;
    }

    String allow() {
        return allow;
    }
}
