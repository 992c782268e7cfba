package org.kcopyd.control;

import java.io.InputStream;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The control API of {@code CONTROL-API.md} as a service: a request's method, path below
 * {@code /api/v1} and body in, its status and JSON document out, exactly as the daemon's HTTP API
 * answers them (the same code answers both). It checks no token and no {@code Host}: the caller has
 * decided who may ask (the Felix Web Console's plugin, behind the console's own authentication).
 * Registered by kcopyd.control whenever its {@link KcopydControl} service runs, with or without HTTP.
 * Thread-safe.
 */
@ProviderType
public interface ControlApi {

    /**
     * Answers one request; never throws (a failure is a {@code failed} answer with status 500).
     *
     * @param method        the HTTP method ({@code GET}, {@code POST}, {@code PUT}, {@code DELETE})
     * @param path          the path below {@code /api/v1}, such as {@code /snapshots/s1}; percent-encoding
     *                      is decoded segment by segment, and a segment that is {@code .} or {@code ..} or
     *                      holds a slash, a backslash or a control character is {@code bad-request}, as over
     *                      HTTP
     * @param body          the request body (read at most up to the API's body limit), or null for none
     * @param contentLength the body's declared length in bytes, or -1 when not declared
     * @return the answer
     */
    Answer answer(String method, String path, InputStream body, long contentLength);

    /**
     * An answer: an HTTP status and a JSON object ({@code application/json; charset=utf-8}).
     *
     * @param status the HTTP status
     * @param json   the body, a JSON object: the resource, or {@code {"error": {"code", "message"}}}
     * @param allow  for 405, the methods the path allows (an {@code Allow} header), else null
     */
    record Answer(int status, String json, String allow) {
    }
}
