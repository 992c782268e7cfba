package org.kcopyd.runtime.client;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

import com.google.gson.JsonObject;

/**
 * The way to the daemon of one state directory, following CONTROL-API.md: {@code STATE/control.json}
 * says where it listens (loopback only), {@code STATE/control.token} holds the bearer token, and
 * {@code STATE/lock} tells whether a daemon runs: the token is sent only after a shared
 * {@code tryLock} on it has failed (a daemon holds it exclusively), so a {@code control.json} left
 * by a killed daemon never sends the token to whatever took its port since. A lock held by this
 * very JVM counts as held.
 *
 * <p>Each {@link #call} is one connection: connect within {@link #connectTimeoutMillis} (2 s), the
 * whole answer within {@link #responseTimeoutMillis} (60 s; the daemon waits at most 30 s for an
 * operation). Every failure is a {@link ClientException} with one line naming the file, URL or
 * value concerned. Not thread-safe.
 */
final class ControlChannel {

    /** The files of the state directory the client reads. */
    static final String CONTROL_JSON = "control.json";
    static final String TOKEN = "control.token";
    static final String LOCK = "lock";

    private static final Set<PosixFilePermission> OTHERS = Set.of(PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);
    private static final Set<PosixFilePermission> OTHERS_WRITE = Set.of(PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.OTHERS_WRITE);

    private final Path state;
    private final InetAddress address;
    private final int port;
    private final String host;
    private final String token;
    /** Connect timeout, 2 s; tests shorten it. */
    int connectTimeoutMillis = 2000;
    /** Time allowed for a whole response, 60 s; tests shorten it. */
    int responseTimeoutMillis = 60_000;

    private ControlChannel(Path state, InetAddress address, int port, String host, String token) {
        this.state = state;
        this.address = address;
        this.port = port;
        this.host = host;
        this.token = token;
    }

    /**
     * Finds the daemon of a state directory, sending nothing yet.
     *
     * @param state the absolute state directory
     * @throws ClientException {@code no-daemon} when there is no directory, no control.json or no
     *         lock holder; {@code unsafe-state} for a token or control file others may read or change;
     *         {@code connection-failed} for unreadable or malformed files
     */
    static ControlChannel find(Path state) {
        Path control = state.resolve(CONTROL_JSON);
        if (!Files.isDirectory(state) || !Files.exists(control, LinkOption.NOFOLLOW_LINKS) || !locked(state)) {
            throw noDaemon(state);
        }
        requireOwnerOnly(control, OTHERS_WRITE, "changed");
        JsonObject json;
        try {
            json = Json.parseObject(read(control, 64 * 1024));
        } catch (IllegalArgumentException e) {
            throw ClientException.connection(control + " is not the daemon's control file: " + e.getMessage());
        }
        String url = Json.string(json, "url");
        URI uri;
        try {
            uri = new URI(url == null ? "" : url);
        } catch (URISyntaxException e) {
            throw ClientException.connection(control + " names no URL of the daemon: '" + Json.printable(url) + "'");
        }
        String h = uri.getHost();
        if (!"http".equals(uri.getScheme()) || h == null || uri.getPort() < 1 || uri.getPort() > 65535
                || !(h.equals("127.0.0.1") || h.equals("localhost") || h.equals("[::1]"))) {
            throw ClientException.connection(control + " names '" + Json.printable(url) + "'; the daemon listens on "
                    + "http://127.0.0.1:PORT/ (loopback) only, so the token is not sent there");
        }
        Path tokenFile = state.resolve(TOKEN);
        requireOwnerOnly(tokenFile, OTHERS, "read");
        String token = read(tokenFile, 4096).trim();
        if (!token.matches("[0-9a-fA-F]{64}")) {
            throw ClientException.connection("token file " + tokenFile + " does not hold 64 hexadecimal characters");
        }
        InetAddress address = h.equals("[::1]") ? ipv6Loopback() : InetAddress.getLoopbackAddress();
        return new ControlChannel(state, address, uri.getPort(), h + ":" + uri.getPort(), token);
    }

    /**
     * @return the dashboard's address with the token in its fragment
     *         ({@code http://127.0.0.1:PORT/kcopyd/#token=...}): a browser never sends the fragment to the
     *         server; the page reads it and sends the token as {@code Authorization: Bearer}
     */
    String dashboard() {
        return dashboardAddress() + "#token=" + token;
    }

    /**
     * @return the dashboard's address without the token ({@code http://127.0.0.1:PORT/kcopyd/}), for
     *         output that may be kept or passed on (JSON): the token stays in the owner-only token file
     */
    String dashboardAddress() {
        return "http://" + host + "/kcopyd/";
    }

