package org.kcopyd.nbd.internal.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.nbd.internal.protocol.Nbd;
import org.kcopyd.nbd.internal.protocol.Request;

/** How the client takes replies: chunks in any order, holes, error chunks, simple replies, broken servers. */
class ClientRepliesTest {

    private static final long SIZE = 1 << 20;

    @TempDir
    Path dir;

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private NbdBlockDevice open(ScriptedServer.Handshake handshake, ScriptedServer.Responder responder)
        throws IOException {
        Path socket = dir.resolve("scripted.sock");
        toClose.add(new ScriptedServer(socket, handshake, responder));
        NbdBlockDevice device = Connector.open("nbd+unix:///?socket=" + socket, null, 0, socket, "", Duration.ofSeconds(10),
            1);
        toClose.add(device);
        return device;
    }

    private static Throwable failure(CompletionStage<Void> stage) throws Exception {
        try {
            stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            return cause.getCause() != null && !(cause instanceof IOException) ? cause.getCause() : cause;
        }
        throw new AssertionError("the stage succeeded");
    }

    private static byte[] filled(int size, int value) {
        byte[] bytes = new byte[size];
        Arrays.fill(bytes, (byte) value);
        return bytes;
    }

    @Test
    void dataAndHoleChunksInAnyOrderLandInTheirPlaces() throws Exception {
        NbdBlockDevice device = open(ScriptedServer.Handshake.normal(SIZE), (request, payload, out) -> {
            long half = request.offset() + request.length() / 2;
            ScriptedServer.chunk(out, 0, Nbd.REPLY_TYPE_OFFSET_HOLE, request.cookie(), 12);
            out.writeLong(half);
            out.writeInt((int) request.length() / 2);
            ScriptedServer.chunk(out, 0, Nbd.REPLY_TYPE_OFFSET_DATA, request.cookie(), 8 + 1024);
            out.writeLong(request.offset() + 1024);
            out.write(filled(1024, 2));
            ScriptedServer.chunk(out, 0, Nbd.REPLY_TYPE_OFFSET_DATA, request.cookie(), 8 + 1024);
            out.writeLong(request.offset());
            out.write(filled(1024, 1));
            ScriptedServer.chunk(out, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, request.cookie(), 0);
        });
        ByteBuffer buffer = ByteBuffer.wrap(filled(4096, 0x55));
        device.read(8, buffer).toCompletableFuture().get(10, TimeUnit.SECONDS);
        byte[] expected = new byte[4096];
        Arrays.fill(expected, 0, 1024, (byte) 1);
        Arrays.fill(expected, 1024, 2048, (byte) 2);
        assertThat(buffer.array()).isEqualTo(expected);
        assertThat(buffer.position()).isEqualTo(4096);
    }

    @Test
    void anErrorOffsetChunkFailsTheReadWithTheErrnoNameAndMessage() throws Exception {
        NbdBlockDevice device = open(ScriptedServer.Handshake.normal(SIZE), (request, payload, out) -> {
            byte[] message = "disk on fire".getBytes(StandardCharsets.UTF_8);
            ScriptedServer.chunk(out, 0, Nbd.REPLY_TYPE_ERROR_OFFSET, request.cookie(), 6 + message.length + 8);
            out.writeInt(Nbd.EIO);
            out.writeShort(message.length);
            out.write(message);
            out.writeLong(request.offset() + 512);
            ScriptedServer.chunk(out, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, request.cookie(), 0);
        });
        assertThat(failure(device.read(0, ByteBuffer.allocate(1024)))).isInstanceOf(IOException.class)
            .hasMessageContaining("READ of 1024 bytes at offset 0").hasMessageContaining("EIO (5): disk on fire")
            .hasMessageContaining("at offset 512");
    }

    @Test
    void tooFewBytesBeforeDoneFailsTheRead() throws Exception {
        NbdBlockDevice device = open(ScriptedServer.Handshake.normal(SIZE), (request, payload, out) -> {
            ScriptedServer.chunk(out, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_OFFSET_DATA, request.cookie(), 8 + 512);
            out.writeLong(request.offset());
            out.write(new byte[512]);
        });
        assertThat(failure(device.read(0, ByteBuffer.allocate(1024))))
            .hasMessageContaining("covered 512 of 1024 bytes");
    }

