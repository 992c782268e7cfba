package org.kcopyd.web.internal.jakarta;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import jakarta.servlet.http.HttpServletResponse;

import org.kcopyd.web.internal.Reply;

/** Writes a {@link Reply} to a Jakarta servlet response. Stateless. */
public final class JakartaReplies {

    private JakartaReplies() {
    }

    /**
     * @param r        the reply
     * @param resp     the response, not yet committed
     * @param headOnly true for HEAD: headers and length, no body
     */
    public static void write(Reply r, HttpServletResponse resp, boolean headOnly) throws IOException {
        resp.setStatus(r.status());
        r.headers().forEach(resp::setHeader);
        if (r.contentType() != null) {
            resp.setContentType(r.contentType());
        }
        resp.setContentLength(r.body().length);
        if (!headOnly && r.body().length > 0) {
            resp.getOutputStream().write(r.body());
        }
    }

    /**
     * Writes a reply of the Web Console tab. For a page (a GET whose last path segment has no
     * extension) the console has already begun its own HTML answer around the plugin when it calls it:
     * content type set, its header markup written through the response's writer. Then only the reply's
     * body is added, through that writer, and its status while the response is not committed (a length
     * would contradict what was written: Jetty refuses one shorter than what is already written).
     * Else (the tab's {@code api.json} and {@code res/...} files) the reply is written whole.
     *
     * @param r    the reply
     * @param resp the response, perhaps begun by the console
     */
    public static void writeInConsole(Reply r, HttpServletResponse resp) throws IOException {
        if (resp.isCommitted() || resp.getContentType() != null) {
            if (!resp.isCommitted()) {
                resp.setStatus(r.status());
            }
            resp.getWriter().write(new String(r.body(), StandardCharsets.UTF_8));
        } else {
            write(r, resp, false);
        }
    }
}
