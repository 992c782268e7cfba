package org.kcopyd.runtime.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Finding and talking to the daemon: no daemon in all its forms, the token's and control file's
 * checks, a daemon that dies mid-request or does not answer, and the API's errors mapped to exit
 * codes, in words and as JSON.
 */
class ThinClientChannelTest {

    @TempDir
    Path dir;

    private String noDaemon(Path state) {
        return "kcopyd: no kcopyd daemon for " + state + "; start one with kcopyd daemon --state " + state + "\n";
    }

    @Test
    void noStateDirectoryOrNoControlFileIsNoDaemon() throws IOException {
        Path state = dir.resolve("state");
        FakeDaemon.Run r = FakeDaemon.client(dir, Map.of(), "snapshot", "list", "--state", "state");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo(noDaemon(state));
        assertThat(r.out()).isEmpty();

        Files.createDirectories(state);
        FakeDaemon.Run env = FakeDaemon.client(dir, Map.of("KCOPYD_STATE", state.toString()), "status");
        assertThat(env.exit()).isEqualTo(1);
        assertThat(env.err()).isEqualTo(noDaemon(state));
    }

    @Test
    void staleControlFileWithAFreeLockIsNoDaemonAndNothingConnects() throws IOException {
        Path state = dir.resolve("state");
        Files.createDirectories(state);
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            listener.configureBlocking(false);
            int port = ((InetSocketAddress) listener.getLocalAddress()).getPort();
            Files.writeString(state.resolve("control.json"), "{\"url\": \"http://127.0.0.1:" + port + "/\"}");
            Files.setPosixFilePermissions(state.resolve("control.json"), PosixFilePermissions.fromString("rw-------"));
            Files.writeString(state.resolve("control.token"), FakeDaemon.TOKEN);
            Files.setPosixFilePermissions(state.resolve("control.token"), PosixFilePermissions.fromString("rw-------"));
            Files.createFile(state.resolve("lock"));

            FakeDaemon.Run r = FakeDaemon.client(dir, Map.of(), "snapshot", "list", "--state", state.toString());
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).isEqualTo(noDaemon(state));
            // A connection the client had made would wait in the listener's backlog.
            assertThat(listener.accept()).isNull();

