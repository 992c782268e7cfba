package org.kcopyd.web.internal.jakarta;

import java.io.IOException;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.kcopyd.web.internal.DaemonPage;
import org.kcopyd.web.internal.Reply;

/** The Jakarta servlet serving {@link DaemonPage} at {@code /kcopyd/*} on the Servlet Whiteboard. */
public final class DaemonServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;

    private final transient DaemonPage page;

    /** @param page what to answer */
    public DaemonServlet(DaemonPage page) {
        this.page = page;
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Reply r = page.answer(req.getMethod(), req.getPathInfo(), req.getHeader("Host"), req.getLocalPort());
        JakartaReplies.write(r, resp, "HEAD".equals(req.getMethod()));
    }
}
