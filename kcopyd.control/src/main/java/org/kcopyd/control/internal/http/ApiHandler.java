package org.kcopyd.control.internal.http;

import java.util.function.Supplier;

import org.kcopyd.control.KcopydControl;

/**
 * The control API of CONTROL-API.md as the daemon's servlet serves it: checks the {@code Host}
 * header (421) and the token (401), decodes the path as sent ({@link RequestPath}, 400), then answers
 * through {@link ApiRoutes}, the same routes the {@link org.kcopyd.control.ControlApi} service answers
 * with. Thread-safe: it keeps nothing between requests.
 */
public final class ApiHandler {

    private final AccessCheck access;
    private final ApiRoutes routes;

    /**
     * @param control the control service now, or null while there is none (then {@code unavailable})
     * @param access  the Host and token check
     * @param daemon  what {@code /status} says of the process
     */
    public ApiHandler(Supplier<KcopydControl> control, AccessCheck access, DaemonInfo daemon) {
        this.access = access;
        this.routes = new ApiRoutes(control, daemon);
    }

    /**
     * @param request a request whose path is as it was sent: percent-encoded, or null when it did not
     *                start with {@code /api/v1} written plainly
     * @return the answer to {@code request}; never throws
     */
    public ApiResponse handle(ApiRequest request) {
        String path;
        try {
            access.checkHost(request.host(), request.localPort());
            access.checkToken(request.authorization());
            path = RequestPath.decode(request.path());
        } catch (ApiError e) {
            return ApiRoutes.error(e);
        }
        return routes.respond(new ApiRequest(request.method(), path, request.host(), request.authorization(),
                request.localPort(), request.contentLength(), request.body()));
    }
}
