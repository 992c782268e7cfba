package org.kcopyd.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.testdevices.Peers;

/** Our client against {@code nbdkit --tls=require} (GnuTLS), with certificates made by openssl. */
class NbdkitTlsIT {

    private static final int SIZE = 64 << 20;

    @TempDir
    Path dir;

    private TestCertificates certs;
    private Path socket;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        Peers.require("nbdkit", "nbdkit");
        certs = TestCertificates.make(dir.resolve("certs"), false);
        socket = dir.resolve("nbdkit.sock");
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private void nbdkit(String... options) throws IOException {
        List<String> command = new ArrayList<>(List.of("nbdkit", "--exit-with-parent", "-f", "-U", socket.toString(),
            "--tls=require", "--tls-certificates=" + certs.server));
        command.addAll(List.of(options));
        command.addAll(List.of("memory", "64M"));
        toClose.add(PeerProcess.server(dir, socket, command.toArray(new String[0])));
    }

    private BlockDevice connect(NbdUri uri, int connections) throws IOException {
        BlockDevice device = NbdClient.connect(uri, NbdClientOptions.defaults().withConnections(connections));
        toClose.add(device);
        return device;
    }

    @Test
    void writesAndReadsByteExactOverTls() throws Exception {
        nbdkit();
        BlockDevice device = connect(NbdUri.unix(socket, "").withTls(certs.trust), 4);
        assertThat(device.sizeInSectors() * 512).isEqualTo(SIZE);
        byte[] bytes = TestDevices.random(11, SIZE);
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (int at = 0; at < SIZE; at += 4 << 20) {
            writes.add(device.write(at / 512, ByteBuffer.wrap(bytes, at, 4 << 20).slice()).toCompletableFuture());
        }
        for (CompletableFuture<Void> write : writes) {
            write.get(60, TimeUnit.SECONDS);
        }
        device.flush().toCompletableFuture().get(60, TimeUnit.SECONDS);
        device.close();

        BlockDevice reader = connect(NbdUri.unix(socket, "").withTls(certs.trust), 1);
        ByteBuffer back = ByteBuffer.allocate(SIZE);
        List<CompletableFuture<Void>> reads = new ArrayList<>();
        for (int at = 0; at < SIZE; at += 1 << 20) {
            reads.add(reader.read(at / 512, back.slice(at, 1 << 20)).toCompletableFuture());
        }
        for (CompletableFuture<Void> read : reads) {
            read.get(60, TimeUnit.SECONDS);
        }
        assertThat(back.array()).isEqualTo(bytes);
    }

    @Test
    void aPlainUriIsToldThatNbdkitRequiresTls() throws Exception {
        nbdkit();
        NbdUri plain = NbdUri.unix(socket, "");
        assertThatThrownBy(() -> connect(plain, 1))
            .isInstanceOf(IOException.class)
            .hasMessageContaining(plain.toString())
            .hasMessageContaining("the server requires TLS")
            .hasMessageContaining("nbds");
    }

    @Test
    void aWrongCaRefusesNbdkitsCertificate() throws Exception {
        nbdkit();
        NbdUri uri = NbdUri.unix(socket, "").withTls(certs.wrong);
        assertThatThrownBy(() -> connect(uri, 1))
            .isInstanceOf(IOException.class)
            .hasMessageContaining(uri.toString())
            .hasMessageContaining("the server's certificate is not trusted");
    }

    @Test
    void ourClientCertificateSatisfiesTlsVerifyPeer() throws Exception {
        nbdkit("--tls-verify-peer");
        BlockDevice device = connect(NbdUri.unix(socket, "").withTls(certs.client), 1);
        ByteBuffer block = ByteBuffer.wrap(TestDevices.random(5, 4096));
        device.write(8, block.duplicate()).toCompletableFuture().get(30, TimeUnit.SECONDS);
        ByteBuffer back = ByteBuffer.allocate(4096);
        device.read(8, back).toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(back.array()).isEqualTo(block.array());
        NbdUri anonymous = NbdUri.unix(socket, "").withTls(certs.trust);
        assertThatThrownBy(() -> connect(anonymous, 1)).isInstanceOf(IOException.class)
            .hasMessageContaining(anonymous.toString());
    }
}
