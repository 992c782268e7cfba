package org.kcopyd.runtime.client;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * One HTTP/1.1 request and its response over a connected socket, written by hand: the JDK's
 * HttpClient costs half a second of start-up, this a few classes. The request has a
 * {@code Content-Length} body (or none) and {@code Connection: close}; the response may have a
 * {@code Content-Length} body, a chunked one, or one that ends with the connection. Memory is
 * bounded: a status or header line of more than {@value #MAX_LINE} bytes, more than
 * {@value #MAX_HEADERS} header lines or a body of more than {@value #MAX_BODY} bytes is refused
 * with an {@link IOException} naming the limit. Not thread-safe: one exchange per socket.
 */
final class HttpExchange {

    /** The longest status or header line accepted, in bytes. */
    static final int MAX_LINE = 8192;
    /** The most header lines accepted in one response. */
    static final int MAX_HEADERS = 100;
    /** The largest response body accepted, in bytes (16 MiB). */
    static final int MAX_BODY = 16 << 20;

    /** A response: its status and its body as text (UTF-8). */
    record Response(int status, String body) {
    }

    /** The response ended before it was complete: the peer closed the connection. */
    static final class TruncatedException extends EOFException {
        private static final long serialVersionUID = 1L;

        TruncatedException(String message) {
            super(message);
        }
    }

    private HttpExchange() {
    }

    /**
     * Sends one request and reads its response.
     *
     * @param socket  connected, with its read timeout set
     * @param host    the {@code Host} header's value ({@code 127.0.0.1:PORT})
     * @param method  GET, POST, PUT or DELETE
     * @param target  the path, such as {@code /api/v1/status}
     * @param token   the bearer token
     * @param body    the JSON body, or null for none
     * @return the final (non-1xx) response
     * @throws TruncatedException when the connection ends before the response does
     * @throws IOException        on other I/O errors, timeouts included, and responses past the limits
     */
    static Response send(Socket socket, String host, String method, String target, String token, String body)
            throws IOException {
        byte[] content = body == null ? null : body.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder();
        head.append(method).append(' ').append(target).append(" HTTP/1.1\r\n");
        head.append("Host: ").append(host).append("\r\n");
        head.append("Authorization: Bearer ").append(token).append("\r\n");
        head.append("Accept: application/json\r\n");
        head.append("Connection: close\r\n");
        if (content != null) {
            head.append("Content-Type: application/json; charset=utf-8\r\n");
        }
        if (content != null || !method.equals("GET") && !method.equals("DELETE")) {
            head.append("Content-Length: ").append(content == null ? 0 : content.length).append("\r\n");
        }
        head.append("\r\n");
        OutputStream out = socket.getOutputStream();
        out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (content != null) {
            out.write(content);
        }
        out.flush();
        return read(new BufferedInputStream(socket.getInputStream()), method.equals("HEAD"));
    }

    /** Reads a response, skipping interim (1xx) ones. */
    static Response read(InputStream in, boolean noBody) throws IOException {
        while (true) {
            String statusLine = line(in);
            if (statusLine == null) {
                throw new TruncatedException("the connection closed before a response");
            }
            String[] parts = statusLine.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.") || !parts[1].matches("[1-5][0-9][0-9]")) {
                throw new IOException("not an HTTP/1.1 status line: '" + Json.printable(statusLine) + "'");
            }
            int status = Integer.parseInt(parts[1]);
            long length = -1;
            boolean chunked = false;
            int headers = 0;
            for (String h = line(in); ; h = line(in)) {
                if (h == null) {
                    throw new TruncatedException("the connection closed within the response's headers");
                }
                if (h.isEmpty()) {
                    break;
                }
                if (++headers > MAX_HEADERS) {
                    throw new IOException("the response has more than " + MAX_HEADERS + " header lines");
                }
                int colon = h.indexOf(':');
                if (colon <= 0) {
                    continue;
                }
                String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = h.substring(colon + 1).trim();
                if (name.equals("content-length")) {
                    if (!value.matches("[0-9]{1,18}")) {
                        throw new IOException("bad Content-Length '" + Json.printable(value) + "'");
                    }
                    length = Long.parseLong(value);
                } else if (name.equals("transfer-encoding")) {
                    chunked = value.toLowerCase(Locale.ROOT).endsWith("chunked");
                }
            }
            if (status < 200) {
                continue;
            }
            if (noBody || status == 204 || status == 304) {
                return new Response(status, "");
            }
            byte[] body = chunked ? chunked(in) : length >= 0 ? exactly(in, length) : untilEnd(in);
            return new Response(status, new String(body, StandardCharsets.UTF_8));
        }
    }

    private static byte[] chunked(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String sizeLine = line(in);
            if (sizeLine == null) {
                throw new TruncatedException("the connection closed within a chunked body");
            }
            int semicolon = sizeLine.indexOf(';');
            String hex = (semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).trim();
            if (!hex.matches("[0-9a-fA-F]{1,8}")) {
                throw new IOException("bad chunk size '" + Json.printable(sizeLine) + "'");
            }
            long size = Long.parseLong(hex, 16);
            if (size == 0) {
                // Trailers, up to the empty line.
                for (String t = line(in); t == null || !t.isEmpty(); t = line(in)) {
                    if (t == null) {
                        throw new TruncatedException("the connection closed within a chunked body's trailer");
                    }
                }
                return body.toByteArray();
            }
            if (body.size() + size > MAX_BODY) {
                throw new IOException("the response body is larger than " + MAX_BODY + " bytes");
            }
            body.write(exactly(in, size));
            String end = line(in);
            if (end == null) {
                throw new TruncatedException("the connection closed within a chunked body");
            }
            if (!end.isEmpty()) {
                throw new IOException("a chunk is not followed by CRLF");
            }
        }
    }

    private static byte[] exactly(InputStream in, long length) throws IOException {
        if (length > MAX_BODY) {
            throw new IOException("the response body is " + length + " bytes, more than " + MAX_BODY);
        }
        byte[] b = in.readNBytes((int) length);
        if (b.length < length) {
            throw new TruncatedException("the connection closed after " + b.length + " of the response's " + length
                    + " bytes");
        }
        return b;
    }

    private static byte[] untilEnd(InputStream in) throws IOException {
        byte[] b = in.readNBytes(MAX_BODY + 1);
        if (b.length > MAX_BODY) {
            throw new IOException("the response body is larger than " + MAX_BODY + " bytes");
        }
        return b;
    }

    /** @return a line without its CRLF (or LF), or null at the end of the stream before any byte */
    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        while (true) {
            int c = in.read();
            if (c < 0) {
                if (b.size() == 0) {
                    return null;
                }
                throw new TruncatedException("the connection closed within a line");
            }
            if (c == '\n') {
                byte[] bytes = b.toByteArray();
                int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
            }
            if (b.size() >= MAX_LINE) {
                throw new IOException("a response line is longer than " + MAX_LINE + " bytes");
            }
            b.write(c);
        }
    }
}
