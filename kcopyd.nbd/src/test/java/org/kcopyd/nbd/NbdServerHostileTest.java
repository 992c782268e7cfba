package org.kcopyd.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.nbd.internal.protocol.Nbd;

/** Clients that break the rules, over raw TCP: the server answers per the spec or disconnects them, and stays up. */
class NbdServerHostileTest {

    private static final long SECTORS = 2048;

    private final MemoryBlockDevice memory = new MemoryBlockDevice("mem", SECTORS);
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private NbdServer server;

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private NbdServer start(NbdServer.Builder builder) throws IOException {
        server = builder.startTcp("127.0.0.1", 0);
        toClose.add(server);
        return server;
    }

    private NbdServer start() throws IOException {
        return start(NbdServer.builder().export("disk", memory, false).export("ro", memory, true));
    }

    private RawClient raw() throws IOException {
        RawClient client = new RawClient(server.address());
        toClose.add(client);
        return client;
    }

    /** Another, well-behaved client still reads and writes. */
    private void anotherClientStillWorks() throws Exception {
        try (BlockDevice client = NbdClient.connect(server.uri("disk"))) {
            byte[] data = TestDevices.random(9, 4096);
            client.write(16, ByteBuffer.wrap(data)).toCompletableFuture().get();
            ByteBuffer back = ByteBuffer.allocate(4096);
            client.read(16, back).toCompletableFuture().get();
            assertThat(back.array()).isEqualTo(data);
        }
    }

    @Test
    void garbageInsteadOfAnOptionIsDisconnected() throws Exception {
        start();
        RawClient client = raw();
        client.greet();
        client.out.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        client.out.flush();
        assertThat(client.closedByServer()).isTrue();
        anotherClientStillWorks();
    }

    @Test
    void unknownClientFlagsAreDisconnected() throws Exception {
        start();
        RawClient client = raw();
        client.in.readLong();
        client.in.readLong();
        client.in.readUnsignedShort();
        client.out.writeInt(0x80);
        client.out.flush();
        assertThat(client.closedByServer()).isTrue();
        anotherClientStillWorks();
    }

    @Test
    void anOptionLongerThanTheLimitIsDisconnectedWithoutReadingIt() throws Exception {
        start();
        RawClient client = raw();
        client.greet();
        client.out.writeLong(Nbd.IHAVEOPT);
        client.out.writeInt(Nbd.OPT_GO);
        client.out.writeInt(Integer.MAX_VALUE);
        client.out.flush();
        assertThat(client.closedByServer()).isTrue();
        anotherClientStillWorks();
    }

    @Test
    void unknownOptionsGetUnsupAndTheNegotiationGoesOn() throws Exception {
        start();
        RawClient client = raw();
        client.greet();
        client.sendOption(42, new byte[] {1, 2, 3});
        RawClient.OptionReply reply = client.readOptionReply();
        assertThat(reply.option()).isEqualTo(42);
        assertThat(reply.type()).isEqualTo(Nbd.REP_ERR_UNSUP);
        client.sendOption(Nbd.OPT_STARTTLS, new byte[0]);
        assertThat(client.readOptionReply().type()).isEqualTo(Nbd.REP_ERR_UNSUP);
        client.sendOption(Nbd.OPT_LIST, new byte[0]);
        List<String> names = new ArrayList<>();
        RawClient.OptionReply entry;
        while ((entry = client.readOptionReply()).type() == Nbd.REP_SERVER) {
            names.add(new String(entry.data(), 4, entry.data().length - 4, StandardCharsets.UTF_8));
        }
        assertThat(entry.type()).isEqualTo(Nbd.REP_ACK);
        assertThat(names).containsExactly("disk", "ro");
        client.go("disk", true);
    }

    @Test
    void anUnknownExportGetsErrUnknownAndExportNameDisconnects() throws Exception {
        start();
        RawClient client = raw();
        client.greet();
        byte[] data = ByteBuffer.allocate(4 + 4 + 2).putInt(4).put("nope".getBytes(StandardCharsets.UTF_8))
            .putShort((short) 0).array();
        client.sendOption(Nbd.OPT_INFO, data);
        RawClient.OptionReply reply = client.readOptionReply();
        assertThat(reply.type()).isEqualTo(Nbd.REP_ERR_UNKNOWN);
        assertThat(reply.text()).contains("'nope'").contains("'disk'");
        client.sendOption(Nbd.OPT_EXPORT_NAME, "nope".getBytes(StandardCharsets.UTF_8));
        assertThat(client.closedByServer()).isTrue();
    }

