package org.kcopyd.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.nbd.internal.client.NbdBlockDevice;
import org.kcopyd.nbd.internal.protocol.Nbd;

/** TLS between our client and our server, with certificates made by openssl for each test. */
class NbdTlsTest {

    private static final long SECTORS = 16 * 2048;

    @TempDir
    Path dir;

    private TestCertificates certs;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void certificates() throws Exception {
        certs = TestCertificates.make(dir.resolve("certs"), false);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private NbdServer serve(boolean unix, NbdServer.Builder builder) throws IOException {
        NbdServer server = unix ? builder.startUnix(dir.resolve("nbd.sock")) : builder.startTcp("127.0.0.1", 0);
        toClose.add(server);
        return server;
    }

    private BlockDevice connect(NbdUri uri, NbdClientOptions options) throws IOException {
        BlockDevice device = NbdClient.connect(uri, options);
        toClose.add(device);
        return device;
    }

    private static void done(java.util.concurrent.CompletionStage<Void> stage) throws Exception {
        stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @ParameterizedTest(name = "unix={0}")
    @ValueSource(booleans = {true, false})
    void readsAndWritesOverTlsAreByteExact(boolean unix) throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("mem", SECTORS);
        NbdServer server = serve(unix, NbdServer.builder().export("disk", memory, false).tls(certs.server));
        NbdUri uri = server.uri("disk").withTls(certs.trust);
        assertThat(uri.toString()).startsWith(unix ? "nbds+unix://" : "nbds://127.0.0.1:");
        BlockDevice client = connect(uri, NbdClientOptions.defaults().withConnections(4));
        await().atMost(Duration.ofSeconds(10)).until(() -> ((NbdBlockDevice) client).connectionCount() == 4);

        byte[] bytes = TestDevices.random(7, (int) (SECTORS * 512));
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        int chunk = 1 << 20;
        for (int at = 0; at < bytes.length; at += chunk) {
            writes.add(client.write(at / 512, ByteBuffer.wrap(bytes, at, chunk).slice()).toCompletableFuture());
        }
        for (CompletableFuture<Void> write : writes) {
            write.get(30, TimeUnit.SECONDS);
        }
        done(client.flush());
        assertThat(OurServer.contentOf(memory)).isEqualTo(bytes);

        ByteBuffer back = ByteBuffer.allocate(bytes.length);
        List<CompletableFuture<Void>> reads = new ArrayList<>();
        for (int at = 0; at < bytes.length; at += 3 * 4096) {
            int length = Math.min(3 * 4096, bytes.length - at);
            reads.add(client.read(at / 512, back.slice(at, length)).toCompletableFuture());
        }
        for (CompletableFuture<Void> read : reads) {
            read.get(30, TimeUnit.SECONDS);
        }
        assertThat(back.array()).isEqualTo(bytes);
        ByteBuffer whole = ByteBuffer.allocateDirect(bytes.length);
        done(client.read(0, whole));
        byte[] copy = new byte[bytes.length];
        whole.get(0, copy);
        assertThat(copy).isEqualTo(bytes);
    }

    @Test
    void anRsaServerKeyAndTheServersOwnUriWork() throws Exception {
        TestCertificates rsa = TestCertificates.make(dir.resolve("rsa"), true);
        MemoryBlockDevice memory = new MemoryBlockDevice("mem", 64);
        OurServer.fill(memory, TestDevices.random(3, 64 * 512));
        NbdServer server = serve(true, NbdServer.builder().export("", memory, false).tls(rsa.server));
        BlockDevice client = connect(server.uri(""), NbdClientOptions.defaults());
        ByteBuffer back = ByteBuffer.allocate(64 * 512);
        done(client.read(0, back));
        assertThat(back.array()).isEqualTo(TestDevices.random(3, 64 * 512));
    }

    @Test
    void theServersUriNamesItsDirectoryOnlyWhenItHoldsTheCa() throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("mem", 64);
        NbdServer with = serve(true, NbdServer.builder().export("disk", memory, false).tls(certs.server));
        assertThat(with.uri("disk").tlsCertificates()).isEqualTo(certs.server);
        Files.delete(certs.server.resolve("ca-cert.pem"));
        NbdServer without = NbdServer.builder().export("disk", memory, false).tls(certs.server).startTcp("127.0.0.1", 0);
        toClose.add(without);
        assertThat(without.uri("disk").tls()).isTrue();
        assertThat(without.uri("disk").tlsCertificates()).isNull();
    }