    /**
     * Sends one request.
     *
     * @param method GET, POST, PUT or DELETE
     * @param path   the path under the API, such as {@code /api/v1/status}
     * @param body   the request body, or null
     * @return the answer's object (2xx)
     * @throws ClientException the daemon's error (its code and message), or the channel's failure
     */
    JsonObject call(String method, String path, JsonObject body) {
        HttpExchange.Response response;
        try (Socket socket = new Socket()) {
            try {
                socket.connect(new InetSocketAddress(address, port), connectTimeoutMillis);
            } catch (ConnectException e) {
                throw noDaemon(state);
            } catch (SocketTimeoutException e) {
                throw ClientException.connection("the kcopyd daemon for " + state + " did not accept a connection at "
                        + host + " within " + connectTimeoutMillis + " ms");
            }
            socket.setSoTimeout(responseTimeoutMillis);
            response = HttpExchange.send(socket, host, method, path, token, body == null ? null : Json.line(body));
        } catch (ClientException e) {
            throw e;
        } catch (SocketTimeoutException e) {
            throw ClientException.connection("the kcopyd daemon for " + state + " did not answer " + method + " " + path
                    + " within " + responseTimeoutMillis / 1000.0 + " s");
        } catch (HttpExchange.TruncatedException | java.net.SocketException e) {
            // Closed, reset or a broken pipe: the daemon went away in the middle of the request.
            throw ClientException.connection("the kcopyd daemon for " + state + " closed the connection before answering "
                    + method + " " + path + " (" + e.getMessage() + "); it may have stopped: see its log in " + state);
        } catch (IOException e) {
            throw ClientException.connection("talking to the kcopyd daemon for " + state + " at " + host + " failed: "
                    + e.getMessage());
        }
        JsonObject object = null;
        String problem = null;
        if (!response.body().isBlank()) {
            try {
                object = Json.parseObject(response.body());
            } catch (IllegalArgumentException e) {
                problem = e.getMessage();
            }
        }
        if (response.status() >= 300) {
            throw ClientException.api(response.status(), object, "the daemon answered " + method + " " + path
                    + " with HTTP status " + response.status());
        }
        if (object == null) {
            throw ClientException.connection("the daemon's answer to " + method + " " + path + " is "
                    + (problem == null ? "empty" : problem));
        }
        return object;
    }

    /** @return whether a daemon holds the directory's lock (a shared tryLock fails) */
    private static boolean locked(Path state) {
        Path lock = state.resolve(LOCK);
        try (FileChannel channel = FileChannel.open(lock, StandardOpenOption.READ)) {
            FileLock shared = channel.tryLock(0, Long.MAX_VALUE, true);
            if (shared == null) {
                return true;
            }
            shared.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true;
        } catch (NoSuchFileException e) {
            return false;
        } catch (AccessDeniedException e) {
            throw ClientException.connection("cannot read the lock file " + lock + " to check for a daemon: permission "
                    + "denied (the state directory is its owner's alone)");
        } catch (IOException e) {
            throw ClientException.connection("cannot check the lock file " + lock + " for a daemon: " + e.getMessage());
        }
    }

    /** Refuses a file that others than its owner may read or change, naming it and its mode. */
    private static void requireOwnerOnly(Path file, Set<PosixFilePermission> forbidden, String verb) {
        Set<PosixFilePermission> mode;
        try {
            mode = Files.getPosixFilePermissions(file);
        } catch (NoSuchFileException e) {
            throw ClientException.connection(file + " is missing while a daemon holds " + file.resolveSibling(LOCK)
                    + "; it may be starting or stopping: try again");
        } catch (UnsupportedOperationException | IOException e) {
            throw ClientException.connection("cannot read the permissions of " + file + ": " + e.getMessage());
        }
        for (PosixFilePermission p : forbidden) {
            if (mode.contains(p)) {
                throw new ClientException(ExitCodes.FAILED, "unsafe-state", file + " can be " + verb + " by others (mode "
                        + java.nio.file.attribute.PosixFilePermissions.toString(mode) + "); the daemon writes it for its "
                        + "owner alone (rw-------), so it is not used: restart the daemon, or chmod 600 it if you made it");
            }
        }
    }

    private static String read(Path file, int limit) {
        try {
            long size = Files.size(file);
            if (size > limit) {
                throw ClientException.connection(file + " is " + size + " bytes, more than " + limit);
            }
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw ClientException.connection("cannot read " + file + ": " + e.getMessage());
        }
    }

    private static InetAddress ipv6Loopback() {
        try {
            return InetAddress.getByAddress("localhost", new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static ClientException noDaemon(Path state) {
        return new ClientException(ExitCodes.FAILED, "no-daemon", "no kcopyd daemon for " + state
                + "; start one with kcopyd daemon --state " + state);
    }
}
