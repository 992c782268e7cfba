package org.kcopyd.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.testdevices.Peers;

/** libnbd's nbdinfo and nbdcopy (GnuTLS) against our server with TLS required. */
class LibnbdTlsIT {

    private static final int SIZE = 16 << 20;

    @TempDir
    Path dir;

    private TestCertificates certs;
    private NbdServer server;
    private MemoryBlockDevice memory;

    @BeforeEach
    void start() throws Exception {
        Peers.require("nbdinfo", "libnbd-bin");
        Peers.require("nbdcopy", "libnbd-bin");
        certs = TestCertificates.make(dir.resolve("certs"), false);
    }

    private void serve(boolean verifyClients) throws Exception {
        memory = new MemoryBlockDevice("disk", SIZE / 512);
        server = NbdServer.builder().export("disk", memory, false).tls(certs.server, verifyClients)
            .startUnix(dir.resolve("nbd.sock"));
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** The URI as libnbd writes it, trusting the CA of {@code certificates}. */
    private String uri(Path certificates) {
        return "nbds+unix:///disk?socket=" + dir.resolve("nbd.sock") + "&tls-certificates=" + certificates;
    }

    private PeerProcess.Result run(String... command) throws Exception {
        return PeerProcess.run(dir, Duration.ofSeconds(60), command);
    }

    @Test
    void nbdinfoSeesTheExportOnlyOverTls() throws Exception {
        serve(false);
        PeerProcess.Result info = run("nbdinfo", "--json", uri(certs.client));
        assertThat(info.exitCode()).as(info.output()).isZero();
        assertThat(info.output()).contains("\"export-size\": " + SIZE, "\"TLS\": true", "\"structured\": true");
        PeerProcess.Result plain = run("nbdinfo", "--json", "nbd+unix:///disk?socket=" + dir.resolve("nbd.sock"));
        assertThat(plain.exitCode()).as(plain.output()).isNotZero();
        assertThat(plain.output()).doesNotContain(String.valueOf(SIZE));
        // libnbd (1.14) does not verify a Unix socket server's certificate, even with
        // tls-verify-peer=true, so a wrong CA is not refused by it: QemuTlsIT and NbdTlsTest cover refusals.
    }

    @Test
    void nbdcopyCopiesToAndFromOurTlsServerByteExact() throws Exception {
        serve(false);
        Path source = dir.resolve("source.img");
        Files.write(source, TestDevices.random(21, SIZE));
        PeerProcess.Result to = run("nbdcopy", "--connections=4", source.toString(), uri(certs.client));
        assertThat(to.exitCode()).as(to.output()).isZero();
        assertThat(Arrays.mismatch(OurServer.contentOf(memory), Files.readAllBytes(source))).isEqualTo(-1);

        Path target = dir.resolve("target.img");
        PeerProcess.Result from = run("nbdcopy", uri(certs.client), target.toString());
        assertThat(from.exitCode()).as(from.output()).isZero();
        assertThat(Arrays.mismatch(Files.readAllBytes(target), Files.readAllBytes(source))).isEqualTo(-1);
    }

    @Test
    void clientCertificatesAreCheckedWhenTheServerAsks() throws Exception {
        serve(true);
        PeerProcess.Result withCertificate = run("nbdinfo", "--size", uri(certs.client));
        assertThat(withCertificate.exitCode()).as(withCertificate.output()).isZero();
        assertThat(withCertificate.output().strip()).isEqualTo(String.valueOf(SIZE));
        PeerProcess.Result without = run("nbdinfo", "--size", uri(certs.trust));
        assertThat(without.exitCode()).as(without.output()).isNotZero();
    }
}
