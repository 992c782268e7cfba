package org.kcopyd.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.testdevices.Peers;

/** qemu-img and qemu-io as clients of our server; qemu-nbd as a server for our client. */
class QemuIT {

    private static final int SIZE = 16 << 20;

    @TempDir
    Path dir;

    private NbdServer server;
    private PeerProcess qemuNbd;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (qemuNbd != null) {
            qemuNbd.close();
        }
    }

    private PeerProcess.Result run(String... command) throws Exception {
        PeerProcess.Result result = PeerProcess.run(dir, Duration.ofSeconds(60), command);
        assertThat(result.exitCode()).as(String.join(" ", command) + ": " + result.output()).isZero();
        return result;
    }

    private Path randomFile(String name, long seed) throws Exception {
        Path file = dir.resolve(name);
        Files.write(file, TestDevices.random(seed, SIZE));
        return file;
    }

    @Test
    void qemuImgConvertsToOurServerAndComparesEqual() throws Exception {
        Peers.require("qemu-img", "qemu-utils");
        Path source = randomFile("source.img", 31);
        MemoryBlockDevice memory = new MemoryBlockDevice("m", SIZE / 512);
        server = OurServer.serve(dir.resolve("nbd.sock"), memory);
        String uri = server.uri("disk").toString();
        run("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source.toString(), uri);
        assertThat(Arrays.mismatch(OurServer.contentOf(memory), Files.readAllBytes(source))).isEqualTo(-1);
        PeerProcess.Result compare = run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), uri);
        assertThat(compare.output()).contains("Images are identical");
    }

    @Test
    void qemuImgConvertsFromOurServer() throws Exception {
        Peers.require("qemu-img", "qemu-utils");
        MemoryBlockDevice memory = new MemoryBlockDevice("m", SIZE / 512);
        byte[] data = TestDevices.random(32, SIZE);
        OurServer.fill(memory, data);
        server = OurServer.serve(dir.resolve("nbd.sock"), memory);
        Path target = dir.resolve("target.img");
        run("qemu-img", "convert", "-f", "raw", "-O", "raw", server.uri("disk").toString(), target.toString());
        assertThat(Arrays.mismatch(Files.readAllBytes(target), data)).isEqualTo(-1);
    }

    @Test
    void qemuIoWritesAndReadsBackAPattern() throws Exception {
        Peers.require("qemu-io", "qemu-utils");
        MemoryBlockDevice memory = new MemoryBlockDevice("m", SIZE / 512);
        server = OurServer.serve(dir.resolve("nbd.sock"), memory);
        String uri = server.uri("disk").toString();
        run("qemu-io", "-f", "raw", "-c", "write -P 0xab 0 1M", uri);
        PeerProcess.Result read = run("qemu-io", "-f", "raw", "-c", "read -P 0xab 0 1M", uri);
        assertThat(read.output()).contains("read 1048576/1048576 bytes at offset 0")
            .doesNotContain("Pattern verification failed");
        byte[] expected = new byte[1 << 20];
        Arrays.fill(expected, (byte) 0xab);
        assertThat(Arrays.copyOf(OurServer.contentOf(memory), 1 << 20)).isEqualTo(expected);
        PeerProcess.Result zero = run("qemu-io", "-f", "raw", "-c", "write -z 4096 8192", "-c", "read -P 0 4096 8192",
            uri);
        assertThat(zero.output()).doesNotContain("Pattern verification failed");
    }

    @Test
    void qemuNbdServesASparseFileToOurClient() throws Exception {
        Peers.require("qemu-nbd", "qemu-utils");
        Path image = dir.resolve("sparse.img");
        byte[] data = TestDevices.random(33, 1 << 20);
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(SIZE);
            file.seek(4 << 20);
            file.write(data);
        }
        Path socket = dir.resolve("qemu-nbd.sock");
        qemuNbd = PeerProcess.server(dir, socket, "qemu-nbd", "-f", "raw", "-k", socket.toString(), "-x", "disk",
            "-t", image.toString());
        try (BlockDevice client = NbdClient.connect(NbdUri.unix(socket, "disk"))) {
            assertThat(client.sizeInSectors()).isEqualTo(SIZE / 512);
            ByteBuffer all = ByteBuffer.allocate(SIZE);
            client.read(0, all).toCompletableFuture().get();
            assertThat(Arrays.mismatch(all.array(), Files.readAllBytes(image))).isEqualTo(-1);
            byte[] patch = TestDevices.random(34, 64 << 10);
            client.write(2048, ByteBuffer.wrap(patch)).toCompletableFuture().get();
            client.flush().toCompletableFuture().get();
            client.writeZeroes(4 << 11, 16).toCompletableFuture().get();
            client.flush().toCompletableFuture().get();
        }
        byte[] onDisk = Files.readAllBytes(image);
        assertThat(Arrays.copyOfRange(onDisk, 1 << 20, (1 << 20) + (64 << 10)))
            .isEqualTo(TestDevices.random(34, 64 << 10));
        assertThat(Arrays.copyOfRange(onDisk, 4 << 20, (4 << 20) + 8192)).isEqualTo(new byte[8192]);
        assertThat(Arrays.copyOfRange(onDisk, (4 << 20) + 8192, 5 << 20))
            .isEqualTo(Arrays.copyOfRange(data, 8192, 1 << 20));
    }
}