            Files.delete(state.resolve("lock"));
            assertThat(FakeDaemon.client(dir, Map.of(), "status", "--state", state.toString()).err())
                    .isEqualTo(noDaemon(state));
            assertThat(listener.accept()).isNull();
        }
    }

    @Test
    void connectionRefusedIsNoDaemon() throws IOException {
        try (FakeDaemon daemon = new FakeDaemon(dir.resolve("state"))) {
            int port;
            try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = free.getLocalPort();
            }
            Files.writeString(daemon.state().resolve("control.json"), "{\"url\": \"http://127.0.0.1:" + port + "/\"}");
            FakeDaemon.Run r = daemon.run(dir, "export", "list");
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).isEqualTo(noDaemon(daemon.state()));
        }
    }

    @Test
    void tokenReadableByOthersIsRefusedNamingItAndNotSent() throws IOException {
        try (FakeDaemon daemon = new FakeDaemon(dir.resolve("state"))) {
            Path token = daemon.state().resolve("control.token");
            Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-r--r--"));
            FakeDaemon.Run r = daemon.run(dir, "status");
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).isEqualTo("kcopyd: " + token + " can be read by others (mode rw-r--r--); the daemon "
                    + "writes it for its owner alone (rw-------), so it is not used: restart the daemon, or chmod 600 it "
                    + "if you made it\n");
            FakeDaemon.Run json = daemon.run(dir, "status", "--json");
            assertThat(json.out()).startsWith("{\"error\":{\"code\":\"unsafe-state\",\"message\":\"" + token);
            assertThat(json.err()).isEmpty();

            Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
            Files.setPosixFilePermissions(daemon.state().resolve("control.json"),
                    PosixFilePermissions.fromString("rw-rw-rw-"));
            assertThat(daemon.run(dir, "status").err()).startsWith("kcopyd: " + daemon.state().resolve("control.json")
                    + " can be changed by others (mode rw-rw-rw-)");
            assertThat(daemon.requests).isEmpty();
        }
    }

    @Test
    void missingOrMalformedTokenAndNonLoopbackUrlsAreRefused() throws IOException {
        try (FakeDaemon daemon = new FakeDaemon(dir.resolve("state"))) {
            Path token = daemon.state().resolve("control.token");
            Files.writeString(token, "short\n");
            assertThat(daemon.run(dir, "status").err()).isEqualTo("kcopyd: token file " + token + " does not hold 64 "
                    + "hexadecimal characters\n");
            Files.delete(token);
            FakeDaemon.Run missing = daemon.run(dir, "status");
            assertThat(missing.exit()).isEqualTo(1);
            assertThat(missing.err()).startsWith("kcopyd: " + token + " is missing while a daemon holds");

            Files.writeString(token, FakeDaemon.TOKEN);
            Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
            Files.writeString(daemon.state().resolve("control.json"), "{\"url\": \"http://192.0.2.1:" + daemon.port()
                    + "/\"}");
            assertThat(daemon.run(dir, "status").err()).isEqualTo("kcopyd: " + daemon.state().resolve("control.json")
                    + " names 'http://192.0.2.1:" + daemon.port() + "/'; the daemon listens on http://127.0.0.1:PORT/ "
                    + "(loopback) only, so the token is not sent there\n");
            assertThat(daemon.requests).isEmpty();
        }
    }

    @Test
    void apiErrorsMapToExitCodesInWordsAndJson() throws IOException {
        try (FakeDaemon daemon = new FakeDaemon(dir.resolve("state"))) {
            daemon.error("GET", "/api/v1/snapshots/s9", 404, "not-found", "no snapshot named s9");
            FakeDaemon.Run r = daemon.run(dir, "snapshot", "remove", "s9");
            assertThat(r.exit()).isEqualTo(2);
            assertThat(r.err()).isEqualTo("kcopyd snapshot remove: no snapshot named s9\n");
            FakeDaemon.Run json = daemon.run(dir, "snapshot", "remove", "s9", "--json");
            assertThat(json.exit()).isEqualTo(2);
            assertThat(json.out()).isEqualTo("{\"error\":{\"code\":\"not-found\",\"message\":\"no snapshot named s9\"}}\n");
            assertThat(json.err()).isEmpty();

            daemon.error("POST", "/api/v1/exports", 409, "conflict", "export vm exists already");
            assertThat(daemon.run(dir, "export", "add", "vm", "/a", "--socket", "/s").exit()).isEqualTo(1);
            daemon.error("POST", "/api/v1/snapshots", 400, "bad-request", "chunkSectors 3 is not a power of two");
            assertThat(daemon.run(dir, "snapshot", "create", "s", "/a", "/c").exit()).isEqualTo(2);
            daemon.error("GET", "/api/v1/exports", 503, "unavailable", "org.kcopyd.nbd is not running");
            FakeDaemon.Run unavailable = daemon.run(dir, "export", "list");
            assertThat(unavailable.exit()).isEqualTo(1);
            assertThat(unavailable.err()).isEqualTo("kcopyd export list: org.kcopyd.nbd is not running\n");
            daemon.error("GET", "/api/v1/mirrors", 500, "failed", "EIO reading /w/m1.log");
            assertThat(daemon.run(dir, "mirror", "status").exit()).isEqualTo(1);
            daemon.answer("GET", "/api/v1/jobs", 401, "");
            FakeDaemon.Run unauthorized = daemon.run(dir, "jobs");
            assertThat(unauthorized.exit()).isEqualTo(1);
            assertThat(unauthorized.err()).isEqualTo("kcopyd jobs: the daemon answered GET /api/v1/jobs with HTTP status "
                    + "401\n");
        }
    }

    /**
     * Hostile review: a request body larger than the daemon takes was a 400; it is 413 {@code too-large}, naming
     * the limit. The client shows the daemon's message and exits 2 (the arguments made the request too large;
     * nothing was done); a 413 without the API's error object says the status in words, and is exit 2 too.
     */
    @Test
    void aRequestTooLargeIsExitTwoWithTheDaemonsMessage() throws IOException {
        try (FakeDaemon daemon = new FakeDaemon(dir.resolve("state"))) {
            String message = "the request body (70000 bytes) is larger than the limit of 65536 bytes; nothing was done";
            daemon.error("POST", "/api/v1/jobs", 413, "too-large", message);
            FakeDaemon.Run r = daemon.run(dir, "zero", "--daemon", "/w/b.img");
            assertThat(r.exit()).isEqualTo(2);
            assertThat(r.err()).isEqualTo("kcopyd zero: " + message + "\n");
            FakeDaemon.Run json = daemon.run(dir, "zero", "--daemon", "/w/b.img", "--json");
            assertThat(json.exit()).isEqualTo(2);
            assertThat(json.out()).isEqualTo("{\"error\":{\"code\":\"too-large\",\"message\":\"" + message + "\"}}\n");

            daemon.forget("POST", "/api/v1/jobs").answer("POST", "/api/v1/jobs", 413, "");
            FakeDaemon.Run bare = daemon.run(dir, "zero", "--daemon", "/w/b.img", "--json");
            assertThat(bare.exit()).isEqualTo(2);
            assertThat(bare.out()).isEqualTo("{\"error\":{\"code\":\"too-large\",\"message\":\"the daemon answered "
                    + "POST /api/v1/jobs with HTTP status 413 (Payload Too Large): the request is larger than the daemon "
                    + "takes; nothing was done\"}}\n");
        }
    }

    @Test
    void aDaemonThatClosesMidRequestIsExitOneSayingSo() throws Exception {
        try (FakeDaemon daemon = new FakeDaemon(dir.resolve("state"));
             ServerSocket dying = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Files.writeString(daemon.state().resolve("control.json"), "{\"url\": \"http://127.0.0.1:"
                    + dying.getLocalPort() + "/\"}");
            CompletableFuture<String> seen = CompletableFuture.supplyAsync(() -> {
                try (Socket s = dying.accept()) {
                    // The whole request is read first: closing with unread bytes would reset the connection.
                    BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
                            StandardCharsets.ISO_8859_1));
                    String first = in.readLine();
                    for (String line = first; line != null && !line.isEmpty(); line = in.readLine()) {
                        // headers
                    }
                    s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"sn".getBytes(
                            StandardCharsets.ISO_8859_1));
                    return first;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            FakeDaemon.Run r = daemon.run(dir, "snapshot", "list");
            assertThat(seen.get(10, TimeUnit.SECONDS)).isEqualTo("GET /api/v1/snapshots HTTP/1.1");
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).isEqualTo("kcopyd: the kcopyd daemon for " + daemon.state() + " closed the connection "
                    + "before answering GET /api/v1/snapshots (the connection closed after 4 of the response's 100 bytes); "
                    + "it may have stopped: see its log in " + daemon.state() + "\n");
        }
    }

    @Test
    void aDaemonThatDoesNotAnswerInTimeIsExitOne() throws Exception {
        try (FakeDaemon daemon = new FakeDaemon(dir.resolve("state"));
             ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Files.writeString(daemon.state().resolve("control.json"), "{\"url\": \"http://127.0.0.1:"
                    + silent.getLocalPort() + "/\"}");
            ControlChannel channel = ControlChannel.find(daemon.state());
            channel.responseTimeoutMillis = 200;
            assertThatThrownBy(() -> channel.call("GET", "/api/v1/status", null))
                    .isInstanceOfSatisfying(ClientException.class, e -> assertThat(e.exitCode()).isEqualTo(1))
                    .hasMessage("the kcopyd daemon for " + daemon.state() + " did not answer GET /api/v1/status within "
                            + "0.2 s");
        }
    }
}