    @Test
    void blockStatusWithoutAContextAndMetaContextBeforeStructuredAreRefused() throws Exception {
        start();
        RawClient client = raw();
        client.greet();
        byte[] query = ByteBuffer.allocate(4 + 4 + 4 + 4 + 15).putInt(4).put("disk".getBytes(StandardCharsets.UTF_8))
            .putInt(1).putInt(15).put(Nbd.BASE_ALLOCATION.getBytes(StandardCharsets.UTF_8)).array();
        client.sendOption(Nbd.OPT_SET_META_CONTEXT, query);
        assertThat(client.readOptionReply().type()).isEqualTo(Nbd.REP_ERR_INVALID);
        client.go("disk", true);
        client.request(Nbd.CMD_BLOCK_STATUS, 0, 1, 0, 4096, null);
        RawClient.Reply reply = client.readReply(0);
        assertThat(reply.error()).isEqualTo(Nbd.EINVAL);
    }

    @Test
    void requestsPastTheEndGetEinvalForReadsAndEnospcForWrites() throws Exception {
        start();
        RawClient client = raw();
        client.greet();
        client.go("disk", true);
        long end = SECTORS * 512;
        client.request(Nbd.CMD_READ, 0, 1, end - 512, 1024, null);
        RawClient.Reply read = client.readReply(0);
        assertThat(read.cookie()).isEqualTo(1);
        assertThat(read.type()).isEqualTo(Nbd.REPLY_TYPE_ERROR);
        assertThat(read.error()).isEqualTo(Nbd.EINVAL);
        assertThat(new String(read.payload(), 6, read.payload().length - 6, StandardCharsets.UTF_8))
            .contains("READ of 1024 bytes at offset " + (end - 512)).contains("(" + end + " bytes)");
        client.request(Nbd.CMD_WRITE, 0, 2, end, 512, new byte[512]);
        assertThat(client.readReply(0).error()).isEqualTo(Nbd.ENOSPC);
        client.request(Nbd.CMD_WRITE_ZEROES, 0, 3, end - 512, 1024, null);
        assertThat(client.readReply(0).error()).isEqualTo(Nbd.ENOSPC);
        client.request(Nbd.CMD_READ, 0, 4, 100, 512, null);
        assertThat(client.readReply(0).error()).as("unaligned").isEqualTo(Nbd.EINVAL);
        client.request(99, 0, 5, 0, 512, null);
        assertThat(client.readReply(0).error()).as("unknown command").isEqualTo(Nbd.EINVAL);
        client.request(Nbd.CMD_READ, 0x100, 6, 0, 512, null);
        assertThat(client.readReply(0).error()).as("unknown flag").isEqualTo(Nbd.EINVAL);
        // The refused write's payload was skipped: the connection is still in step.
        client.request(Nbd.CMD_READ, 0, 7, 0, 512, null);
        RawClient.Reply ok = client.readReply(512);
        assertThat(ok.cookie()).isEqualTo(7);
        assertThat(ok.type()).isEqualTo(Nbd.REPLY_TYPE_OFFSET_DATA);
        assertThat(ok.flags() & Nbd.REPLY_FLAG_DONE).isEqualTo(Nbd.REPLY_FLAG_DONE);
        assertThat(ok.payload()).hasSize(8 + 512);
    }

    @Test
    void writesOnAReadOnlyExportGetEperm() throws Exception {
        start();
        RawClient client = raw();
        client.greet();
        client.go("ro", false);
        client.request(Nbd.CMD_WRITE, 0, 1, 0, 512, TestDevices.random(5, 512));
        RawClient.Reply reply = client.readReply(0);
        assertThat(reply.type()).as("a simple reply without structured replies").isEqualTo(-1);
        assertThat(reply.error()).isEqualTo(Nbd.EPERM);
        client.request(Nbd.CMD_WRITE_ZEROES, 0, 2, 0, 512, null);
        assertThat(client.readReply(0).error()).isEqualTo(Nbd.EPERM);
        ByteBuffer back = ByteBuffer.allocate(512);
        memory.read(0, back).toCompletableFuture().get();
        assertThat(back.array()).isEqualTo(new byte[512]);
    }

