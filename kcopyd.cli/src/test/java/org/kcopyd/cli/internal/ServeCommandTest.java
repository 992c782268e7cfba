package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.nbd.NbdClient;
import org.kcopyd.nbd.NbdUri;

/**
 * {@code serve}: a file served on a Unix socket is read and written by an NBD client, the
 * listening line names the URI, an interruption (the shell's Ctrl-C) stops it with 130, removes
 * the socket and releases the claim; every refusal is one line with exit 2 or 1 and leaves the
 * files as they were.
 */
class ServeCommandTest {

    private static final int SIZE = 1 << 20;

    @TempDir
    Path dir;
    private final CommandFixture fixture = new CommandFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    private final AtomicReference<Thread> thread = new AtomicReference<>();

    /** Runs serve on its own thread, as the shell does; interrupting that thread is the shell's Ctrl-C. */
    private CompletableFuture<Integer> serve(String... args) {
        CompletableFuture<Integer> result = new CompletableFuture<>();
        Thread t = new Thread(() -> result.complete(fixture.run(args)), "serve-under-test");
        thread.set(t);
        t.start();
        return result;
    }

    @Test
    void servesAFileUntilInterruptedThenRemovesItsSocketAndReleasesTheFile() throws Exception {
        Path img = CommandFixture.image(dir, "disk.img", SIZE, 1);
        Path socket = dir.resolve("a.sock");
        CompletableFuture<Integer> code = serve("serve", img.toString(), "--socket", socket.toString());
        String uri = "nbd+unix:///?socket=" + socket;
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.out().contains(" at " + uri));
        assertThat(fixture.out()).isEqualTo("kcopyd serve: serving " + img + " read-write at " + uri
            + System.lineSeparator());

        try (BlockDevice client = NbdClient.connect(NbdUri.parse(uri))) {
            ByteBuffer all = ByteBuffer.allocate(SIZE);
            client.read(0, all).toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertThat(all.array()).isEqualTo(Files.readAllBytes(img));
            byte[] ab = new byte[4096];
            Arrays.fill(ab, (byte) 0xab);
            client.write(16, ByteBuffer.wrap(ab)).toCompletableFuture().get(10, TimeUnit.SECONDS);
            client.flush().toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertThat(Arrays.copyOfRange(Files.readAllBytes(img), 8192, 8192 + 4096)).isEqualTo(ab);
            // While it serves, the file is claimed for writing.
            assertThat(fixture.run("zero", img.toString())).isEqualTo(Exit.FAILED);
        }

