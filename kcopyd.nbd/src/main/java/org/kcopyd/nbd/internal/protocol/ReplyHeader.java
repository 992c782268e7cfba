package org.kcopyd.nbd.internal.protocol;

import java.nio.ByteBuffer;

/**
 * A reply header as the client reads it: a simple reply ({@value Nbd#SIMPLE_REPLY_SIZE} bytes,
 * an error and, for a successful READ, the data) or a structured reply chunk header
 * ({@value Nbd#STRUCTURED_REPLY_HEADER_SIZE} bytes, then {@code length} bytes of payload).
 *
 * @param structured true for a structured chunk
 * @param flags      chunk flags (structured only)
 * @param type       chunk type (structured only)
 * @param cookie     the request's handle
 * @param error      the simple reply's error (simple only; 0 = success)
 * @param length     the chunk's payload length (structured only, unsigned 32 bits)
 */
public record ReplyHeader(boolean structured, int flags, int type, long cookie, int error, long length) {

    /** @return true if this chunk is the last of its reply (always true for a simple reply) */
    public boolean done() {
        return !structured || (flags & Nbd.REPLY_FLAG_DONE) != 0;
    }

    /**
     * Reads the magic at the buffer's position, without consuming it.
     *
     * @return true if a structured chunk header follows (it needs 4 more bytes than a simple one)
     * @throws ProtocolException if the magic is neither reply magic
     */
    public static boolean isStructured(ByteBuffer in) throws ProtocolException {
        int magic = in.getInt(in.position());
        if (magic == Nbd.STRUCTURED_REPLY_MAGIC) {
            return true;
        }
        if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
            return false;
        }
        throw new ProtocolException("reply magic 0x" + Integer.toHexString(magic) + " is neither NBD_SIMPLE_REPLY_MAGIC 0x"
            + Integer.toHexString(Nbd.SIMPLE_REPLY_MAGIC) + " nor NBD_STRUCTURED_REPLY_MAGIC 0x"
            + Integer.toHexString(Nbd.STRUCTURED_REPLY_MAGIC));
    }

    /** Reads a header (simple or structured, by its magic) from the buffer's position. */
    public static ReplyHeader decode(ByteBuffer in) throws ProtocolException {
        if (isStructured(in)) {
            in.getInt();
            int flags = Short.toUnsignedInt(in.getShort());
            int type = Short.toUnsignedInt(in.getShort());
            long cookie = in.getLong();
            long length = Integer.toUnsignedLong(in.getInt());
            return new ReplyHeader(true, flags, type, cookie, 0, length);
        }
        in.getInt();
        int error = in.getInt();
        long cookie = in.getLong();
        return new ReplyHeader(false, 0, 0, cookie, error, 0);
    }

    /** Writes a simple reply header. */
    public static void encodeSimple(ByteBuffer out, int error, long cookie) {
        out.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(error).putLong(cookie);
    }

    /** Writes a structured chunk header; {@code length} payload bytes must follow. */
    public static void encodeStructured(ByteBuffer out, int flags, int type, long cookie, long length) {
        out.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) flags).putShort((short) type)
            .putLong(cookie).putInt((int) length);
    }
}
