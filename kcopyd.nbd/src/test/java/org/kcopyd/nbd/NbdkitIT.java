package org.kcopyd.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.IoRegion;
import org.kcopyd.nbd.internal.client.NbdBlockDevice;
import org.kcopyd.testdevices.Peers;

/** nbdkit (memory, file, pattern, sparse-random; error and delay filters) serving our client. */
class NbdkitIT {

    @TempDir
    Path dir;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private Path socket;

    @BeforeEach
    void requireNbdkit() {
        Peers.require("nbdkit", "nbdkit");
        socket = dir.resolve("nbdkit.sock");
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private PeerProcess nbdkit(String... arguments) throws IOException {
        List<String> command = new ArrayList<>(List.of("nbdkit", "--exit-with-parent", "-f", "-U", socket.toString()));
        command.addAll(List.of(arguments));
        PeerProcess peer = PeerProcess.server(dir, socket, command.toArray(new String[0]));
        toClose.add(peer);
        return peer;
    }

    private BlockDevice connect(NbdClientOptions options) throws IOException {
        BlockDevice device = NbdClient.connect(NbdUri.unix(socket, ""), options);
        toClose.add(device);
        return device;
    }

    private static void done(java.util.concurrent.CompletionStage<Void> stage) throws Exception {
        stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    private static Throwable failure(java.util.concurrent.CompletionStage<Void> stage, Duration within) {
        try {
            stage.toCompletableFuture().get(within.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError("the stage did not fail within " + within + ": " + e, e);
        }
        throw new AssertionError("the stage succeeded");
    }

    @Test
    void memoryIsWrittenAndReadByteExact() throws Exception {
        nbdkit("memory", "64M");
        NbdBlockDevice client = (NbdBlockDevice) connect(NbdClientOptions.defaults().withConnections(4));
        assertThat(client.sizeInSectors()).isEqualTo(64 * 2048);
        assertThat(client.info().structured()).isTrue();
        byte[] data = TestDevices.random(11, 24 << 20);
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            writes.add(client.write(4096 + i * 2048L, ByteBuffer.wrap(data, i << 20, 1 << 20)).toCompletableFuture());
        }
        done(CompletableFuture.allOf(writes.toArray(new CompletableFuture<?>[0])));
        done(client.flush());
        ByteBuffer back = ByteBuffer.allocateDirect(data.length);
        done(client.read(4096, back));
        byte[] got = new byte[data.length];
        back.flip().get(got);
        assertThat(got).isEqualTo(data);
        assertThat(client.supportsWriteZeroes()).isTrue();
        done(client.writeZeroes(4096, 8));
        if (client.supportsDiscard()) {
            done(client.discard(4096 + 8, 8));
        }
        ByteBuffer zeros = ByteBuffer.allocate(8192);
        done(client.read(4096, zeros));
        assertThat(zeros.array()).isEqualTo(new byte[8192]);
    }

    @Test
    void fileIsReadAndWrittenByteExact() throws Exception {
        Path file = dir.resolve("disk.img");
        byte[] content = TestDevices.random(12, 16 << 20);
        Files.write(file, content);
        nbdkit("file", file.toString());
        BlockDevice client = connect(NbdClientOptions.defaults());
        ByteBuffer all = ByteBuffer.allocate(content.length);
        done(client.read(0, all));
        assertThat(all.array()).isEqualTo(content);
        byte[] patch = TestDevices.random(13, 1 << 20);
        done(client.write(2048, ByteBuffer.wrap(patch)));
        done(client.flush());
        byte[] onDisk = Files.readAllBytes(file);
        assertThat(Arrays.copyOfRange(onDisk, 1 << 20, 2 << 20)).isEqualTo(patch);
        assertThat(Arrays.copyOfRange(onDisk, 0, 1 << 20)).isEqualTo(Arrays.copyOfRange(content, 0, 1 << 20));
    }

    @Test
    void patternReadsAsItsOffsets() throws Exception {
        nbdkit("pattern", "8M");
        BlockDevice client = connect(NbdClientOptions.defaults());
        ByteBuffer all = ByteBuffer.allocate(8 << 20);
        done(client.read(0, all));
        all.flip();
        for (long offset = 0; offset < 8 << 20; offset += 8) {
            if (all.getLong((int) offset) != offset) {
                throw new AssertionError("pattern at offset " + offset + " reads " + all.getLong((int) offset));
            }
        }
    }

    @Test
    void sparseRandomReadsAsNbdcopyCopiesIt() throws Exception {
        Peers.require("nbdcopy", "libnbd-bin");
        nbdkit("sparse-random", "64M", "seed=7");
        Path copy = dir.resolve("copy.img");
        PeerProcess.Result nbdcopy = PeerProcess.run(dir, Duration.ofSeconds(60), "nbdcopy",
            NbdUri.unix(socket, "").toString(), copy.toString());
        assertThat(nbdcopy.exitCode()).as(nbdcopy.output()).isZero();
        BlockDevice client = connect(NbdClientOptions.defaults().withConnections(2));
        ByteBuffer all = ByteBuffer.allocate(64 << 20);
        done(client.read(0, all));
        assertThat(Arrays.mismatch(all.array(), Files.readAllBytes(copy))).as("first differing byte").isEqualTo(-1);
    }

    @Test
    void anInjectedReadErrorFailsTheReadWithEio() throws Exception {
        nbdkit("--filter=error", "memory", "16M", "error-pread-rate=1", "error=EIO");
        BlockDevice client = connect(NbdClientOptions.defaults());
        Throwable failure = failure(client.read(8, ByteBuffer.allocate(4096)), Duration.ofSeconds(30));
        assertThat(failure).isInstanceOf(IOException.class).hasMessageContaining("READ of 4096 bytes at offset 4096")
            .hasMessageContaining("EIO");
        done(client.write(8, ByteBuffer.allocate(4096)));
    }

    @Test
    void aDelayedReadOverTheTimeoutFailsNamingTheTimeout() throws Exception {
        nbdkit("--filter=delay", "memory", "16M", "rdelay=3");
        BlockDevice client = connect(NbdClientOptions.defaults().withRequestTimeout(Duration.ofMillis(400)));
        Throwable failure = failure(client.read(0, ByteBuffer.allocate(512)), Duration.ofSeconds(10));
        assertThat(failure).hasMessageContaining("READ of 512 bytes at offset 0").hasMessageContaining("400 ms");
        done(client.write(0, ByteBuffer.allocate(512)));
    }

    @Test
    void delayedReadsInFlightTogetherAllComplete() throws Exception {
        nbdkit("--filter=delay", "memory", "16M", "rdelay=100ms");
        BlockDevice client = connect(NbdClientOptions.defaults());
        List<CompletableFuture<Void>> reads = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            reads.add(client.read(i * 8L, ByteBuffer.allocate(4096)).toCompletableFuture());
        }
        done(CompletableFuture.allOf(reads.toArray(new CompletableFuture<?>[0])));
    }

    @Test
    void nbdkitKilledMidRequestFailsItWithinTheTimeout() throws Exception {
        PeerProcess peer = nbdkit("--filter=delay", "memory", "16M", "rdelay=20");
        BlockDevice client = connect(NbdClientOptions.defaults().withRequestTimeout(Duration.ofSeconds(10)));
        CompletableFuture<Void> read = client.read(0, ByteBuffer.allocate(4096)).toCompletableFuture();
        await().pollDelay(Duration.ofMillis(100)).atMost(Duration.ofSeconds(1)).until(() -> !read.isDone());
        long start = System.nanoTime();
        peer.kill();
        Throwable failure = failure(read, Duration.ofSeconds(10));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        assertThat(failure).hasMessageContaining("READ of 4096 bytes at offset 0");
        assertThat(failure(client.read(0, ByteBuffer.allocate(512)), Duration.ofSeconds(1))).hasMessageContaining("lost");
    }

    /**
     * An export whose size is not whole sectors (nbdkit serves files of any size; nbdcopy copies them):
     * the device's whole sectors, and its last bytes through its tail, written and read back byte-exact
     * by another connection; a tail of another length is refused before anything is sent.
     */
    @Test
    void anExportWhoseSizeIsNotWholeSectorsHasItsLastBytesAsTheDevicesTail() throws Exception {
        nbdkit("memory", "1000");
        BlockDevice client = connect(NbdClientOptions.defaults().withConnections(1));
        assertThat(client.sizeInSectors()).isEqualTo(1);
        assertThat(client.tailBytes()).isEqualTo(488);
        byte[] data = TestDevices.random(21, 1000);
        done(client.write(0, ByteBuffer.wrap(data, 0, 512)));
        done(client.writeTail(ByteBuffer.wrap(data, 512, 488)));
        done(client.flush());

        BlockDevice other = connect(NbdClientOptions.defaults().withConnections(1));
        ByteBuffer back = ByteBuffer.allocate(1000);
        done(other.read(0, back.slice(0, 512)));
        ByteBuffer tail = back.slice(512, 488);
        done(other.readTail(tail));
        assertThat(tail.position()).isEqualTo(488);
        assertThat(back.array()).isEqualTo(data);
        assertThat(failure(other.readTail(ByteBuffer.allocate(487)), Duration.ofSeconds(1)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("the export has 488 bytes past its last whole sector (its size is 1000 bytes)");
    }

    @Test
    void anExportWhoseLastBytesTheServersMinimumBlockCannotAddressIsRefusedNamingIt() throws Exception {
        nbdkit("--filter=blocksize-policy", "memory", "1000", "blocksize-minimum=512", "blocksize-error-policy=error");
        assertThatThrownBy(() -> connect(NbdClientOptions.defaults())).isInstanceOf(IOException.class)
            .hasMessageContaining("export size 1000 bytes is not a multiple of the server's minimum block size 512");
    }

    @Test
    void theServersMinimumBlockSizeIsTheDevicesAndRegionsAreAlignedToIt() throws Exception {
        nbdkit("--filter=blocksize-policy", "memory", "1M", "blocksize-minimum=4096",
            "blocksize-error-policy=error");
        BlockDevice client = connect(NbdClientOptions.defaults());
        assertThat(client.minimumBlockBytes()).isEqualTo(4096);
        assertThatThrownBy(() -> IoRegion.of(client, 1, 8)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("is not aligned to its minimum block of 4096 bytes");
        byte[] data = TestDevices.random(13, 8192);
        done(client.write(8, ByteBuffer.wrap(data)));
        ByteBuffer back = ByteBuffer.allocate(8192);
        done(client.read(8, back));
        assertThat(back.array()).isEqualTo(data);
    }
}
