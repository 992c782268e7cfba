package org.kcopyd.nbd;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

/**
 * An NBD URI, as {@code doc/uri.md} of the NBD project defines it:
 * {@code nbd://host[:port]/export} (TCP, default port {@value #DEFAULT_PORT}) and
 * {@code nbd+unix:///export?socket=PATH} (Unix domain socket), and their TLS forms {@code nbds}
 * and {@code nbds+unix} ({@link #tls()}). The export name is the path without its leading
 * {@code /}, percent-decoded; an empty name selects the server's default export.
 *
 * <p>TLS query parameters, as libnbd's: {@code tls-certificates=DIR} (the directory holding
 * {@code ca-cert.pem}, the CA the server's certificate must chain to, and optionally
 * {@code client-cert.pem} and {@code client-key.pem}; {@link #tlsCertificates()}) and
 * {@code tls-verify-peer=true} (the only value: the server's certificate is always verified).
 * libnbd's PSK parameters ({@code tls-psk-file}, {@code tls-username}) are refused: only X.509
 * is supported.
 *
 * <p>Refused, with the value and the reason: other schemes, a TCP URI without a host, a Unix URI
 * with a host or without {@code socket}, user information (no authentication is supported), a
 * fragment, unknown query parameters, TLS parameters in an {@code nbd} or {@code nbd+unix} URI,
 * a port outside 1-65535, an export name over 4096 bytes or holding NUL. Immutable and thread-safe.
 */
public final class NbdUri {

    /** The IANA port of NBD, used when a TCP URI names none. */
    public static final int DEFAULT_PORT = 10809;

    private static final int MAX_NAME = 4096;

    private final boolean unix;
    private final boolean tls;
    private final String host;
    private final int port;
    private final Path socket;
    private final String exportName;
    private final Path tlsCertificates;

    private NbdUri(boolean unix, boolean tls, String host, int port, Path socket, String exportName,
                   Path tlsCertificates) {
        this.unix = unix;
        this.tls = tls;
        this.host = host;
        this.port = port;
        this.socket = socket;
        this.exportName = exportName;
        this.tlsCertificates = tlsCertificates;
    }

