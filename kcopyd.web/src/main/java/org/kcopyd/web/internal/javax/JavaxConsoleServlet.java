package org.kcopyd.web.internal.javax;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.kcopyd.web.internal.ConsolePage;
import org.kcopyd.web.internal.Reply;

/**
 * The Felix Web Console 4 (javax.servlet, Karaf 4.4's {@code webconsole} feature) plugin: hands every
 * request to {@link ConsolePage}, as the Jakarta one does for Web Console 5.
 */
final class JavaxConsoleServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;
    private static final String APP_ROOT = "felix.webconsole.appRoot";

    private final transient ConsolePage page;

    JavaxConsoleServlet(ConsolePage page) {
        this.page = page;
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Object root = req.getAttribute(APP_ROOT);
        Reply r = page.answer(req.getMethod(), req.getPathInfo(), root == null ? req.getServletPath()
                : root.toString(), req.getParameter("path"), req.getHeader(ConsolePage.GUARD), req.getInputStream(),
                req.getContentLengthLong());
        if (resp.isCommitted() || resp.getContentType() != null) {
            // A page: the console has begun its HTML answer around the tab (as JakartaReplies.writeInConsole says).
            if (!resp.isCommitted()) {
                resp.setStatus(r.status());
            }
            resp.getWriter().write(new String(r.body(), StandardCharsets.UTF_8));
            return;
        }
        resp.setStatus(r.status());
        r.headers().forEach(resp::setHeader);
        if (r.contentType() != null) {
            resp.setContentType(r.contentType());
        }
        resp.setContentLength(r.body().length);
        if (r.body().length > 0) {
            resp.getOutputStream().write(r.body());
        }
    }
}
