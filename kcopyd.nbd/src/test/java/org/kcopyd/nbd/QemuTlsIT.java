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

/** qemu-img (GnuTLS through qemu's crypto layer) against our server with TLS required. */
class QemuTlsIT {

    private static final int SIZE = 16 << 20;

    @TempDir
    Path dir;

    private TestCertificates certs;
    private NbdServer server;
    private MemoryBlockDevice memory;

    @BeforeEach
    void start() throws Exception {
        Peers.require("qemu-img", "qemu-utils");
        certs = TestCertificates.make(dir.resolve("certs"), false);
        memory = new MemoryBlockDevice("disk", SIZE / 512);
        server = NbdServer.builder().export("disk", memory, false).tls(certs.server).startUnix(dir.resolve("nbd.sock"));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private String tlsObject(Path certificates) {
        return "tls-creds-x509,id=tls0,dir=" + certificates + ",endpoint=client";
    }

    private String image(boolean tls) {
        // qemu checks a Unix socket server's certificate against tls-hostname (it has no host otherwise).
        return "driver=nbd,path=" + dir.resolve("nbd.sock") + ",export=disk"
            + (tls ? ",tls-creds=tls0,tls-hostname=localhost" : "");
    }

    private PeerProcess.Result run(String... command) throws Exception {
        return PeerProcess.run(dir, Duration.ofSeconds(60), command);
    }

    @Test
    void qemuImgConvertsToAndFromOurTlsServer() throws Exception {
        Path source = dir.resolve("source.img");
        Files.write(source, TestDevices.random(41, SIZE));
        PeerProcess.Result to = run("qemu-img", "convert", "-n", "-f", "raw", "--object", tlsObject(certs.client),
            "--target-image-opts", source.toString(), image(true));
        assertThat(to.exitCode()).as(to.output()).isZero();
        assertThat(Arrays.mismatch(OurServer.contentOf(memory), Files.readAllBytes(source))).isEqualTo(-1);

        Path target = dir.resolve("target.img");
        PeerProcess.Result from = run("qemu-img", "convert", "-O", "raw", "--object", tlsObject(certs.client),
            "--image-opts", image(true), target.toString());
        assertThat(from.exitCode()).as(from.output()).isZero();
        assertThat(Arrays.mismatch(Files.readAllBytes(target), Files.readAllBytes(source))).isEqualTo(-1);
    }

    @Test
    void qemuRefusesOurCertificateForAnotherHostName() throws Exception {
        PeerProcess.Result other = run("qemu-img", "info", "--object", tlsObject(certs.client), "--image-opts",
            image(true).replace("tls-hostname=localhost", "tls-hostname=elsewhere.example"));
        assertThat(other.exitCode()).as(other.output()).isNotZero();
        assertThat(other.output()).contains("elsewhere.example");
    }

    @Test
    void qemuWithoutTlsIsRefusedAndSaysTlsIsRequired() throws Exception {
        PeerProcess.Result plain = run("qemu-img", "info", "--image-opts", image(false));
        assertThat(plain.exitCode()).as(plain.output()).isNotZero();
        assertThat(plain.output()).contains("TLS");
    }
}
