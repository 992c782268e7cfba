package org.kcopyd.web.internal;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.kcopyd.control.ControlApi;

/**
 * The dashboard as the Apache Felix Web Console's "kcopyd" tab ({@value #LABEL}): the console draws
 * its own header and menu around the page's body; the script and stylesheet are the console's
 * {@code /kcopyd/res/...} resources; the data comes from {@code /kcopyd/api.json?path=/status}
 * (any method), answered by kcopyd.control's {@link ControlApi}: the same JSON as the daemon's API,
 * behind the console's own authentication instead of the token. The console decorates requests
 * whose last path segment has no extension, hence {@code api.json}. Since the console authenticates
 * with credentials the browser sends by itself (Basic, a session cookie), every API request must
 * carry the header {@value #GUARD}{@code : 1}, which no cross-site form or image can send (and no
 * CORS header ever allows a script to): else 403. Immutable; thread-safe.
 */
public final class ConsolePage {

    /** The Web Console label: the tab's path below the console's root. */
    public static final String LABEL = "kcopyd";
    /** The Web Console title: the tab's name. */
    public static final String TITLE = "kcopyd";
    /** The header every API request through the console must carry (value {@code 1}). */
    public static final String GUARD = "X-Kcopyd-Api";
    /** The API's path below the label. */
    static final String API = "/api.json";

    private static final Map<String, String> NO_STORE = Map.of("Cache-Control", "no-store",
            "X-Content-Type-Options", "nosniff");

    private final Assets assets;
    private final ControlApi api;

    /**
     * @param assets the dashboard's files
     * @param api    the control API
     */
    public ConsolePage(Assets assets, ControlApi api) {
        this.assets = assets;
        this.api = api;
    }

    /**
     * @param method        the HTTP method
     * @param pathInfo      the path below the console's root, starting with {@code /kcopyd}
     * @param appRoot       the console's root as the browser sees it (such as {@code /system/console})
     * @param apiPath       the {@code path} query parameter (the API path below {@code /api/v1}), or null
     * @param guard         the {@value #GUARD} header, or null
     * @param body          the request body
     * @param contentLength its declared length, or -1
     * @return the answer
     */
    public Reply answer(String method, String pathInfo, String appRoot, String apiPath, String guard, InputStream body,
            long contentLength) {
        String below = pathInfo == null ? "" : pathInfo;
        if (below.startsWith("/" + LABEL)) {
            below = below.substring(LABEL.length() + 1);
        }
        String root = appRoot == null ? "" : appRoot;
        if (below.equals(API)) {
            if (!"1".equals(guard)) {
                return json(403, "{\"error\": {\"code\": \"forbidden\", \"message\": \"requests to the kcopyd API "
                        + "through the Web Console must carry the header " + GUARD + ": 1 (the dashboard's script "
                        + "sends it; a cross-site request cannot)\"}}");
            }
            if (apiPath == null || !apiPath.startsWith("/")) {
                return json(400, "{\"error\": {\"code\": \"bad-request\", \"message\": \"the query parameter path "
                        + "must name the API path below /api/v1, such as ?path=/status\"}}");
            }
            ControlApi.Answer a = api.answer(method, apiPath, body, contentLength);
            Map<String, String> headers = a.allow() == null ? NO_STORE : Map.of("Cache-Control", "no-store",
                    "X-Content-Type-Options", "nosniff", "Allow", a.allow());
            return new Reply(a.status(), Reply.JSON, a.json().getBytes(StandardCharsets.UTF_8), headers);
        }
        String prefix = "/" + Assets.FOLDER + "/";
        if (below.startsWith(prefix) && "GET".equals(method)) {
            Reply file = assets.file(below.substring(prefix.length()), NO_STORE);
            if (file != null) {
                return file;
            }
        }
        if ((below.isEmpty() || below.equals("/")) && "GET".equals(method)) {
            String base = root + "/" + LABEL;
            String html = "<link rel=\"stylesheet\" href=\"" + Html.escape(base) + "/res/dashboard.css\">\n"
                    + assets.body("console", base + API) + "\n<script src=\"" + Html.escape(base)
                    + "/res/dashboard.js\"></script>\n";
            return new Reply(200, "text/html; charset=utf-8", html.getBytes(StandardCharsets.UTF_8), NO_STORE);
        }
        return Reply.text(404, "no kcopyd page " + DaemonPage.printable(pathInfo), NO_STORE);
    }

    private static Reply json(int status, String json) {
        return new Reply(status, Reply.JSON, json.getBytes(StandardCharsets.UTF_8), NO_STORE);
    }
}
