package org.kcopyd.nbd.internal.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.kcopyd.nbd.internal.protocol.ChunkPayloads.ErrorChunk;
import org.kcopyd.nbd.internal.protocol.ChunkPayloads.Extent;
import org.kcopyd.nbd.internal.protocol.ChunkPayloads.Hole;
import org.kcopyd.nbd.internal.protocol.OptionPayloads.InfoRequest;
import org.kcopyd.nbd.internal.protocol.OptionPayloads.MetaContext;
import org.kcopyd.nbd.internal.protocol.OptionPayloads.MetaContextRequest;

/** The wire formats, byte for byte as doc/proto.md lays them out. */
class CodecTest {

    private static String hex(ByteBuffer buffer) {
        ByteBuffer copy = buffer.duplicate();
        byte[] bytes = new byte[copy.remaining()];
        copy.get(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    private static ByteBuffer bytes(String hex) {
        return ByteBuffer.wrap(HexFormat.of().parseHex(hex));
    }

    @Test
    void magicNumbersSpellTheirNames() {
        assertThat(hex(ByteBuffer.allocate(8).putLong(0, Nbd.NBDMAGIC)))
            .isEqualTo(hex(ByteBuffer.wrap("NBDMAGIC".getBytes())));
        assertThat(hex(ByteBuffer.allocate(8).putLong(0, Nbd.IHAVEOPT)))
            .isEqualTo(hex(ByteBuffer.wrap("IHAVEOPT".getBytes())));
    }

    @Test
    void requestHeaderLayout() throws ProtocolException {
        ByteBuffer out = ByteBuffer.allocate(Nbd.REQUEST_HEADER_SIZE);
        new Request(Nbd.CMD_FLAG_FUA, Nbd.CMD_WRITE, 0x0102030405060708L, 0x1000, 0x200).encode(out);
        assertThat(out.position()).isEqualTo(28);
        assertThat(hex(out.flip())).isEqualTo("25609513" + "0001" + "0001" + "0102030405060708" + "0000000000001000"
            + "00000200");
        Request back = Request.decode(out);
        assertThat(back).isEqualTo(new Request(1, 1, 0x0102030405060708L, 0x1000, 0x200));
    }

    @Test
    void requestLengthAndFlagsAreUnsigned() throws ProtocolException {
        Request request = Request.decode(bytes("25609513" + "ffff" + "0007" + "0000000000000001" + "8000000000000000"
            + "ffffffff"));
        assertThat(request.flags()).isEqualTo(0xffff);
        assertThat(request.type()).isEqualTo(Nbd.CMD_BLOCK_STATUS);
        assertThat(request.length()).isEqualTo(0xffffffffL);
        assertThat(request.offset()).isNegative();
        assertThat(request.describe()).contains("9223372036854775808");
    }

    @Test
    void requestWithBadMagicIsRefusedNamingIt() {
        assertThatThrownBy(() -> Request.decode(bytes("12560953" + "0".repeat(48))))
            .isInstanceOf(ProtocolException.class).hasMessageContaining("0x12560953").hasMessageContaining("0x25609513");
    }

    @Test
    void simpleReplyLayout() throws ProtocolException {
        ByteBuffer out = ByteBuffer.allocate(16);
        ReplyHeader.encodeSimple(out, Nbd.EIO, 42);
        assertThat(hex(out.flip())).isEqualTo("67446698" + "00000005" + "000000000000002a");
        ReplyHeader header = ReplyHeader.decode(out);
        assertThat(header.structured()).isFalse();
        assertThat(header.error()).isEqualTo(5);
        assertThat(header.cookie()).isEqualTo(42);
        assertThat(header.done()).isTrue();
    }

    @Test
    void structuredReplyLayout() throws ProtocolException {
        ByteBuffer out = ByteBuffer.allocate(20);
        ReplyHeader.encodeStructured(out, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_OFFSET_DATA, 7, 0x1008);
        assertThat(hex(out.flip())).isEqualTo("668e33ef" + "0001" + "0001" + "0000000000000007" + "00001008");
        ReplyHeader header = ReplyHeader.decode(out);
        assertThat(header).isEqualTo(new ReplyHeader(true, 1, 1, 7, 0, 0x1008));
        assertThat(header.done()).isTrue();
        assertThat(new ReplyHeader(true, 0, 1, 7, 0, 9).done()).isFalse();
    }

    @Test
    void replyWithBadMagicIsRefused() {
        assertThatThrownBy(() -> ReplyHeader.decode(bytes("96744668" + "0".repeat(24))))
            .isInstanceOf(ProtocolException.class).hasMessageContaining("0x96744668");
    }

    @Test
    void optionHeaders() throws ProtocolException {
        ByteBuffer out = ByteBuffer.allocate(16);
        new OptionHeader(Nbd.OPT_GO, 10).encode(out);
        assertThat(hex(out.flip())).isEqualTo("49484156454f5054" + "00000007" + "0000000a");
        assertThat(OptionHeader.decode(out)).isEqualTo(new OptionHeader(7, 10));
        ByteBuffer reply = ByteBuffer.allocate(20);
        new OptionReplyHeader(Nbd.OPT_GO, Nbd.REP_ERR_UNKNOWN, 3).encode(reply);
        assertThat(hex(reply.flip())).isEqualTo("0003e889045565a9" + "00000007" + "80000006" + "00000003");
        OptionReplyHeader back = OptionReplyHeader.decode(reply);
        assertThat(back.isError()).isTrue();
        assertThat(Nbd.replyName(back.type())).isEqualTo("NBD_REP_ERR_UNKNOWN");
        assertThatThrownBy(() -> OptionHeader.decode(bytes("4e42444d41474943" + "0".repeat(16))))
            .hasMessageContaining("IHAVEOPT");
    }

    @Test
    void infoRequestRoundTripAndLayout() throws ProtocolException {
        ByteBuffer data = new InfoRequest("disk", List.of(Nbd.INFO_BLOCK_SIZE)).encode();
        assertThat(hex(data)).isEqualTo("00000004" + "6469736b" + "0001" + "0003");
        assertThat(InfoRequest.decode(data)).isEqualTo(new InfoRequest("disk", List.of(3)));
    }

    @Test
    void infoRequestWithANameOverrunningTheOptionIsRefused() {
        assertThatThrownBy(() -> InfoRequest.decode(bytes("00000010" + "6469736b" + "0000")))
            .isInstanceOf(ProtocolException.class).hasMessageContaining("export name length 16");
        assertThatThrownBy(() -> InfoRequest.decode(bytes("00000000" + "0002" + "0003")))
            .isInstanceOf(ProtocolException.class).hasMessageContaining("2 information requests need 4 bytes");
    }

    @Test
    void metaContextRequestRoundTrip() throws ProtocolException {
        ByteBuffer data = new MetaContextRequest("", List.of("base:allocation", "qemu:dirty")).encode();
        assertThat(MetaContextRequest.decode(data)).isEqualTo(new MetaContextRequest("",
            List.of("base:allocation", "qemu:dirty")));
        assertThatThrownBy(() -> MetaContextRequest.decode(bytes("00000000" + "ffffffff")))
            .isInstanceOf(ProtocolException.class).hasMessageContaining("4294967295 queries");
        assertThatThrownBy(() -> MetaContextRequest.decode(bytes("00000000" + "00000001" + "00000005" + "6161")))
            .isInstanceOf(ProtocolException.class).hasMessageContaining("query length 5");
    }

    @Test
    void infoReplies() {
        assertThat(hex(OptionPayloads.infoExport(0x100000, 0x0d8d))).isEqualTo("0000" + "0000000000100000" + "0d8d");
        assertThat(hex(OptionPayloads.infoBlockSize(512, 4096, 1 << 25))).isEqualTo("0003" + "00000200" + "00001000"
            + "02000000");
        assertThat(hex(OptionPayloads.server("a"))).isEqualTo("00000001" + "61");
    }

    @Test
    void metaContextReply() throws ProtocolException {
        ByteBuffer data = OptionPayloads.metaContext(1, Nbd.BASE_ALLOCATION);
        assertThat(MetaContext.decode(data)).isEqualTo(new MetaContext(1, "base:allocation"));
    }

    @Test
    void errorChunks() throws ProtocolException {
        ByteBuffer error = ErrorChunk.encode(Nbd.EIO, "bad");
        assertThat(hex(error)).isEqualTo("00000005" + "0003" + "626164");
        assertThat(ErrorChunk.decode(Nbd.REPLY_TYPE_ERROR, error)).isEqualTo(new ErrorChunk(5, "bad", -1));
        ErrorChunk withOffset = ErrorChunk.decode(Nbd.REPLY_TYPE_ERROR_OFFSET,
            bytes("00000016" + "0000" + "0000000000001000"));
        assertThat(withOffset).isEqualTo(new ErrorChunk(22, "", 4096));
        assertThatThrownBy(() -> ErrorChunk.decode(Nbd.REPLY_TYPE_ERROR, bytes("00000005" + "0009" + "6162")))
            .isInstanceOf(ProtocolException.class).hasMessageContaining("message length 9");
    }

    @Test
    void holeChunk() throws ProtocolException {
        assertThat(Hole.decode(bytes("0000000000000200" + "00000400"))).isEqualTo(new Hole(512, 1024));
        assertThatThrownBy(() -> Hole.decode(bytes("0000000000000200" + "00000000")))
            .hasMessageContaining("size 0");
        assertThatThrownBy(() -> Hole.decode(bytes("0000000000000200"))).hasMessageContaining("8 bytes, expected 12");
    }

    @Test
    void blockStatusChunk() throws ProtocolException {
        ByteBuffer payload = ChunkPayloads.blockStatus(1, 0x10000, 0);
        assertThat(hex(payload)).isEqualTo("00000001" + "00010000" + "00000000");
        assertThat(Extent.decodeAll(payload)).containsExactly(new Extent(0x10000, 0));
        assertThat(Extent.decodeAll(bytes("00000001" + "00000200" + "00000003" + "00000400" + "00000000")))
            .containsExactly(new Extent(512, 3), new Extent(1024, 0));
        assertThatThrownBy(() -> Extent.decodeAll(bytes("00000001" + "00000200"))).hasMessageContaining("8 bytes");
    }

    @Test
    void stringsAreBounded() {
        assertThatThrownBy(() -> Strings.encode("export name", "x".repeat(4097))).hasMessageContaining("4097 bytes")
            .hasMessageContaining("4096");
        assertThatThrownBy(() -> Strings.encode("export name", "a\0b")).hasMessageContaining("NUL");
        assertThatThrownBy(() -> Strings.decode("name", bytes("c328"), 2)).hasMessageContaining("not valid UTF-8");
    }

    @Test
    void names() {
        assertThat(Nbd.errorName(Nbd.ENOSPC)).isEqualTo("ENOSPC (28)");
        assertThat(Nbd.errorName(99)).isEqualTo("unknown error (99)");
        assertThat(Nbd.commandName(Nbd.CMD_WRITE_ZEROES)).isEqualTo("WRITE_ZEROES");
        assertThat(Nbd.optionName(Nbd.OPT_SET_META_CONTEXT)).isEqualTo("NBD_OPT_SET_META_CONTEXT");
        assertThat(Nbd.REP_ERR_TOO_BIG).isEqualTo((1 << 31) + 9);
        assertThat(Nbd.REPLY_TYPE_ERROR_OFFSET).isEqualTo((1 << 15) + 2);
    }
}
