package org.kcopyd.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.IoRegion;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.nbd.internal.client.NbdBlockDevice;
import org.kcopyd.nbd.internal.protocol.ChunkPayloads.Extent;
import org.kcopyd.testdevices.ForwardingDevice;

/** Our client against our server, over a Unix socket and TCP loopback. */
class NbdClientServerTest {

    private static final long SECTORS = 16 * 2048;

    @TempDir
    Path dir;

    private final List<AutoCloseable> toClose = new ArrayList<>();

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

    private BlockDevice connect(NbdServer server, String export, NbdClientOptions options) throws IOException {
        BlockDevice device = NbdClient.connect(server.uri(export), options);
        toClose.add(device);
        return device;
    }

    private static void done(CompletableFuture<Void> stage) throws Exception {
        stage.get(10, TimeUnit.SECONDS);
    }

    private static Throwable failure(java.util.concurrent.CompletionStage<Void> stage) {
        try {
            stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            while (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
                cause = cause.getCause();
            }
            return cause;
        } catch (Exception e) {
            throw new AssertionError("the stage did not fail within 10 s: " + e, e);
        }
        throw new AssertionError("the stage succeeded");
    }

    @Test
    void anInterruptedCallerKeepsItsInterruptAndTheConnectionLives() throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("mem", SECTORS);
        NbdServer server = serve(true, NbdServer.builder().export("disk", memory, false));
        BlockDevice client = connect(server, "disk", NbdClientOptions.defaults());
        byte[] data = new byte[8192];
        new java.util.Random(4).nextBytes(data);
        try {
            Thread.currentThread().interrupt();
            client.write(8, ByteBuffer.wrap(data)).toCompletableFuture().join();
            ByteBuffer back = ByteBuffer.allocate(8192);
            client.read(8, back).toCompletableFuture().join();
            assertThat(back.array()).isEqualTo(data);
            client.flush().toCompletableFuture().join();
            assertThat(Thread.currentThread().isInterrupted()).as("the caller, still interrupted").isTrue();
        } finally {
            Thread.interrupted();
        }
        // Another thread's requests on the same connection still work.
        ByteBuffer again = ByteBuffer.allocate(8192);
        CompletableFuture.runAsync(() -> client.read(8, again).toCompletableFuture().join()).get(10, TimeUnit.SECONDS);
        assertThat(again.array()).isEqualTo(data);
    }

    /**
     * Interrupts that land while a request is being written to the socket: the caller's thread does
     * no socket I/O (the connection's sender does), so the interrupts cannot close the socket.
     * Large writes keep the send in the system call most of the time (the socket's buffer is far
     * smaller than a request).
     */
    @Test
    void interruptsLandingDuringSendsDoNotEndTheConnection() throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("mem", 2 * 8 * 2048);
        NbdServer server = serve(true, NbdServer.builder().export("disk", memory, false));
        BlockDevice client = connect(server, "disk", NbdClientOptions.defaults().withConnections(1));
        byte[] data = TestDevices.random(7, 8 << 20);
        java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.CountDownLatch writing = new java.util.concurrent.CountDownLatch(1);
        Thread writer = new Thread(() -> {
            try {
                writing.countDown();
                for (int i = 0; i < 16; i++) {
                    // join() waits through interrupts (and keeps the status).
                    client.write((i % 2) * 8 * 2048L, ByteBuffer.wrap(data)).toCompletableFuture().join();
                }
            } catch (Throwable t) {
                failed.set(t);
            }
        });
        writer.start();
        assertThat(writing.await(10, TimeUnit.SECONDS)).isTrue();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (writer.isAlive() && System.nanoTime() - deadline < 0) {
            writer.interrupt();
            Thread.yield();
        }
        assertThat(writer.isAlive()).as("the writer, still writing after 60 s").isFalse();
        assertThat(failed.get()).as("the writes under interrupts").isNull();
        ByteBuffer back = ByteBuffer.allocate(data.length);
        done(client.read(8 * 2048L, back).toCompletableFuture());
        assertThat(back.array()).isEqualTo(data);
    }

    @ParameterizedTest(name = "unix={0}")
    @ValueSource(booleans = {true, false})
    void readsAndWritesAreByteExact(boolean unix) throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("mem", SECTORS);
        NbdServer server = serve(unix, NbdServer.builder().export("disk", memory, false));
        BlockDevice client = connect(server, "disk", NbdClientOptions.defaults());

        assertThat(client.sizeInSectors()).isEqualTo(SECTORS);
        assertThat(client.isReadOnly()).isFalse();
        assertThat(client.name()).isEqualTo(server.uri("disk").toString());
        byte[] data = TestDevices.random(1, 1 << 20);
        done(client.write(100, ByteBuffer.wrap(data)).toCompletableFuture());

        ByteBuffer direct = ByteBuffer.allocate(data.length);
        memory.read(100, direct).toCompletableFuture().get();
        assertThat(direct.array()).isEqualTo(data);
        ByteBuffer back = ByteBuffer.allocateDirect(data.length);
        done(client.read(100, back).toCompletableFuture());
        assertThat(back.position()).isEqualTo(data.length);
        byte[] got = new byte[data.length];
        back.flip().get(got);
        assertThat(got).isEqualTo(data);
    }

    @Test
    void requestsOverTheMaximumBlockSizeAreSplit() throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("mem", 2 * 40 * 2048);
        TestDevices.Counting counting = new TestDevices.Counting(memory);
        NbdServer server = serve(true, NbdServer.builder().export("", counting, false));
        BlockDevice client = connect(server, "", NbdClientOptions.defaults());
        byte[] data = TestDevices.random(2, 40 << 20);
        done(client.write(8, ByteBuffer.wrap(data)).toCompletableFuture());
        assertThat(counting.writes.get()).isEqualTo(2);
        ByteBuffer back = ByteBuffer.allocate(data.length);
        done(client.read(8, back).toCompletableFuture());
        assertThat(back.array()).isEqualTo(data);
    }

    @Test
    void repliesCompletingInReverseOrderReachTheirRequests() throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("mem", SECTORS);
        for (int i = 0; i < 8; i++) {
            byte[] pattern = new byte[4096];
            java.util.Arrays.fill(pattern, (byte) (i + 1));
            memory.write(i * 8L, ByteBuffer.wrap(pattern)).toCompletableFuture().get();
        }
        TestDevices.Holding holding = new TestDevices.Holding(memory);
        NbdServer server = serve(true, NbdServer.builder().export("disk", holding, false));
        BlockDevice client = connect(server, "disk", NbdClientOptions.defaults());
        List<ByteBuffer> buffers = new ArrayList<>();
        List<CompletableFuture<Void>> reads = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            ByteBuffer buffer = ByteBuffer.allocate(4096);
            buffers.add(buffer);
            reads.add(client.read(i * 8L, buffer).toCompletableFuture());
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> holding.heldCount() == 8);
        assertThat(reads).noneMatch(CompletableFuture::isDone);
        holding.releaseInReverse();
        for (int i = 0; i < 8; i++) {
            done(reads.get(i));
            byte[] expected = new byte[4096];
            java.util.Arrays.fill(expected, (byte) (i + 1));
            assertThat(buffers.get(i).array()).as("read %d", i).isEqualTo(expected);
        }
    }

    @Test
    void flushWriteZeroesAndDiscardReachTheDevice() throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("mem", SECTORS);
        NbdServer server = serve(true, NbdServer.builder().export("disk", memory, false));
        NbdBlockDevice client = (NbdBlockDevice) connect(server, "disk", NbdClientOptions.defaults());
        assertThat(client.supportsWriteZeroes()).isTrue();
        assertThat(client.supportsDiscard()).isTrue();
        byte[] ones = new byte[8192];
        java.util.Arrays.fill(ones, (byte) 1);
        done(client.write(0, ByteBuffer.wrap(ones)).toCompletableFuture());
        done(client.writeZeroes(2, 4).toCompletableFuture());
        done(client.discard(12, 2).toCompletableFuture());
        done(client.flush().toCompletableFuture());
        ByteBuffer back = ByteBuffer.allocate(8192);
        memory.read(0, back).toCompletableFuture().get();
        byte[] expected = ones.clone();
        java.util.Arrays.fill(expected, 2 * 512, 6 * 512, (byte) 0);
        java.util.Arrays.fill(expected, 12 * 512, 14 * 512, (byte) 0);
        assertThat(back.array()).isEqualTo(expected);
        List<Extent> extents = client.blockStatus(0, 16).get(10, TimeUnit.SECONDS);
        assertThat(extents).containsExactly(new Extent(16 * 512, 0));
    }

    @Test
    void flushReachesTheDeviceAndZeroesAreWrittenWhenTheDeviceCannotZero() throws Exception {
        TestDevices.Counting counting = new TestDevices.Counting(new MemoryBlockDevice("mem", SECTORS));
        NbdServer server = serve(true, NbdServer.builder().export("disk", counting, false));
        // One connection: a flush is sent on each.
        BlockDevice client = connect(server, "disk", NbdClientOptions.defaults().withConnections(1));
        assertThat(client.supportsDiscard()).as("no TRIM advertised for a device without discard").isFalse();
        assertThat(client.supportsWriteZeroes()).isTrue();
        done(client.write(0, ByteBuffer.wrap(TestDevices.random(3, 4 << 20))).toCompletableFuture());
        done(client.writeZeroes(0, 3 * 2048).toCompletableFuture());
        ByteBuffer back = ByteBuffer.allocate(4 << 20);
        counting.read(0, back).toCompletableFuture().get();
        assertThat(back.array()).startsWith(new byte[3 << 20]);
        assertThat(counting.writes.get()).isEqualTo(1 + 3);
        done(client.flush().toCompletableFuture());
        assertThat(counting.flushes.get()).isEqualTo(1);
    }

    @Test
    void aReadOnlyExportRefusesWrites() throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("mem", SECTORS);
        NbdServer server = serve(true, NbdServer.builder().export("ro", memory, true));
        BlockDevice client = connect(server, "ro", NbdClientOptions.defaults());
        assertThat(client.isReadOnly()).isTrue();
        assertThat(client.supportsWriteZeroes()).isFalse();
        assertThat(failure(client.write(0, ByteBuffer.allocate(512)))).hasMessageContaining("read-only")
            .hasMessageContaining("sector 0");
        done(client.read(0, ByteBuffer.allocate(512)).toCompletableFuture());
    }

    @Test
    void requestsPastTheEndAreRefusedNamingTheSize() throws Exception {
        NbdServer server = serve(true, NbdServer.builder().export("disk", new MemoryBlockDevice("m", 64), false));
        BlockDevice client = connect(server, "disk", NbdClientOptions.defaults());
        assertThat(failure(client.read(63, ByteBuffer.allocate(1024)))).hasMessageContaining("past the end")
            .hasMessageContaining("64 sectors");
        assertThat(failure(client.write(64, ByteBuffer.allocate(512)))).hasMessageContaining("past the end");
        assertThat(failure(client.read(0, ByteBuffer.allocate(100)))).hasMessageContaining("not a multiple of 512");
    }

    /**
     * This server serves whole sectors: a device with bytes past its last one (an odd-sized export
     * opened as a device) is refused as an export, naming them, rather than served without them.
     */
    @Test
    void aDeviceWithBytesPastItsLastSectorIsRefusedAsAnExport() {
        BlockDevice odd = new org.kcopyd.testdevices.TailedDevice(new MemoryBlockDevice("odd", 2), new byte[100]);
        assertThatThrownBy(() -> NbdServer.builder().export("x", odd, true)).isInstanceOf(IllegalArgumentException.class)
            .hasMessage("export 'x': device odd has 100 bytes past its last whole sector, which this server does not "
                + "serve (its clients would lose them); serve it with a server that serves any size, or copy it to a "
                + "file first");
    }

    @Test
    void anUnknownExportIsRefusedWithTheServersWords() throws Exception {
        NbdServer server = serve(true, NbdServer.builder().export("disk", new MemoryBlockDevice("m", 64), false));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> NbdClient.connect(server.uri("nope")))
            .isInstanceOf(IOException.class).hasMessageContaining("no export 'nope'")
            .hasMessageContaining("'disk'");
    }

    @Test
    void aRequestWithoutReplyTimesOutNamingItAndTheTimeout() throws Exception {
        TestDevices.Holding holding = new TestDevices.Holding(new MemoryBlockDevice("m", SECTORS));
        NbdServer server = serve(true, NbdServer.builder().export("disk", holding, false));
        BlockDevice client = connect(server, "disk", NbdClientOptions.defaults().withRequestTimeout(Duration.ofMillis(300)));
        CompletableFuture<java.io.IOException> lost = client.whenLost().toCompletableFuture();
        long start = System.nanoTime();
        Throwable failure = failure(client.read(8, ByteBuffer.allocate(4096)));
        assertThat(failure).hasMessageContaining("READ of 4096 bytes at offset 4096").hasMessageContaining("timed out")
            .hasMessageContaining("300 ms");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        // The late reply is read and dropped; the connection still works.
        holding.releaseInReverse();
        ByteBuffer again = ByteBuffer.allocate(512);
        CompletableFuture<Void> read = client.read(0, again).toCompletableFuture();
        await().atMost(Duration.ofSeconds(10)).until(() -> holding.heldCount() == 1);
        holding.releaseInReverse();
        done(read);
        client.close();
        assertThat(lost).as("neither a request timed out on a working connection nor a close is a loss").isNotDone();
    }

    @Test
    void aServerClosedMidRequestFailsItPromptlyAndLaterRequestsAtOnce() throws Exception {
        TestDevices.Holding holding = new TestDevices.Holding(new MemoryBlockDevice("m", SECTORS));
        NbdServer server = serve(false, NbdServer.builder().export("disk", holding, false));
        BlockDevice client = connect(server, "disk", NbdClientOptions.defaults());
        CompletableFuture<Void> read = client.read(0, ByteBuffer.allocate(4096)).toCompletableFuture();
        await().atMost(Duration.ofSeconds(10)).until(() -> holding.heldCount() == 1);
        long start = System.nanoTime();
        server.close();
        Throwable failure = failure(read);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(failure).hasMessageContaining("READ of 4096 bytes at offset 0").hasMessageContaining("lost");
        assertThat(failure(client.write(0, ByteBuffer.allocate(512)))).hasMessageContaining("lost");
        // Its user learns it, to open the export again (a snapshot's origin does, H40): the device does not by itself.
        assertThat(client.whenLost().toCompletableFuture().get(10, TimeUnit.SECONDS)).as("why it was lost")
            .hasMessageContaining("lost");
        holding.releaseInReverse();
    }

    @Test
    void severalConnectionsShareTheDeviceAndFlushOnEach() throws Exception {
        TestDevices.Counting counting = new TestDevices.Counting(new MemoryBlockDevice("m", SECTORS));
        NbdServer server = serve(true, NbdServer.builder().export("disk", counting, false));
        NbdBlockDevice client = (NbdBlockDevice) connect(server, "disk", NbdClientOptions.defaults().withConnections(4));
        await().atMost(Duration.ofSeconds(10)).until(() -> client.connectionCount() == 4);
        assertThat(server.connections()).isEqualTo(4);
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        byte[] data = TestDevices.random(4, 8 << 20);
        for (int i = 0; i < 8; i++) {
            writes.add(client.write(i * 2048L, ByteBuffer.wrap(data, i << 20, 1 << 20)).toCompletableFuture());
        }
        done(CompletableFuture.allOf(writes.toArray(new CompletableFuture<?>[0])));
        done(client.flush().toCompletableFuture());
        assertThat(counting.flushes.get()).isEqualTo(4);
        ByteBuffer back = ByteBuffer.allocate(8 << 20);
        done(client.read(0, back).toCompletableFuture());
        assertThat(back.array()).isEqualTo(data);
        client.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> server.connections() == 0);
    }

    @Test
    void aServerServingFewerConnectionsThanAskedForLeavesTheDeviceWithThoseItGot() throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("m", SECTORS);
        NbdServer server = serve(true, NbdServer.builder().export("disk", memory, false).maxConnections(2));
        NbdBlockDevice client = (NbdBlockDevice) connect(server, "disk", NbdClientOptions.defaults().withConnections(4));
        await().atMost(Duration.ofSeconds(10)).until(() -> !client.isOpeningConnections());
        assertThat(client.connectionCount()).isEqualTo(2);
        byte[] data = TestDevices.random(5, 1 << 20);
        done(client.write(0, ByteBuffer.wrap(data)).toCompletableFuture());
        done(client.flush().toCompletableFuture());
        ByteBuffer back = ByteBuffer.allocate(1 << 20);
        done(client.read(0, back).toCompletableFuture());
        assertThat(back.array()).isEqualTo(data);
        client.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> server.connections() == 0);
    }

    @Test
    void theDevicesMinimumBlockIsTheExportsAndRegionsOfItAreAlignedToIt() throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("m", SECTORS);
        BlockDevice fourK = new ForwardingDevice(memory) {
            @Override
            public int minimumBlockBytes() {
                return 4096;
            }
        };
        NbdServer server = serve(true, NbdServer.builder().export("disk", fourK, false));
        BlockDevice client = connect(server, "disk", NbdClientOptions.defaults().withConnections(1));
        assertThat(client.minimumBlockBytes()).isEqualTo(4096);
        assertThatThrownBy(() -> IoRegion.of(client, 1, 8)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("is not aligned to its minimum block of 4096 bytes");
        assertThat(failure(client.write(1, ByteBuffer.allocate(4096))))
            .hasMessageContaining("must be multiples of the server's minimum block size 4096");
        byte[] data = TestDevices.random(6, 8192);
        done(client.write(8, ByteBuffer.wrap(data)).toCompletableFuture());
        ByteBuffer back = ByteBuffer.allocate(8192);
        done(memory.read(8, back).toCompletableFuture());
        assertThat(back.array()).isEqualTo(data);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void twoOpensOfOneExportAreOneDeviceSoTheirRegionsOverlap(boolean unix) throws Exception {
        // As two devices of one file: a job between them is refused where their sectors overlap.
        NbdServer server = serve(unix, NbdServer.builder().export("disk", new MemoryBlockDevice("m", SECTORS), false)
                .export("other", new MemoryBlockDevice("o", SECTORS), false));
        BlockDevice first = connect(server, "disk", NbdClientOptions.defaults());
        BlockDevice second = connect(server, "disk", NbdClientOptions.defaults().withConnections(1));
        BlockDevice other = connect(server, "other", NbdClientOptions.defaults());

        assertThat(second).isEqualTo(first).hasSameHashCodeAs(first).isNotSameAs(first);
        assertThat(other).isNotEqualTo(first);
        assertThat(IoRegion.of(first, 0, 16).overlaps(IoRegion.of(second, 8, 16))).isTrue();
        assertThat(IoRegion.of(first, 0, 16).overlaps(IoRegion.of(other, 8, 16))).isFalse();
        if (unix) {
            // The same socket by another name: a symbolic link to it.
            Path link = java.nio.file.Files.createSymbolicLink(dir.resolve("link.sock"), dir.resolve("nbd.sock"));
            BlockDevice linked = NbdClient.connect(NbdUri.unix(link, "disk"), NbdClientOptions.defaults());
            toClose.add(linked);
            assertThat(linked).isEqualTo(first);
        }
    }

    /**
     * H48-1: a copy from an export to the same export under another spelling of its host mixed the data: the
     * source, opened read-only, was a view equal only to itself. The view is its device, both ways, and an
     * address spelt as an IPv4-mapped IPv6 address is the same server.
     */
    @Test
    void aReadOnlyViewIsTheDeviceItShowsUnderAnySpellingOfTheServersAddress() throws Exception {
        NbdServer server = serve(false, NbdServer.builder().export("disk", new MemoryBlockDevice("m", SECTORS), false));
        int port = ((java.net.InetSocketAddress) server.address()).getPort();
        BlockDevice plain = connect(server, "disk", NbdClientOptions.defaults().withConnections(1));
        BlockDevice mapped = NbdClient.connect(NbdUri.parse("nbd://[::ffff:127.0.0.1]:" + port + "/disk"),
                NbdClientOptions.defaults().withConnections(1));
        toClose.add(mapped);
        BlockDevice view = new org.kcopyd.nbd.internal.client.ReadOnlyDevice(mapped);

        assertThat(mapped).isEqualTo(plain).hasSameHashCodeAs(plain);
        assertThat(view).isEqualTo(plain).hasSameHashCodeAs(plain);
        assertThat(plain).isEqualTo(view);
        assertThat(new org.kcopyd.nbd.internal.client.ReadOnlyDevice(plain)).isEqualTo(view);
        assertThat(IoRegion.of(view, 0, 16).overlaps(IoRegion.of(plain, 8, 16))).isTrue();
        assertThat(IoRegion.of(plain, 8, 16).overlaps(IoRegion.of(view, 0, 16))).isTrue();
    }

    @Test
    void aServerThatBindsTheSocketPathAnotherLeftServesAnotherDevice() throws Exception {
        // The same path and export name, but the first server stopped and a new one made a new socket
        // file: the two devices are not one (a job between them is not refused as overlapping).
        NbdServer before = NbdServer.builder().export("disk", new MemoryBlockDevice("a", SECTORS), false)
                .startUnix(dir.resolve("nbd.sock"));
        toClose.add(before);
        BlockDevice first = connect(before, "disk", NbdClientOptions.defaults());
        before.close();
        NbdServer after = serve(true, NbdServer.builder().export("disk", new MemoryBlockDevice("b", SECTORS), false));
        BlockDevice second = connect(after, "disk", NbdClientOptions.defaults());
        BlockDevice again = connect(after, "disk", NbdClientOptions.defaults());

        assertThat(second).isNotEqualTo(first);
        assertThat(IoRegion.of(first, 0, 16).overlaps(IoRegion.of(second, 0, 16))).isFalse();
        assertThat(again).isEqualTo(second).hasSameHashCodeAs(second);
    }
}