    @Test
    void fastZeroOnADeviceThatCannotZeroGetsEnotsupAndFuaFlushes() throws Exception {
        TestDevices.Counting counting = new TestDevices.Counting(memory);
        start(NbdServer.builder().export("disk", counting, false));
        RawClient client = raw();
        client.greet();
        client.go("disk", false);
        client.request(Nbd.CMD_WRITE_ZEROES, Nbd.CMD_FLAG_FAST_ZERO, 1, 0, 4096, null);
        assertThat(client.readReply(0).error()).isEqualTo(Nbd.ENOTSUP);
        assertThat(counting.writes.get()).isZero();
        client.request(Nbd.CMD_WRITE, Nbd.CMD_FLAG_FUA, 2, 0, 512, new byte[512]);
        assertThat(client.readReply(0).error()).isZero();
        assertThat(counting.flushes.get()).isEqualTo(1);
        client.request(Nbd.CMD_TRIM, 0, 3, 0, 512, null);
        assertThat(client.readReply(0).error()).as("TRIM not advertised").isEqualTo(Nbd.EINVAL);
    }

    @Test
    void aClientVanishingInTheMiddleOfAWritePayloadLeavesTheServerUp() throws Exception {
        start();
        RawClient client = raw();
        client.greet();
        client.go("disk", true);
        byte[] half = new byte[2048];
        Arrays.fill(half, (byte) 7);
        client.request(Nbd.CMD_WRITE, 0, 1, 0, 4096, half);
        client.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> server.connections() == 0);
        ByteBuffer back = ByteBuffer.allocate(4096);
        memory.read(0, back).toCompletableFuture().get();
        assertThat(back.array()).as("nothing of the incomplete write was written").isEqualTo(new byte[4096]);
        anotherClientStillWorks();
    }

    @Test
    void aWriteLongerThanTheMaximumIsDisconnected() throws Exception {
        start();
        RawClient client = raw();
        client.greet();
        client.go("disk", true);
        client.request(Nbd.CMD_WRITE, 0, 1, 0, (64L << 20), null);
        assertThat(client.closedByServer()).isTrue();
        anotherClientStillWorks();
    }

    @Test
    void connectionsOverTheCapAreClosedAtOnceAndIdleHandshakesTimeOut() throws Exception {
        start(NbdServer.builder().export("disk", memory, false).maxConnections(3)
            .handshakeTimeout(Duration.ofMillis(500)));
        List<RawClient> idle = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            RawClient client = raw();
            client.greet();
            idle.add(client);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> server.connections() == 3);
        RawClient extra = raw();
        assertThat(extra.closedByServer()).as("the fourth connection").isTrue();
        for (RawClient client : idle) {
            assertThat(client.closedByServer()).as("an idle handshake after the timeout").isTrue();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> server.connections() == 0);
        anotherClientStillWorks();
    }

    @Test
    void badMagicInTransmissionIsDisconnected() throws Exception {
        start();
        RawClient client = raw();
        client.greet();
        client.go("disk", true);
        client.out.writeInt(0x12345678);
        client.out.write(new byte[24]);
        client.out.flush();
        assertThat(client.closedByServer()).isTrue();
        anotherClientStillWorks();
    }

    @Test
    void aSoftDisconnectAnswersWhatIsInFlightFirst() throws Exception {
        start();
        RawClient client = raw();
        client.greet();
        client.go("disk", false);
        byte[] data = TestDevices.random(6, 512);
        client.request(Nbd.CMD_WRITE, 0, 1, 512, 512, data);
        client.request(Nbd.CMD_DISC, 0, 2, 0, 0, null);
        assertThat(client.readReply(0).error()).isZero();
        assertThat(client.closedByServer()).isTrue();
        ByteBuffer back = ByteBuffer.allocate(512);
        memory.read(1, back).toCompletableFuture().get();
        assertThat(back.array()).isEqualTo(data);
    }
}