    @Test
    void aChunkOutsideTheRequestDropsTheConnection() throws Exception {
        NbdBlockDevice device = open(ScriptedServer.Handshake.normal(SIZE), (request, payload, out) -> {
            ScriptedServer.chunk(out, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_OFFSET_DATA, request.cookie(), 8 + 512);
            out.writeLong(request.offset() + request.length());
            out.write(new byte[512]);
        });
        ByteBuffer buffer = ByteBuffer.wrap(filled(512, 9));
        assertThat(failure(device.read(0, buffer))).hasMessageContaining("lies outside READ of 512 bytes at offset 0");
        assertThat(buffer.array()).isEqualTo(filled(512, 9));
        assertThat(failure(device.read(0, ByteBuffer.allocate(512)))).hasMessageContaining("lost");
    }

    @Test
    void aReplyToNoRequestDropsTheConnection() throws Exception {
        NbdBlockDevice device = open(ScriptedServer.Handshake.normal(SIZE), (request, payload, out) -> {
            ScriptedServer.chunk(out, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, request.cookie() + 1000, 0);
        });
        assertThat(failure(device.flush())).hasMessageContaining("cookie").hasMessageContaining("lost");
    }

    @Test
    void simpleRepliesWhenTheServerRefusesStructuredReplies() throws Exception {
        NbdBlockDevice device = open(ScriptedServer.Handshake.normal(SIZE).withStructured(false),
            (request, payload, out) -> {
                if (request.type() == Nbd.CMD_READ) {
                    ScriptedServer.simple(out, 0, request.cookie());
                    out.write(filled((int) request.length(), 7));
                } else {
                    ScriptedServer.simple(out, Nbd.ENOSPC, request.cookie());
                }
            });
        assertThat(device.info().structured()).isFalse();
        ByteBuffer buffer = ByteBuffer.allocate(2048);
        device.read(2, buffer).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(buffer.array()).isEqualTo(filled(2048, 7));
        assertThat(failure(device.write(0, ByteBuffer.allocate(512)))).hasMessageContaining("WRITE of 512 bytes at offset 0")
            .hasMessageContaining("ENOSPC (28)");
    }

    @Test
    void exportNameWhenTheServerDoesNotKnowGo() throws Exception {
        List<Request> seen = java.util.Collections.synchronizedList(new ArrayList<>());
        NbdBlockDevice device = open(ScriptedServer.Handshake.normal(SIZE).withGo(false), (request, payload, out) -> {
            seen.add(request);
            ScriptedServer.chunk(out, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, request.cookie(), 0);
        });
        assertThat(device.sizeInSectors()).isEqualTo(SIZE / 512);
        device.flush().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(seen).hasSize(1);
    }

