package org.kcopyd.control.internal.http;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * The Jakarta servlet the Servlet Whiteboard serves at {@code /api/v1/*}: hands every method to the
 * {@link ApiHandler} and writes its answer. No CORS headers; responses are never cached.
 */
public final class ApiServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;

    private final transient ApiHandler handler;

    /** @param handler the API */
    public ApiServlet(ApiHandler handler) {
        this.handler = handler;
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        // The path as sent, not getPathInfo(): that one is decoded (%2F a slash) and its dot segments resolved.
        String uri = req.getRequestURI();
        String prefix = req.getContextPath() + req.getServletPath();
        String path = uri != null && uri.startsWith(prefix) ? uri.substring(prefix.length()) : null;
        ApiRequest request = new ApiRequest(req.getMethod(), path, req.getHeader("Host"),
                req.getHeader("Authorization"), req.getLocalPort(), req.getContentLengthLong(), req.getInputStream());
        ApiResponse response = handler.handle(request);
        byte[] body = response.json().getBytes(StandardCharsets.UTF_8);
        resp.setStatus(response.status());
        resp.setContentType("application/json; charset=utf-8");
        resp.setHeader("Cache-Control", "no-store");
        if (response.status() == 401) {
            resp.setHeader("WWW-Authenticate", "Bearer");
        }
        if (response.allow() != null) {
            resp.setHeader("Allow", response.allow());
        }
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
    }
}
