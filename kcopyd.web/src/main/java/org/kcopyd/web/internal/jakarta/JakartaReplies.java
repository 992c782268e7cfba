package org.kcopyd.web.internal.jakarta;

import java.io.IOException;

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
}