    @Test
    void theCaOfTheOptionsIsUsedWhenTheUriNamesNone() throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("mem", 64);
        NbdServer server = serve(false, NbdServer.builder().export("disk", memory, false).tls(certs.server));
        NbdUri uri = server.uri("disk").withTls(null);
        BlockDevice client = connect(uri, NbdClientOptions.defaults()
            .withTlsCertificates(certs.trust.resolve("ca-cert.pem")));
        done(client.write(0, ByteBuffer.wrap(new byte[512])));
        assertThatThrownBy(() -> connect(uri, NbdClientOptions.defaults()))
            .isInstanceOf(IOException.class)
            .hasMessageContaining(uri.toString())
            .hasMessageContaining("not trusted")
            .hasMessageContaining("the JDK's default trust store");
    }

    @ParameterizedTest(name = "unix={0}")
    @ValueSource(booleans = {true, false})
    void aServerSignedByAnotherCaIsRefused(boolean unix) throws Exception {
        NbdServer server = serve(unix, NbdServer.builder().export("disk", new MemoryBlockDevice("m", 64), false)
            .tls(certs.server));
        NbdUri uri = server.uri("disk").withTls(certs.wrong);
        assertThatThrownBy(() -> connect(uri, NbdClientOptions.defaults()))
            .isInstanceOf(IOException.class)
            .hasMessageContaining(uri.toString())
            .hasMessageContaining("the server's certificate is not trusted")
            .hasMessageContaining(certs.wrong.resolve("ca-cert.pem").toString());
    }

    @Test
    void aTcpServerWhoseCertificateDoesNotNameTheHostIsRefused() throws Exception {
        // The certificate names localhost and 127.0.0.1; 127.0.0.2 is loopback too, but not named.
        NbdServer.Builder builder = NbdServer.builder().export("disk", new MemoryBlockDevice("m", 64), false)
            .tls(certs.server);
        NbdServer other = builder.startTcp("127.0.0.2", 0);
        toClose.add(other);
        NbdUri uri = other.uri("disk").withTls(certs.trust);
        assertThat(uri.host()).isEqualTo("127.0.0.2");
        assertThatThrownBy(() -> connect(uri, NbdClientOptions.defaults()))
            .isInstanceOf(IOException.class)
            .hasMessageContaining(uri.toString())
            .hasMessageContaining("does not name '127.0.0.2'");
        NbdServer server = serve(false, builder);
        int port = ((java.net.InetSocketAddress) server.address()).getPort();
        NbdUri named = NbdUri.parse("nbds://localhost:" + port + "/disk?tls-certificates=" + certs.trust);
        done(connect(named, NbdClientOptions.defaults()).flush());
    }

    @ParameterizedTest(name = "unix={0}")
    @ValueSource(booleans = {true, false})
    void aPlainClientOfATlsServerIsToldTlsIsRequired(boolean unix) throws Exception {
        NbdServer server = serve(unix, NbdServer.builder().export("disk", new MemoryBlockDevice("m", 64), false)
            .tls(certs.server));
        NbdUri plain = unix ? NbdUri.unix(dir.resolve("nbd.sock"), "disk")
            : NbdUri.tcp("127.0.0.1", ((java.net.InetSocketAddress) server.address()).getPort(), "disk");
        assertThatThrownBy(() -> connect(plain, NbdClientOptions.defaults()))
            .isInstanceOf(IOException.class)
            .hasMessageContaining(plain.toString())
            .hasMessageContaining("the server requires TLS")
            .hasMessageContaining("NBD_REP_ERR_TLS_REQD")
            .hasMessageContaining("nbds");
    }

    @Test
    void aTlsClientOfAPlainServerIsToldTheServerDoesNotSupportTls() throws Exception {
        NbdServer server = serve(true, NbdServer.builder().export("disk", new MemoryBlockDevice("m", 64), false));
        NbdUri uri = server.uri("disk").withTls(certs.trust);
        assertThatThrownBy(() -> connect(uri, NbdClientOptions.defaults()))
            .isInstanceOf(IOException.class)
            .hasMessageContaining(uri.toString())
            .hasMessageContaining("the server does not support TLS")
            .hasMessageContaining("NBD_REP_ERR_UNSUP");
    }

    @Test
    void beforeStartTlsOnlyStartTlsAndAbortAreServed() throws Exception {
        NbdServer server = serve(false, NbdServer.builder().export("secret-name", new MemoryBlockDevice("m", 64), false)
            .tls(certs.server));
        try (RawClient raw = new RawClient(server.address())) {
            raw.greet();
            for (int option : new int[] {Nbd.OPT_LIST, Nbd.OPT_STRUCTURED_REPLY, Nbd.OPT_GO, Nbd.OPT_INFO,
                Nbd.OPT_SET_META_CONTEXT, Nbd.OPT_LIST_META_CONTEXT, 99}) {
                raw.sendOption(option, new byte[0]);
                RawClient.OptionReply reply = raw.readOptionReply();
                assertThat(reply.option()).isEqualTo(option);
                assertThat(reply.type()).as(Nbd.optionName(option)).isEqualTo(Nbd.REP_ERR_TLS_REQD);
                assertThat(reply.text()).contains("requires TLS").doesNotContain("secret-name");
            }
            raw.sendOption(Nbd.OPT_STARTTLS, new byte[] {1});
            assertThat(raw.readOptionReply().type()).isEqualTo(Nbd.REP_ERR_INVALID);
            raw.sendOption(Nbd.OPT_ABORT, new byte[0]);
            assertThat(raw.readOptionReply().type()).isEqualTo(Nbd.REP_ACK);
            assertThat(raw.closedByServer()).isTrue();
        }
        try (RawClient raw = new RawClient(server.address())) {
            raw.greet();
            raw.sendOption(Nbd.OPT_EXPORT_NAME, "secret-name".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            assertThat(raw.closedByServer()).isTrue();
        }
    }

    @Test
    void clientCertificatesAreRequiredWhenAsked() throws Exception {
        NbdServer server = serve(true, NbdServer.builder().export("disk", new MemoryBlockDevice("m", 64), false)
            .tls(certs.server, true));
        done(connect(server.uri("disk").withTls(certs.client), NbdClientOptions.defaults()).flush());
        NbdUri anonymous = server.uri("disk").withTls(certs.trust);
        assertThatThrownBy(() -> connect(anonymous, NbdClientOptions.defaults().withRequestTimeout(Duration.ofSeconds(10))))
            .isInstanceOf(IOException.class)
            .hasMessageContaining(anonymous.toString());
    }

    @Test
    void keyFilesInOtherFormatsAreRefusedWithTheConversionCommand() throws Exception {
        Path server = certs.server;
        TestCertificates.openssl(server, "pkey", "-in", "server-key.pem", "-traditional", "-out", "traditional.pem");
        Files.move(server.resolve("traditional.pem"), server.resolve("server-key.pem"),
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        NbdServer.Builder builder = NbdServer.builder().export("disk", new MemoryBlockDevice("m", 64), false);
        assertThatThrownBy(() -> builder.tls(server))
            .isInstanceOf(IOException.class)
            .hasMessageContaining(server.resolve("server-key.pem").toString())
            .hasMessageContaining("SEC1 EC key")
            .hasMessageContaining("openssl pkcs8 -topk8 -nocrypt");
    }

    @Test
    void aKeyThatIsNotTheCertificatesAndMissingFilesAreRefusedNamingTheFile() throws Exception {
        Files.copy(certs.client.resolve("client-key.pem"), certs.server.resolve("server-key.pem"),
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        NbdServer.Builder builder = NbdServer.builder().export("disk", new MemoryBlockDevice("m", 64), false);
        assertThatThrownBy(() -> builder.tls(certs.server))
            .isInstanceOf(IOException.class)
            .hasMessageContaining("does not belong to the certificate in " + certs.server.resolve("server-cert.pem"));
        Files.delete(certs.server.resolve("server-cert.pem"));
        assertThatThrownBy(() -> builder.tls(certs.server))
            .hasMessageContaining(certs.server.resolve("server-cert.pem") + " does not exist");
        Path notDir = certs.server.resolve("ca-cert.pem");
        assertThatThrownBy(() -> builder.tls(notDir)).hasMessageContaining(notDir + " is not a directory");
        assertThatThrownBy(() -> builder.tls(certs.trust, true))
            .hasMessageContaining(certs.trust.resolve("server-cert.pem") + " does not exist");
        NbdUri missing = NbdUri.parse("nbds://127.0.0.1:1/?tls-certificates=" + dir.resolve("none"));
        assertThatThrownBy(() -> NbdClient.connect(missing))
            .isInstanceOf(IOException.class)
            .hasMessageContaining(missing.toString())
            .hasMessageContaining(dir.resolve("none") + " do not exist");
    }
}
