package org.kcopyd.web.internal;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * What the dashboard answers to one request, whatever servlet API carries it.
 *
 * @param status      the HTTP status
 * @param contentType the {@code Content-Type}, or null for none (a redirect)
 * @param body        the body (empty for none); not copied
 * @param headers     further headers (security headers, {@code Location}, {@code Allow})
 */
public record Reply(int status, String contentType, byte[] body, Map<String, String> headers) {

    static final String JSON = "application/json; charset=utf-8";
    static final String TEXT = "text/plain; charset=utf-8";

    /** A plain-text answer (errors of the page's own paths). */
    static Reply text(int status, String text, Map<String, String> headers) {
        return new Reply(status, TEXT, (text + "\n").getBytes(StandardCharsets.UTF_8), headers);
    }
}