    /**
     * @param host       a host name or IP address (IPv6 without brackets)
     * @param port       1-65535
     * @param exportName the export ("" = the default export)
     * @return the URI of a TCP export
     */
    public static NbdUri tcp(String host, int port, String exportName) {
        Objects.requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException("NBD host name is empty");
        }
        return new NbdUri(false, false, host, checkPort(port, host + ":" + port), null, checkName(exportName, exportName),
            null);
    }

    /**
     * @param socket     the Unix domain socket's path
     * @param exportName the export ("" = the default export)
     * @return the URI of an export on a Unix domain socket
     */
    public static NbdUri unix(Path socket, String exportName) {
        Objects.requireNonNull(socket, "socket");
        if (socket.toString().isEmpty()) {
            throw new IllegalArgumentException("NBD socket path is empty");
        }
        return new NbdUri(true, false, null, 0, socket, checkName(exportName, exportName), null);
    }

    /**
     * @param certificates the directory holding {@code ca-cert.pem} (libnbd's
     *                     {@code tls-certificates}), or null to verify the server against the
     *                     client's options or the JDK's default trust store
     * @return this URI with TLS: {@code nbds} or {@code nbds+unix}
     */
    public NbdUri withTls(Path certificates) {
        if (certificates != null && certificates.toString().isEmpty()) {
            throw new IllegalArgumentException("NBD TLS certificates directory is empty");
        }
        return new NbdUri(unix, true, host, port, socket, exportName, certificates);
    }

    /**
     * Parses an NBD URI.
     *
     * @param text e.g. {@code nbd://localhost/disk} or {@code nbd+unix:///disk?socket=/run/nbd.sock}
     * @return the parsed URI
     * @throws IllegalArgumentException naming the value and the reason when it is not a usable NBD URI
     */
    public static NbdUri parse(String text) {
        Objects.requireNonNull(text, "text");
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw refuse(text, "it is not a valid URI (" + e.getReason() + " at index " + e.getIndex() + ")");
        }
        String scheme = uri.getScheme();
        if (scheme == null) {
            throw refuse(text, "it has no scheme; expected nbd, nbd+unix, nbds or nbds+unix");
        }
        boolean unix;
        boolean tls;
        switch (scheme.toLowerCase(Locale.ROOT)) {
            case "nbd" -> {
                unix = false;
                tls = false;
            }
            case "nbds" -> {
                unix = false;
                tls = true;
            }
            case "nbd+unix" -> {
                unix = true;
                tls = false;
            }
            case "nbds+unix" -> {
                unix = true;
                tls = true;
            }
            default -> throw refuse(text, "scheme '" + scheme + "' is not nbd, nbd+unix, nbds or nbds+unix");
        }
        if (uri.isOpaque()) {
            throw refuse(text, "it has no '//' after the scheme");
        }
        if (uri.getRawFragment() != null) {
            throw refuse(text, "a fragment ('#" + uri.getRawFragment() + "') has no meaning in an NBD URI");
        }
        if (uri.getRawUserInfo() != null) {
            throw refuse(text, "user information '" + uri.getRawUserInfo() + "' is not supported (no TLS authentication)");
        }
        String rawPath = uri.getRawPath() == null ? "" : uri.getRawPath();
        String exportName = rawPath.isEmpty() ? "" : percentDecode(text, rawPath.substring(1));
        checkName(text, exportName);
        String socket = null;
        String certificates = null;
        String query = uri.getRawQuery();
        if (query != null && !query.isEmpty()) {
            for (String parameter : query.split("&", -1)) {
                int equals = parameter.indexOf('=');
                String key = percentDecode(text, equals < 0 ? parameter : parameter.substring(0, equals));
                String value = equals < 0 ? "" : percentDecode(text, parameter.substring(equals + 1));
                if (key.equals("socket") && unix) {
                    if (socket != null) {
                        throw refuse(text, "the socket parameter is given twice");
                    }
                    socket = value;
                } else if (key.startsWith("tls-") && !tls) {
                    throw refuse(text, "TLS parameter '" + key + "' needs the scheme " + scheme.toLowerCase(Locale.ROOT)
                        .replace("nbd", "nbds"));
                } else if (key.equals("tls-certificates")) {
                    if (certificates != null) {
                        throw refuse(text, "the tls-certificates parameter is given twice");
                    }
                    if (value.isEmpty() || value.indexOf('\0') >= 0) {
                        throw refuse(text, "tls-certificates '" + value + "' is not a directory name");
                    }
                    certificates = value;
                } else if (key.equals("tls-verify-peer")) {
                    if (!value.equals("true")) {
                        throw refuse(text, "tls-verify-peer=" + value + " is not supported: the server's certificate"
                            + " is always verified");
                    }
                } else if (key.startsWith("tls-")) {
                    throw refuse(text, "TLS parameter '" + key + "' is not supported (X.509 certificates only:"
                        + " tls-certificates=DIR)");
                } else {
                    throw refuse(text, "query parameter '" + key + "' is not understood"
                        + (unix ? " (only socket" + (tls ? " and tls-certificates are)" : " is)")
                    : tls ? " (only tls-certificates is)" : " (a TCP URI takes none)"));
                }
            }
        }
        if (unix) {
            if (uri.getRawAuthority() != null) {
                throw refuse(text, "a Unix socket URI has no host; write " + scheme + ":///EXPORT?socket=PATH");
            }
            if (socket == null || socket.isEmpty()) {
                throw refuse(text, "a Unix socket URI needs ?socket=PATH");
            }
            if (socket.indexOf('\0') >= 0) {
                throw refuse(text, "abstract or NUL-holding socket names are not supported");
            }
            return new NbdUri(true, tls, null, 0, Path.of(socket), exportName,
                certificates == null ? null : Path.of(certificates));
        }
        String host = uri.getHost();
        if (host == null || host.isEmpty()) {
            throw refuse(text, uri.getRawAuthority() == null ? "a TCP URI needs a host"
                : "host and port '" + uri.getRawAuthority() + "' are not a valid host[:port]");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = uri.getPort() == -1 ? DEFAULT_PORT : checkPort(uri.getPort(), text);
        return new NbdUri(false, tls, host, port, null, exportName, certificates == null ? null : Path.of(certificates));
    }

    private static IllegalArgumentException refuse(String text, String reason) {
        return new IllegalArgumentException("NBD URI '" + text + "' refused: " + reason);
    }

    private static int checkPort(int port, String text) {
        if (port < 1 || port > 65535) {
            throw refuse(text, "port " + port + " is outside 1-65535");
        }
        return port;
    }

    private static String checkName(String text, String name) {
        Objects.requireNonNull(name, "exportName");
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_NAME) {
            throw refuse(text, "export name of " + bytes + " bytes is longer than the limit " + MAX_NAME);
        }
        if (name.indexOf('\0') >= 0) {
            throw refuse(text, "export name contains NUL");
        }
        return name;
    }

    private static String percentDecode(String text, String raw) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c != '%') {
                byte[] bytes = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                out.write(bytes, 0, bytes.length);
                continue;
            }
            if (i + 2 >= raw.length()) {
                throw refuse(text, "'%' near the end of '" + raw + "' is not followed by two hex digits");
            }
            int hi = Character.digit(raw.charAt(i + 1), 16);
            int lo = Character.digit(raw.charAt(i + 2), 16);
            if (hi < 0 || lo < 0) {
                throw refuse(text, "'%" + raw.charAt(i + 1) + raw.charAt(i + 2) + "' is not a percent escape");
            }
            out.write(hi << 4 | lo);
            i += 2;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** @return true for {@code nbd+unix} and {@code nbds+unix} */
    public boolean isUnix() {
        return unix;
    }

    /** @return true for {@code nbds} and {@code nbds+unix}, which need TLS */
    public boolean tls() {
        return tls;
    }

    /** @return the host of a TCP URI, or null for a Unix socket URI */
    public String host() {
        return host;
    }

    /** @return the port of a TCP URI, or 0 for a Unix socket URI */
    public int port() {
        return port;
    }

    /** @return the socket path of a Unix socket URI, or null for a TCP URI */
    public Path socket() {
        return socket;
    }

    /**
     * @return the {@code tls-certificates} directory (holding {@code ca-cert.pem}), or null when
     *         the URI names none
     */
    public Path tlsCertificates() {
        return tlsCertificates;
    }

    /** @return the export name; "" is the server's default export */
    public String exportName() {
        return exportName;
    }

    /** @return the URI in its canonical text form; parsing it gives an equal URI */
    @Override
    public String toString() {
        String scheme = (tls ? "nbds" : "nbd") + (unix ? "+unix" : "");
        String path = "/" + encode(exportName, false);
        String certificates = tlsCertificates == null ? "" : "tls-certificates="
            + encode(tlsCertificates.toString(), true);
        if (unix) {
            return scheme + "://" + path + "?socket=" + encode(socket.toString(), true)
                + (certificates.isEmpty() ? "" : "&" + certificates);
        }
        String shownHost = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        return scheme + "://" + shownHost + (port == DEFAULT_PORT ? "" : ":" + port) + path
            + (certificates.isEmpty() ? "" : "?" + certificates);
    }

    private static String encode(String value, boolean query) {
        StringBuilder out = new StringBuilder();
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            boolean plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                || "-._~/".indexOf(c) >= 0 || !query && "!$'()*+,;=:@".indexOf(c) >= 0;
            if (plain) {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                    .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return out.toString();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof NbdUri that && unix == that.unix && tls == that.tls && port == that.port
            && Objects.equals(host, that.host) && Objects.equals(socket, that.socket)
            && exportName.equals(that.exportName) && Objects.equals(tlsCertificates, that.tlsCertificates);
    }

    @Override
    public int hashCode() {
        return Objects.hash(unix, tls, host, port, socket, exportName, tlsCertificates);
    }
}