        thread.get().interrupt();
        assertThat(code.get(10, TimeUnit.SECONDS)).isEqualTo(Exit.INTERRUPTED);
        assertThat(fixture.out()).contains("kcopyd serve: stopped serving " + img + " at " + uri);
        assertThat(socket).doesNotExist();
        fixture.opener.open(img, DeviceOption.READ_WRITE).close();
    }

    @Test
    void readOnlyWithJsonReportsTheUriAndRefusesWrites() throws Exception {
        Path img = CommandFixture.image(dir, "disk.img", SIZE, 2);
        byte[] before = Files.readAllBytes(img);
        Path socket = dir.resolve("b.sock");
        CompletableFuture<Integer> code = serve("serve", img.toString(), "--socket", socket.toString(), "--read-only",
            "--export", "disk", "--json");
        String uri = "nbd+unix:///disk?socket=" + socket;
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.out().contains("listening"));
        assertThat(fixture.out().strip()).isEqualTo("{\"result\":\"listening\",\"uri\":\"" + uri + "\",\"device\":\""
            + img + "\",\"export\":\"disk\",\"readOnly\":true,\"tls\":false}");
        try (BlockDevice client = NbdClient.connect(NbdUri.parse(uri))) {
            assertThat(client.isReadOnly()).isTrue();
        }
        thread.get().interrupt();
        assertThat(code.get(10, TimeUnit.SECONDS)).isEqualTo(Exit.INTERRUPTED);
        assertThat(fixture.out()).contains("{\"result\":\"stopped\",\"uri\":\"" + uri + "\"");
        assertThat(fixture.err()).isEmpty();
        assertThat(Files.readAllBytes(img)).isEqualTo(before);
    }

    @Test
    void refusalsAreOneLineAndTouchNothing() throws Exception {
        Path img = CommandFixture.image(dir, "disk.img", SIZE, 3);
        byte[] before = Files.readAllBytes(img);
        Path notASocket = Files.writeString(dir.resolve("file.sock"), "precious");
        String sock = dir.resolve("c.sock").toString();
        assertRefused(Exit.USAGE, "--socket", "serve", img.toString());
        assertRefused(Exit.USAGE, "mutually exclusive", "serve", img.toString(), "--socket", sock, "--listen",
            "127.0.0.1:10809");
        assertRefused(Exit.USAGE, "192.0.2.1:10809 is not a loopback address", "serve", img.toString(), "--listen",
            "192.0.2.1:10809");
        assertRefused(Exit.USAGE, "port 0 is outside 1..65535", "serve", img.toString(), "--listen", "127.0.0.1:0");
        assertRefused(Exit.USAGE, "--max-connections 0 is outside 1..100000", "serve", img.toString(), "--socket",
            sock, "--max-connections", "0");
        assertRefused(Exit.USAGE, "is not a socket", "serve", img.toString(), "--socket", notASocket.toString());
        assertRefused(Exit.USAGE, "is a directory", "serve", dir.toString(), "--socket", sock);
        assertRefused(Exit.FAILED, "missing.img", "serve", dir.resolve("missing.img").toString(), "--socket", sock);
        try (BlockDevice held = fixture.opener.open(img, DeviceOption.READ_WRITE)) {
            assertRefused(Exit.FAILED, "disk.img", "serve", img.toString(), "--socket", sock);
        }
        assertThat(Files.readString(notASocket)).isEqualTo("precious");
        assertThat(Files.readAllBytes(img)).isEqualTo(before);
        assertThat(Path.of(sock)).doesNotExist();
    }

    @Test
    void aFileOfPartialSectorsIsRefusedRatherThanServedWithoutItsTail() throws Exception {
        Path odd = Files.write(dir.resolve("odd.img"), new byte[1000]);
        String sock = dir.resolve("o.sock").toString();
        assertRefused(Exit.USAGE, "device " + odd + " has 1000 bytes, not whole sectors of 512: NBD clients would "
            + "see only its first 512 bytes and lose the last 488; extend it to 1024 bytes (truncate -s 1024 '" + odd
            + "') to serve it", "serve", odd.toString(),
            "--socket", sock);
        assertRefused(Exit.USAGE, "has 1000 bytes, not whole sectors", "serve", odd.toString(), "--socket", sock,
            "--read-only");
        assertThat(Files.size(odd)).isEqualTo(1000);
        assertThat(Path.of(sock)).doesNotExist();
    }

    /**
     * Found by H25: {@code serve STATE/control.token} was advised "extend it to 512 bytes (truncate -s 512 ...)".
     * A daemon's own file is refused as what it is before its size is looked at, and left as it was.
     */
    @Test
    void aReservedFileIsRefusedAsWhatItIsNotAdvisedToBeExtended() throws Exception {
        Path state = Files.createDirectory(dir.resolve("state"));
        Path token = Files.write(state.resolve("control.token"), new byte[65]);
        String sock = dir.resolve("t.sock").toString();
        try (AutoCloseable reserved = org.kcopyd.device.FileClaims.reserve(state,
                "in the state directory of a test daemon")) {
            assertRefused(Exit.FAILED, token + " is in the state directory of a test daemon", "serve", token.toString(),
                "--socket", sock, "--read-only");
        }
        assertThat(Files.size(token)).isEqualTo(65);
        assertThat(Path.of(sock)).doesNotExist();
    }

    /** Found by H27: a URI was taken for a path, and the message showed it changed ("nbd+unix:/?socket="). */
    @Test
    void aUriIsRefusedAsTheDeviceNamingItAsTyped() {
        String sock = dir.resolve("u.sock").toString();
        assertRefused(Exit.USAGE, "device 'nbd+unix:///?socket=/run/a.sock' is a URI: serve exports a file or block "
            + "device", "serve", "nbd+unix:///?socket=/run/a.sock", "--socket", sock);
        assertThat(Path.of(sock)).doesNotExist();
    }

    /** A socket in a daemon's state directory would stop its next start: refused, nothing made there. */
    @Test
    void aSocketInAReservedDirectoryIsRefused() throws Exception {
        Path state = Files.createDirectory(dir.resolve("state"));
        Path img = Files.write(dir.resolve("disk.img"), new byte[4096]);
        Path sock = state.resolve("x.sock");
        try (AutoCloseable reserved = org.kcopyd.device.FileClaims.reserve(state,
                "in the state directory of a test daemon")) {
            assertRefused(Exit.USAGE, "--socket " + sock + " is refused: " + sock + " is in the state directory of a "
                + "test daemon", "serve", img.toString(), "--socket", sock.toString());
        }
        try (var files = Files.list(state)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void aPortWithASignOrSpacesIsRefused() {
        Path img = dir.resolve("unused.img");
        for (String listen : new String[] {"127.0.0.1:+80", "127.0.0.1:-0", "127.0.0.1: 80", "127.0.0.1:0x50"}) {
            assertRefused(Exit.USAGE, "--listen '" + listen + "': port '" + listen.substring(10)
                + "' is not a number from 1 to 65535", "serve", img.toString(), "--listen", listen);
        }
    }

    /** A self-signed certificate for localhost made by openssl (its own CA), in nbdkit's layout. */
    private Path certificates() throws Exception {
        org.kcopyd.testdevices.Peers.require("openssl", "openssl");
        Path certs = Files.createDirectories(dir.resolve("certs"));
        Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server-key.pem", "-out", "server-cert.pem", "-days",
            "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
            .directory(certs.toFile()).redirectErrorStream(true).start();
        String output = new String(openssl.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(openssl.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(openssl.exitValue()).as(output).isZero();
        Files.copy(certs.resolve("server-cert.pem"), certs.resolve("ca-cert.pem"));
        return certs;
    }

    @Test
    void withTlsCertificatesClientsMustUseTls() throws Exception {
        Path img = CommandFixture.image(dir, "disk.img", SIZE, 4);
        Path certs = certificates();
        Path socket = dir.resolve("t.sock");
        CompletableFuture<Integer> code = serve("serve", img.toString(), "--socket", socket.toString(),
            "--tls-certificates", certs.toString(), "--json");
        String uri = "nbds+unix:///?socket=" + socket + "&tls-certificates=" + certs;
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.out().contains("listening"));
        assertThat(fixture.out().strip()).isEqualTo("{\"result\":\"listening\",\"uri\":\"" + uri + "\",\"device\":\""
            + img + "\",\"export\":\"\",\"readOnly\":false,\"tls\":true}");
        try (BlockDevice client = NbdClient.connect(NbdUri.parse(uri))) {
            ByteBuffer all = ByteBuffer.allocate(SIZE);
            client.read(0, all).toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertThat(all.array()).isEqualTo(Files.readAllBytes(img));
        }
        String plain = "nbd+unix:///?socket=" + socket;
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> NbdClient.connect(NbdUri.parse(plain)))
            .isInstanceOf(java.io.IOException.class).hasMessageContaining("the server requires TLS");
        thread.get().interrupt();
        assertThat(code.get(10, TimeUnit.SECONDS)).isEqualTo(Exit.INTERRUPTED);
        assertThat(socket).doesNotExist();
    }

    @Test
    void tlsAllowsANonLoopbackAddressAndBadTlsFilesAreRefused() throws Exception {
        Path img = CommandFixture.image(dir, "disk.img", SIZE, 5);
        Path certs = certificates();
        // 192.0.2.1 (TEST-NET-1) is not this machine's: the address passes the checks and binding fails.
        assertRefused(Exit.FAILED, "cannot listen on 192.0.2.1:10809", "serve", img.toString(), "--listen",
            "192.0.2.1:10809", "--tls-certificates", certs.toString());
        assertRefused(Exit.USAGE, "--tls-verify-peer needs --tls-certificates", "serve", img.toString(), "--socket",
            dir.resolve("u.sock").toString(), "--tls-verify-peer");
        Files.delete(certs.resolve("server-key.pem"));
        assertRefused(Exit.USAGE, certs.resolve("server-key.pem") + " does not exist", "serve", img.toString(),
            "--socket", dir.resolve("u.sock").toString(), "--tls-certificates", certs.toString());
        assertThat(dir.resolve("u.sock")).doesNotExist();
        fixture.opener.open(img, DeviceOption.READ_WRITE).close();
    }

    private void assertRefused(int exit, String message, String... args) {
        fixture.err.getBuffer().setLength(0);
        assertThat(fixture.run(args)).as(fixture.err().toString()).isEqualTo(exit);
        assertThat(fixture.err()).contains(message);
        assertThat(fixture.err().strip().lines()).hasSize(1);
    }
}
