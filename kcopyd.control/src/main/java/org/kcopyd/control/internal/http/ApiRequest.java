package org.kcopyd.control.internal.http;

import java.io.InputStream;

/**
 * One request as the API handler sees it, whatever serves it.
 *
 * @param method        the HTTP method, upper case
 * @param path          the path below {@code /api/v1}, such as {@code /snapshots/s1}; may be empty. As
 *                      sent (percent-encoded; null if it did not start with {@code /api/v1} written
 *                      plainly) for {@link ApiHandler}, decoded for {@link ApiRoutes}
 * @param host          the {@code Host} header, or null
 * @param authorization the {@code Authorization} header, or null
 * @param localPort     the port the request came in on
 * @param contentLength the declared body length, or -1 when not declared
 * @param body          the body; read at most up to the handler's limit
 */
public record ApiRequest(String method, String path, String host, String authorization, int localPort,
        long contentLength, InputStream body) {
}
