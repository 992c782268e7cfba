package org.kcopyd.daemon.internal;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The two files through which clients find the control API (CONTROL-API.md, "Where it is and who may
 * use it"): {@code control.token}, one line of 64 hexadecimal characters (256 random bits from
 * {@link SecureRandom}, new at every start), and {@code control.json}, the API's URL, the daemon's pid
 * and version. Both owner-only and written atomically ({@link AtomicFiles}). Not thread-safe: one
 * owner calls it.
 */
public final class ControlFiles {

    /** The token file's name in the state directory. */
    public static final String TOKEN = "control.token";
    /** The address file's name in the state directory. */
    public static final String ADDRESS = "control.json";
    private static final int TOKEN_BYTES = 32;

    private final Path stateDirectory;

    /**
     * @param stateDirectory the daemon's (checked, locked) state directory
     */
    public ControlFiles(Path stateDirectory) {
        this.stateDirectory = stateDirectory;
    }

    /** The token file. */
    public Path tokenFile() {
        return stateDirectory.resolve(TOKEN);
    }

    /** The address file. */
    public Path addressFile() {
        return stateDirectory.resolve(ADDRESS);
    }

    /**
     * Removes an address file left by a daemon that was killed, and writes a new token.
     *
     * @throws IOException naming the file that could not be written or removed
     */
    public void newToken() throws IOException {
        AtomicFiles.delete(addressFile());
        byte[] token = new byte[TOKEN_BYTES];
        new SecureRandom().nextBytes(token);
        AtomicFiles.write(tokenFile(), (HexFormat.of().formatHex(token) + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * Writes the address file.
     *
     * @param url     the API's base URL, {@code http://} on a loopback address
     * @param pid     this process's id
     * @param version the daemon's version
     * @throws IllegalArgumentException if the URL is not HTTP on 127.0.0.1, ::1 or localhost (naming it)
     * @throws IOException              if the file cannot be written
     */
    public void publish(String url, long pid, String version) throws IOException {
        checkLoopback(url);
        String json = "{\"url\": " + quote(url) + ", \"pid\": " + pid + ", \"version\": " + quote(version) + "}\n";
        AtomicFiles.write(addressFile(), json.getBytes(StandardCharsets.UTF_8));
    }

    /** Removes the address file (clean stop, or the API went away). */
    public void withdraw() throws IOException {
        AtomicFiles.delete(addressFile());
    }

    static void checkLoopback(String url) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("the control URL '" + url + "' is not a URI: " + e.getReason(), e);
        }
        String host = uri.getHost();
        boolean loopback = "127.0.0.1".equals(host) || "localhost".equals(host) || "[::1]".equals(host);
        if (!"http".equals(uri.getScheme()) || !loopback || uri.getPort() <= 0) {
            throw new IllegalArgumentException("the control URL '" + url
                    + "' is not http://127.0.0.1:PORT/ (the control API listens on loopback only)");
        }
    }

    /** A JSON string literal. */
    static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
