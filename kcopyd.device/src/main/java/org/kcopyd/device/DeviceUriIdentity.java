package org.kcopyd.device;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.URI;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import java.util.TreeMap;

/**
 * What tells two URIs of one device apart from other devices' URIs, as text: the URI normalized
 * (scheme and host in lower case, dot segments removed) and, for the NBD schemes, what libnbd
 * connects to rather than how it is spelt: the export name decoded ({@code /a%62} is {@code /ab};
 * no path is the default export, as {@code /} is), the default port 10809 written out, TLS left
 * aside ({@code nbds} and {@code nbd} to one server are one export; the {@code tls-*} parameters
 * choose how to check the server, not which export), and the {@code socket} parameter as the
 * absolute, normalized path of the socket, with symbolic links resolved when it exists (so
 * {@code socket=a.sock}, {@code socket=/run/./a.sock} and a link to it are one socket), and the
 * host as the address it resolves to (so {@code localhost} and {@code 127.0.0.1} are one server).
 * Two URIs that differ here may still name one export (a server on two addresses or sockets):
 * kcopyd cannot see that. The command line, snapshots (which origin two snapshots
 * share) and mirrors (the same leg twice) compare remote devices by it; it is for comparing, not
 * for recording ({@link DeviceUris#normalized} is what stores and logs record). Stateless; the
 * file system is read only to resolve an existing socket's links.
 */
public final class DeviceUriIdentity {

    private static final int NBD_PORT = 10809;
    private static final Set<String> NBD_SCHEMES = Set.of("nbd", "nbds", "nbd+unix", "nbds+unix");

    private DeviceUriIdentity() {
    }

    /** @return the identity of {@code uri}, an absolute URI of a scheme other than {@code file} */
    public static String of(URI uri) {
        URI n = uri.normalize();
        String scheme = n.getScheme().toLowerCase(Locale.ROOT);
        if (NBD_SCHEMES.contains(scheme)) {
            return nbd(scheme, n);
        }
        String text = n.toString();
        String rest = text.substring(n.getScheme().length());
        String host = n.getHost();
        if (host != null) {
            int at = rest.indexOf(host);
            rest = rest.substring(0, at) + host.toLowerCase(Locale.ROOT) + rest.substring(at + host.length());
        }
        return scheme + rest;
    }

    /**
     * @param uri an absolute URI of a scheme other than {@code file}
     * @return its identity with the {@code socket} parameter as the socket file's device and inode
     *         ({@link FileClaims#identityOf}), so that a hard link to a socket, which {@link #of} tells
     *         apart, is the same socket; null if {@code uri} names no Unix socket, or one that is not there
     */
    public static String ofSocketFile(URI uri) {
        URI n = uri.normalize();
        String scheme = n.getScheme().toLowerCase(Locale.ROOT);
        if (!NBD_SCHEMES.contains(scheme) || !scheme.endsWith("+unix")) {
            return null;
        }
        boolean[] found = {false};
        String identity = nbd(scheme, n, value -> {
            try {
                String file = String.valueOf(FileClaims.identityOf(Path.of(value)));
                found[0] = true;
                return file;
            } catch (IOException | InvalidPathException e) {
                return value;
            }
        });
        return found[0] ? identity : null;
    }

    private static String nbd(String scheme, URI n) {
        return nbd(scheme, n, DeviceUriIdentity::socket);
    }

    private static String nbd(String scheme, URI n, java.util.function.UnaryOperator<String> socketAs) {
        String transport = scheme.replace("nbds", "nbd");
        String path = n.getPath() == null ? "" : n.getPath();
        String export = path.startsWith("/") ? path.substring(1) : path;
        TreeMap<String, String> parameters = new TreeMap<>();
        String query = n.getRawQuery();
        if (query != null) {
            for (String pair : query.split("&", -1)) {
                int eq = pair.indexOf('=');
                String key = decode(eq < 0 ? pair : pair.substring(0, eq));
                String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
                if (key.startsWith("tls-")) {
                    continue;
                }
                parameters.merge(key, key.equals("socket") ? socketAs.apply(value) : value, (a, b) -> a + "&" + b);
            }
        }
        StringBuilder id = new StringBuilder(transport).append("://");
        if (n.getHost() != null) {
            id.append(address(n.getHost())).append(':').append(n.getPort() < 0 ? NBD_PORT : n.getPort());
        }
        id.append('/').append(export);
        parameters.forEach((k, v) -> id.append('\0').append(k).append('=').append(v));
        return id.toString();
    }

    /**
     * @return the address {@code host} resolves to, as the client connects to it (its first address), in
     *         one notation: {@code localhost}, {@code 127.0.0.1}, {@code 2130706433} and {@code [::ffff:127.0.0.1]}
     *         are one server (H49-2: a snapshot's origin and a mirror's leg on one export under two of these
     *         spellings were both accepted, and the resync overwrote the origin under the snapshot); the name in
     *         lower case if it does not resolve (the device cannot be opened then)
     */
    private static String address(String host) {
        String name = host.toLowerCase(Locale.ROOT);
        try {
            return InetAddress.getByName(name).getHostAddress();
        } catch (UnknownHostException | SecurityException e) {
            return name;
        }
    }

    /** @return {@code raw} (a part of a parsed URI, so its escapes are whole) with %XX decoded as UTF-8 */
    private static String decode(String raw) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%' && i + 2 < raw.length()) {
                bytes.write(Integer.parseInt(raw, i + 1, i + 3, 16));
                i += 2;
            } else {
                bytes.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static String socket(String value) {
        try {
            Path path = Path.of(value).toAbsolutePath().normalize();
            try {
                return path.toRealPath().toString();
            } catch (IOException e) {
                return path.toString();
            }
        } catch (InvalidPathException e) {
            return value;
        }
    }
}