    @Test
    void theServersBlockSizesAreObeyed() throws Exception {
        List<Request> seen = java.util.Collections.synchronizedList(new ArrayList<>());
        NbdBlockDevice device = open(ScriptedServer.Handshake.normal(SIZE).withBlocks(4096, 64 << 10),
            (request, payload, out) -> {
                seen.add(request);
                ScriptedServer.chunk(out, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, request.cookie(), 0);
            });
        assertThat(failure(device.write(1, ByteBuffer.allocate(4096)))).hasMessageContaining("minimum block size 4096");
        device.write(8, ByteBuffer.allocate(256 << 10)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(seen).hasSize(4).allMatch(request -> request.length() == 64 << 10);
        assertThat(seen.stream().map(Request::offset)).containsExactlyInAnyOrder(4096L, 4096L + (64 << 10),
            4096L + (128 << 10), 4096L + (192 << 10));
    }

    @Test
    void oldstyleAndPlainNewstyleServersAreRefused() throws Exception {
        Path socket = dir.resolve("old.sock");
        toClose.add(new ScriptedServer(socket, ScriptedServer.Handshake.normal(SIZE).withGreeting(Nbd.CLISERV_MAGIC, 0),
            (request, payload, out) -> { }));
        assertThatThrownBy(() -> Connector.open("old", null, 0, socket, "", Duration.ofSeconds(10), 1))
            .hasMessageContaining("oldstyle negotiation, which is not supported");
        Path plain = dir.resolve("plain.sock");
        toClose.add(new ScriptedServer(plain, ScriptedServer.Handshake.normal(SIZE).withGreeting(Nbd.IHAVEOPT, 0),
            (request, payload, out) -> { }));
        assertThatThrownBy(() -> Connector.open("plain", null, 0, plain, "", Duration.ofSeconds(10), 1))
            .hasMessageContaining("does not offer the fixed newstyle negotiation");
    }

    @Test
    void aServerThatStopsReadingFailsTheBlockedWriteWithinTheTimeout() throws Exception {
        java.util.concurrent.CountDownLatch stuck = new java.util.concurrent.CountDownLatch(1);
        Path socket = dir.resolve("stuck.sock");
        toClose.add(new ScriptedServer(socket, ScriptedServer.Handshake.normal(64L << 20), (request, payload, out) -> {
            try {
                stuck.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        toClose.add(stuck::countDown);
        NbdBlockDevice device = Connector.open("stuck", null, 0, socket, "", Duration.ofMillis(300), 1);
        toClose.add(device);
        // The first write is taken, then nobody reads: the big one (split at the 1 MiB maximum) cannot be
        // sent and blocks its caller.
        device.write(0, ByteBuffer.allocate(512));
        java.util.concurrent.CompletableFuture<Void> big = java.util.concurrent.CompletableFuture
            .supplyAsync(() -> device.write(8, ByteBuffer.allocate(16 << 20)))
            .thenCompose(stage -> stage);
        assertThat(failure(big)).hasMessageContaining("WRITE of 1048576 bytes at offset 4096 on stuck #1 failed")
            .hasMessageContaining("stalled for the request timeout of 300 ms");
    }

    @Test
    void oneConnectionOnlyWhenTheServerDoesNotAdvertiseMultiConn() throws Exception {
        Path socket = dir.resolve("single.sock");
        toClose.add(new ScriptedServer(socket, ScriptedServer.Handshake.normal(SIZE), (request, payload, out) ->
            ScriptedServer.chunk(out, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, request.cookie(), 0)));
        NbdBlockDevice device = Connector.open("single", null, 0, socket, "", Duration.ofSeconds(10), 4);
        toClose.add(device);
        assertThat(device.info().has(Nbd.FLAG_CAN_MULTI_CONN)).isFalse();
        assertThat(device.connectionCount()).isEqualTo(1);
        device.flush().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void aMultiConnServerThatServesOneConnectionLeavesTheDeviceWithOneAndCloseEndsTheWaitingHandshake()
        throws Exception {
        // As qemu-nbd --shared=1: multi-conn advertised, one client served, the others left unanswered.
        Path socket = dir.resolve("shared1.sock");
        ScriptedServer.Handshake multiConn = ScriptedServer.Handshake.normal(SIZE).withFlags(Nbd.FLAG_HAS_FLAGS
            | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_CAN_MULTI_CONN);
        toClose.add(new ScriptedServer(socket, multiConn, (request, payload, out) ->
            ScriptedServer.chunk(out, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, request.cookie(), 0)));
        long start = System.nanoTime();
        NbdBlockDevice device = Connector.open("shared1", null, 0, socket, "", Duration.ofSeconds(60), 4);
        toClose.add(device);
        device.flush().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        assertThat(device.connectionCount()).isEqualTo(1);
        assertThat(device.isOpeningConnections()).isTrue();
        device.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> !device.isOpeningConnections());
        assertThat(device.connectionCount()).isEqualTo(1);
    }

    @Test
    void nothingListeningIsReportedWithTheUri() {
        Path socket = dir.resolve("nobody.sock");
        assertThatThrownBy(() -> Connector.open("nbd+unix:///?socket=" + socket, null, 0, socket, "",
            Duration.ofSeconds(10), 1)).isInstanceOf(IOException.class)
            .hasMessageContaining("nbd+unix:///?socket=" + socket).hasMessageContaining("cannot open the export");
    }
}
