package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.testdevices.Peers;

/**
 * NBD in the runtime jar against real peers: {@code kcopyd serve} of a file read by
 * {@code nbdinfo} and {@code nbdcopy}, written and verified by {@code qemu-io}, ended by SIGTERM
 * (exit 143, socket removed); {@code kcopyd copy} from nbdkit's {@code pattern} and
 * {@code memory} exports, byte-exact; and a snapshot and its origin exported by
 * {@code org.kcopyd.nbd.export} configurations in {@code --config-dir}: the origin written by
 * {@code qemu-io}, the snapshot read by {@code nbdcopy} showing the original content, and the
 * snapshot's export (and, its last snapshot gone, the origin's) withdrawn when the snapshot's
 * configuration is removed. Each peer is required with
 * {@link Peers#require} (skipped when missing, failed with {@code -Dkcopyd.peers.required=true}).
 */
class NbdServeIT {

    private static final int SIZE = 4 << 20;
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;
    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (Process p : processes) {
            p.toHandle().destroy();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    private Path image(String name, long seed) throws IOException {
        byte[] data = new byte[SIZE];
        new Random(seed).nextBytes(data);
        return Files.write(dir.resolve(name), data);
    }

    private Process start(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).start();
        processes.add(p);
        return p;
    }

    /** Runs a peer to its end; returns its standard output and error, asserting exit 0. */
    private String peer(String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as(String.join(" ", command) + " ends").isTrue();
        String text = new String(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(String.join(" ", command) + ": " + text).isZero();
        return text;
    }

    private static String line(BufferedReader reader) throws Exception {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return reader.readLine();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    @Test
    void serveIsReadByNbdinfoAndNbdcopyWrittenByQemuIoAndEndsWithSigterm() throws Exception {
        String nbdinfo = Peers.require("nbdinfo", "libnbd-bin").toString();
        String nbdcopy = Peers.require("nbdcopy", "libnbd-bin").toString();
        String qemuIo = Peers.require("qemu-io", "qemu-utils").toString();
        Path disk = image("disk.img", 1);
        byte[] original = Files.readAllBytes(disk);
        Path socket = dir.resolve("a.sock");
        Process serve = start(KcopydProcess.command(List.of(), List.of("serve", disk.toString(), "--socket",
            socket.toString())));
        BufferedReader out = new BufferedReader(new InputStreamReader(serve.getInputStream(), StandardCharsets.UTF_8));
        String uri = "nbd+unix:///?socket=" + socket;
        assertThat(line(out)).isEqualTo("kcopyd serve: serving " + disk + " read-write at " + uri);

        assertThat(peer(nbdinfo, uri)).contains("export-size: " + SIZE).contains("can_flush: true");
        peer(nbdcopy, uri, dir.resolve("copy.img").toString());
        assertThat(dir.resolve("copy.img")).hasBinaryContent(original);
        peer(nbdcopy, "--connections", "4", uri, dir.resolve("copy4.img").toString());
        assertThat(dir.resolve("copy4.img")).hasBinaryContent(original);

        assertThat(peer(qemuIo, "-f", "raw", "-c", "write -P 0xab 0 1M", uri)).contains("wrote 1048576/1048576 bytes");
        assertThat(peer(qemuIo, "-f", "raw", "-c", "read -P 0xab 0 1M", uri)).contains("read 1048576/1048576 bytes")
            .doesNotContain("Pattern verification failed");
        byte[] now = Files.readAllBytes(disk);
        byte[] ab = new byte[1 << 20];
        Arrays.fill(ab, (byte) 0xab);
        assertThat(Arrays.copyOf(now, 1 << 20)).isEqualTo(ab);
        assertThat(Arrays.copyOfRange(now, 1 << 20, SIZE)).isEqualTo(Arrays.copyOfRange(original, 1 << 20, SIZE));

        serve.toHandle().destroy();
        assertThat(serve.waitFor(60, TimeUnit.SECONDS)).as("serve ends on SIGTERM").isTrue();
        assertThat(serve.exitValue()).isEqualTo(143);
        assertThat(line(out)).isEqualTo("kcopyd serve: stopped serving " + disk + " at " + uri
            + " (0 clients disconnected)");
        assertThat(socket).doesNotExist();
        assertThat(new String(serve.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)).isEmpty();
    }

    @Test
    void copyFromNbdkitPatternAndMemoryExportsIsByteExact() throws Exception {
        String nbdkit = Peers.require("nbdkit", "nbdkit").toString();
        Path patternSocket = dir.resolve("pattern.sock");
        start(List.of(nbdkit, "--foreground", "--exit-with-parent", "--unix", patternSocket.toString(), "pattern",
            "size=" + SIZE));
        await().atMost(WAIT).until(() -> Files.exists(patternSocket));
        KcopydProcess.Run r = KcopydProcess.run(dir, "copy", "nbd+unix:///?socket=" + patternSocket, "pattern.img");
        assertThat(r.exit()).as(r.err()).isZero();
        ByteBuffer expected = ByteBuffer.allocate(SIZE);
        for (long offset = 0; offset < SIZE; offset += 8) {
            expected.putLong(offset);
        }
        assertThat(dir.resolve("pattern.img")).hasBinaryContent(expected.array());

        // The memory plugin: write a file into it through kcopyd, read it back out, both byte-exact.
        Path memorySocket = dir.resolve("memory.sock");
        start(List.of(nbdkit, "--foreground", "--exit-with-parent", "--unix", memorySocket.toString(), "memory",
            "size=" + SIZE));
        await().atMost(WAIT).until(() -> Files.exists(memorySocket));
        Path source = image("source.img", 2);
        String memory = "nbd+unix:///?socket=" + memorySocket;
        r = KcopydProcess.run(dir, "copy", "--flush", source.toString(), memory);
        assertThat(r.exit()).as(r.err()).isZero();
        r = KcopydProcess.run(dir, "copy", memory, "back.img");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(dir.resolve("back.img")).hasSameBinaryContentAs(source);
    }

    /**
     * Exports whose size is not whole sectors, as nbdkit serves files of any size and nbdcopy copies
     * them: nbdkit's file plugin over a 1000-byte file copied out byte for byte (verified, hashed as
     * sha256sum hashes the file), a file copied into a 1000-byte memory export and read back by
     * nbdcopy byte for byte, and `serve` refusing to serve whole sectors only of such a file.
     */
    @Test
    void exportsOfASizeThatIsNotWholeSectorsAreCopiedByteForByteBothWays() throws Exception {
        String nbdkit = Peers.require("nbdkit", "nbdkit").toString();
        String nbdcopy = Peers.require("nbdcopy", "libnbd-bin").toString();
        byte[] data = new byte[1000];
        new Random(5).nextBytes(data);
        Path odd = Files.write(dir.resolve("odd.bin"), data);
        Path fileSocket = dir.resolve("file.sock");
        start(List.of(nbdkit, "--foreground", "--exit-with-parent", "--unix", fileSocket.toString(), "file",
            odd.toString()));
        await().atMost(WAIT).until(() -> Files.exists(fileSocket));

        KcopydProcess.Run r = KcopydProcess.run(dir, "copy", "nbd+unix:///?socket=" + fileSocket, "out.bin", "--verify",
            "--hash", "sha256");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(dir.resolve("out.bin")).hasBinaryContent(data);
        assertThat(r.out()).contains(java.util.HexFormat.of().formatHex(
            java.security.MessageDigest.getInstance("SHA-256").digest(data))).contains("identical to the source");

        Path memorySocket = dir.resolve("memory.sock");
        start(List.of(nbdkit, "--foreground", "--exit-with-parent", "--unix", memorySocket.toString(), "memory",
            "size=1000"));
        await().atMost(WAIT).until(() -> Files.exists(memorySocket));
        String memory = "nbd+unix:///?socket=" + memorySocket;
        r = KcopydProcess.run(dir, "copy", "--flush", odd.toString(), memory);
        assertThat(r.exit()).as(r.err()).isZero();
        peer(nbdcopy, memory, dir.resolve("back.bin").toString());
        assertThat(dir.resolve("back.bin")).hasBinaryContent(data);

        r = KcopydProcess.run(dir, "serve", odd.toString(), "--socket", dir.resolve("odd.sock").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("has 1000 bytes, not whole sectors of 512");
    }

    @Test
    void aSnapshotAndItsOriginExportedByConfigurationShowTheOriginalContent() throws Exception {
        String nbdcopy = Peers.require("nbdcopy", "libnbd-bin").toString();
        String nbdinfo = Peers.require("nbdinfo", "libnbd-bin").toString();
        String qemuIo = Peers.require("qemu-io", "qemu-utils").toString();
        Path origin = image("origin.img", 3);
        byte[] original = Files.readAllBytes(origin);
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Path originSocket = dir.resolve("origin.sock");
        Path snapshotSocket = dir.resolve("snap.sock");
        Files.writeString(etc.resolve("org.kcopyd.snapshot-s1.cfg"), "name = s1\norigin = " + origin
            + "\ncowStore = " + dir.resolve("s1.cow") + "\ncowStoreSizeMiB = 16\n");
        Files.writeString(etc.resolve("org.kcopyd.nbd.export-origin.cfg"), "device = (&(kcopyd.device.role=origin)"
            + "(kcopyd.snapshot.origin=" + origin + "))\nsocket = " + originSocket + "\n");
        Files.writeString(etc.resolve("org.kcopyd.nbd.export-snap.cfg"), "name = s1\ndevice = "
            + "(&(kcopyd.device.role=snapshot)(kcopyd.snapshot.name=s1))\nsocket = " + snapshotSocket
            + "\nreadOnly = true\n");
        Process shell = start(KcopydProcess.command(List.of(), List.of("--config-dir", "etc")));
        try (PrintWriter in = new PrintWriter(shell.getOutputStream(), true, StandardCharsets.UTF_8)) {
            await().atMost(WAIT).until(() -> Files.exists(originSocket) && Files.exists(snapshotSocket));
            String originUri = "nbd+unix:///?socket=" + originSocket;
            String snapshotUri = "nbd+unix:///s1?socket=" + snapshotSocket;

            peer(qemuIo, "-f", "raw", "-c", "write -P 0xab 0 1M", originUri);
            peer(nbdcopy, snapshotUri, dir.resolve("snap-copy.img").toString());
            assertThat(dir.resolve("snap-copy.img")).hasBinaryContent(original);
            byte[] written = Files.readAllBytes(origin);
            assertThat(written[0]).isEqualTo((byte) 0xab);
            assertThat(written[(1 << 20) - 1]).isEqualTo((byte) 0xab);
            assertThat(peer(nbdinfo, "--list", "nbd+unix:///?socket=" + snapshotSocket)).contains("export=")
                .contains("s1");

            // The snapshot goes; with it its device service, and, as it was the origin's last snapshot, the origin's
            // device service: both exports are withdrawn and their listeners' sockets removed.
            Files.delete(etc.resolve("org.kcopyd.snapshot-s1.cfg"));
            await().atMost(WAIT).until(() -> !Files.exists(snapshotSocket) && !Files.exists(originSocket));
            in.println("exit 0");
        }
        assertThat(shell.waitFor(60, TimeUnit.SECONDS)).isTrue();
    }
}
