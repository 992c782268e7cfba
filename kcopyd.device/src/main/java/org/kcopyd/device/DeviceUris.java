package org.kcopyd.device;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * What every device URI must be before any provider sees it, what a {@code file:} URI names, and
 * how configurations tell a device URI from a path ({@link #looksLikeUri}) and record it
 * ({@link #normalized}). Stateless and thread-safe.
 */
public final class DeviceUris {

    /** The scheme the opener serves itself: a file or block device. */
    public static final String FILE = "file";

    /** A URI scheme as RFC 3986 spells it. */
    private static final Pattern SCHEME = Pattern.compile("[a-zA-Z][a-zA-Z0-9+.-]*");

    /** A value that starts like a URI with an authority: the command line's and configurations' rule. */
    private static final Pattern LOOKS_LIKE_URI = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]*://");

    private DeviceUris() {
    }

    /**
     * @param value a configured device: a path or a URI
     * @return whether it names a device by URI ({@code SCHEME://...}) rather than by path
     */
    public static boolean looksLikeUri(String value) {
        return value != null && LOOKS_LIKE_URI.matcher(value).find();
    }

    /**
     * The command line's rule for a device named by URI: the text after the last {@code ':'} past
     * the host and port is a region ({@code nbd://host:10809/export:2048+8}), and a URI whose own
     * text has a {@code ':'} there is ended with one more ({@code nbd://host/a:b:}).
     *
     * @param value a value that {@linkplain #looksLikeUri looks like a URI}
     * @return the index of that last {@code ':'}, or -1 if there is none past the host and port
     * @since 1.13
     */
    public static int regionColon(String value) {
        java.util.regex.Matcher prefix = LOOKS_LIKE_URI.matcher(value);
        if (!prefix.find()) {
            return -1;
        }
        int colon = value.lastIndexOf(':');
        for (int i = prefix.end(); i < value.length() && i <= colon; i++) {
            char c = value.charAt(i);
            if (c == '/' || c == '?' || c == '#') {
                return colon;
            }
        }
        return -1;
    }

    /**
     * @param value a value that {@linkplain #looksLikeUri looks like a URI}
     * @return it parsed, its scheme checked ({@link #scheme})
     * @throws IllegalArgumentException naming the value and why it is not a device URI
     */
    public static URI parse(String value) {
        URI uri;
        try {
            uri = new URI(value);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("'" + value + "' is not a valid URI: " + e.getReason() + " at index "
                    + e.getIndex());
        }
        scheme(uri);
        return uri;
    }

    /**
     * @param uri a device URI
     * @return the URI with its scheme and host in lower case and its dot segments removed: two
     *         spellings of one URI give one string; user information, port, path, query and
     *         fragment are kept as written. Snapshots and mirrors record a remote device by it.
     */
    public static String normalized(URI uri) {
        URI n = uri.normalize();
        String text = n.toString();
        String rest = text.substring(n.getScheme().length());
        String authority = n.getRawAuthority();
        if (authority != null && n.getHost() != null && rest.startsWith("://" + authority)) {
            String after = rest.substring(3 + authority.length());
            rest = "://" + (n.getRawUserInfo() == null ? "" : n.getRawUserInfo() + "@")
                    + n.getHost().toLowerCase(Locale.ROOT) + (n.getPort() >= 0 ? ":" + n.getPort() : "") + after;
        }
        return n.getScheme().toLowerCase(Locale.ROOT) + rest;
    }

    /**
     * @param uri a device URI
     * @return its scheme in lower case
     * @throws IllegalArgumentException naming the URI if it has no scheme or is opaque
     *                                  ({@code scheme:rest} with neither {@code //} nor a path)
     */
    public static String scheme(URI uri) {
        if (uri == null) {
            throw new IllegalArgumentException("device URI is null");
        }
        if (uri.getScheme() == null) {
            throw new IllegalArgumentException("'" + uri + "' is not a device URI: it has no scheme (such as "
                    + "file:///path or nbd://host/export)");
        }
        if (uri.isOpaque()) {
            throw new IllegalArgumentException("'" + uri + "' is not a device URI: after '" + uri.getScheme()
                    + ":' comes neither '//' nor a path");
        }
        return lowerCase(uri.getScheme());
    }

    /**
     * @param scheme a scheme as a provider declares it
     * @return it in lower case
     * @throws IllegalArgumentException naming it if it is not a URI scheme (letters, digits, '+', '-', '.'
     *                                  after a first letter)
     */
    public static String lowerCase(String scheme) {
        if (scheme == null || !SCHEME.matcher(scheme).matches()) {
            throw new IllegalArgumentException("'" + scheme + "' is not a URI scheme (a letter, then letters, digits, "
                    + "'+', '-' or '.')");
        }
        return scheme.toLowerCase(Locale.ROOT);
    }

    /**
     * @param uri a {@code file:} URI: {@code file:///path}, {@code file:/path} or {@code file://localhost/path}
     * @return the file it names
     * @throws IllegalArgumentException naming the URI if it is not a {@code file:} URI, names another
     *                                  host, carries a query or fragment, or has no absolute path
     */
    public static Path path(URI uri) {
        if (!FILE.equals(scheme(uri))) {
            throw new IllegalArgumentException("'" + uri + "' is not a file: URI");
        }
        String host = uri.getAuthority();
        if (host != null && !host.isEmpty() && !host.equalsIgnoreCase("localhost")) {
            throw new IllegalArgumentException("'" + uri + "' names a file on host '" + host
                    + "'; a file: URI names a local file (file:///path)");
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new IllegalArgumentException("'" + uri + "' has a " + (uri.getRawQuery() != null ? "query" : "fragment")
                    + "; a file: URI names a file by its path alone");
        }
        String path = uri.getPath();
        if (path == null || !path.startsWith("/")) {
            throw new IllegalArgumentException("'" + uri + "' has no absolute path (file:///path)");
        }
        return Path.of(path);
    }
}
