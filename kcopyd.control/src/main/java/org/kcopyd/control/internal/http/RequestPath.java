package org.kcopyd.control.internal.http;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.kcopyd.control.internal.service.Text;

/**
 * A request's path below {@code /api/v1} as it was sent (percent-encoded), made into the path the
 * routes match: each segment decoded on its own, as UTF-8, so that an encoded slash stays inside its
 * segment instead of making another. A segment that decodes to a slash, a backslash or a control
 * character, or to {@code .} or {@code ..}, is refused (400): no name the API accepts has one.
 *
 * <p>Not the servlet container's decoded path: it turns {@code %2F} into a separator and resolves
 * dot segments, so {@code DELETE /api/v1/snapshots/..%2Fexports%2Fex1} removed export ex1 (H32), and a
 * client that encodes a name it was given could be steered to another endpoint. Stateless.
 */
final class RequestPath {

    private RequestPath() {
    }

    /**
     * @param raw the path below {@code /api/v1} as sent, e.g. {@code /snapshots/s1}; null when the
     *            request's path did not start with {@code /api/v1} written plainly
     * @return the decoded path, its segments joined by {@code /}
     * @throws ApiError 400 naming the segment, for a path that cannot be decoded or has a segment refused above
     */
    static String decode(String raw) {
        if (raw == null) {
            throw ApiError.badRequest("the path must start with /api/v1 written plainly, without percent-encoding");
        }
        if (raw.indexOf('%') < 0 && raw.indexOf('\\') < 0 && !hasDotSegment(raw)) {
            return raw;
        }
        List<String> decoded = new ArrayList<>();
        for (String segment : raw.split("/", -1)) {
            String s = segment(segment);
            if (s.indexOf('/') >= 0 || s.indexOf('\\') >= 0 || s.equals(".") || s.equals("..")
                    || s.chars().anyMatch(Character::isISOControl)) {
                throw ApiError.badRequest("the path segment '" + Text.printable(segment) + "' is not allowed: a "
                        + "segment may not be . or .. nor hold a slash, a backslash or a control character, encoded or not");
            }
            decoded.add(s);
        }
        return String.join("/", decoded);
    }

    private static boolean hasDotSegment(String raw) {
        for (String segment : raw.split("/", -1)) {
            if (segment.equals(".") || segment.equals("..")) {
                return true;
            }
        }
        return false;
    }

    private static String segment(String segment) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(segment.length());
        for (int i = 0; i < segment.length(); i++) {
            char c = segment.charAt(i);
            if (c != '%') {
                bytes.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
                continue;
            }
            int hi = i + 2 < segment.length() ? Character.digit(segment.charAt(i + 1), 16) : -1;
            int lo = hi >= 0 ? Character.digit(segment.charAt(i + 2), 16) : -1;
            if (lo < 0) {
                throw ApiError.badRequest("the path segment '" + Text.printable(segment) + "' has a '%' that is "
                        + "not followed by two hexadecimal digits");
            }
            bytes.write(hi << 4 | lo);
            i += 2;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes.toByteArray()))
                    .toString();
        } catch (CharacterCodingException e) {
            throw ApiError.badRequest("the path segment '" + Text.printable(segment) + "' is not UTF-8 once decoded");
        }
    }
}
