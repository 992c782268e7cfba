package org.kcopyd.web.internal;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The dashboard in the daemon, at {@value #PATH}/ on the daemon's loopback HTTP port next to the
 * control API: the page ({@value #PATH}/), its stylesheet and script ({@value #PATH}/res/...), a
 * redirect from {@value #PATH} to {@value #PATH}/ (the browser keeps the {@code #token=...} fragment
 * across it). The page holds no data and no secret: its script reads the token from the address's
 * fragment (never sent to the server), keeps it in the tab's {@code sessionStorage} and sends it as
 * {@code Authorization: Bearer} to {@code /api/v1/...}: no cookie, so no cross-site request can carry
 * it. Every answer forbids framing, inline script and other origins (Content-Security-Policy
 * {@code default-src 'self'}), sniffing and caching. As the API, a {@code Host} other than
 * {@code 127.0.0.1:PORT} or {@code localhost:PORT} is 421 (no DNS rebinding); only GET and HEAD are
 * served (405). Immutable; thread-safe.
 */
public final class DaemonPage {

    /** Where the dashboard is served. */
    public static final String PATH = "/kcopyd";
    /** The control API the page's script calls. */
    static final String API = "/api/v1";

    private static final Map<String, String> SECURITY = securityHeaders();

    private final Assets assets;
    private final byte[] page;

    /** @param assets the dashboard's files */
    public DaemonPage(Assets assets) {
        this.assets = assets;
        String html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                + "<meta name=\"referrer\" content=\"no-referrer\">\n"
                + "<title>kcopyd dashboard</title>\n<link rel=\"stylesheet\" href=\"res/dashboard.css\">\n</head>\n"
                + "<body class=\"kcopyd-page\">\n" + assets.body("daemon", API) + "\n"
                + "<script src=\"res/dashboard.js\"></script>\n</body>\n</html>\n";
        this.page = html.getBytes(StandardCharsets.UTF_8);
    }

    private static Map<String, String> securityHeaders() {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                + "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
        h.put("X-Frame-Options", "DENY");
        h.put("X-Content-Type-Options", "nosniff");
        h.put("Referrer-Policy", "no-referrer");
        h.put("Cache-Control", "no-store");
        h.put("Cross-Origin-Opener-Policy", "same-origin");
        h.put("Cross-Origin-Resource-Policy", "same-origin");
        return Map.copyOf(h);
    }

    /** @return the headers every answer of the page carries */
    public static Map<String, String> securityHeadersOfEveryAnswer() {
        return SECURITY;
    }

    /**
     * @param method    the HTTP method
     * @param pathInfo  the path below {@value #PATH} ({@code null} or empty for {@value #PATH} itself)
     * @param host      the {@code Host} header, or null
     * @param localPort the port the request came in on
     * @return the answer
     */
    public Reply answer(String method, String pathInfo, String host, int localPort) {
        if (host == null || !(host.equals("127.0.0.1:" + localPort) || host.equalsIgnoreCase("localhost:" + localPort))) {
            return Reply.text(421, "Host header '" + printable(host) + "' is not 127.0.0.1:" + localPort
                    + " or localhost:" + localPort, SECURITY);
        }
        if (!"GET".equals(method) && !"HEAD".equals(method)) {
            Map<String, String> h = new LinkedHashMap<>(SECURITY);
            h.put("Allow", "GET, HEAD");
            return Reply.text(405, method + " is not allowed on the dashboard; allowed: GET, HEAD", h);
        }
        String path = pathInfo == null ? "" : pathInfo;
        if (path.isEmpty()) {
            Map<String, String> h = new LinkedHashMap<>(SECURITY);
            h.put("Location", PATH + "/");
            return new Reply(302, null, new byte[0], h);
        }
        if (path.equals("/") || path.equals("/index.html")) {
            return new Reply(200, "text/html; charset=utf-8", page, SECURITY);
        }
        String prefix = "/" + Assets.FOLDER + "/";
        if (path.startsWith(prefix)) {
            Reply file = assets.file(path.substring(prefix.length()), SECURITY);
            if (file != null) {
                return file;
            }
        }
        return Reply.text(404, "no dashboard file " + PATH + printable(path) + " (the dashboard is " + PATH + "/)",
                SECURITY);
    }

    static String printable(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        for (char c : s.substring(0, Math.min(s.length(), 200)).toCharArray()) {
            b.append(Character.isISOControl(c) ? '?' : c);
        }
        return b.toString();
    }
}
