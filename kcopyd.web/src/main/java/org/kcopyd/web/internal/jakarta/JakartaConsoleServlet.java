package org.kcopyd.web.internal.jakarta;

import java.io.IOException;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.kcopyd.web.internal.ConsolePage;
import org.kcopyd.web.internal.Reply;

/** The Felix Web Console 5 (Jakarta) plugin: hands every request to {@link ConsolePage}. */
final class JakartaConsoleServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;
    /** The request attribute in which the Web Console gives its root path. */
    private static final String APP_ROOT = "felix.webconsole.appRoot";

    private final transient ConsolePage page;

    JakartaConsoleServlet(ConsolePage page) {
        this.page = page;
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Object root = req.getAttribute(APP_ROOT);
        Reply r = page.answer(req.getMethod(), req.getPathInfo(), root == null ? req.getServletPath()
                : root.toString(), req.getParameter("path"), req.getHeader(ConsolePage.GUARD), req.getInputStream(),
                req.getContentLengthLong());
        JakartaReplies.writeInConsole(r, resp);
    }
}
