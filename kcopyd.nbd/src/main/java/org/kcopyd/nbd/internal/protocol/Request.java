package org.kcopyd.nbd.internal.protocol;

import java.nio.ByteBuffer;

/**
 * A transmission request header ({@value Nbd#REQUEST_HEADER_SIZE} bytes); a WRITE's payload follows
 * it on the wire.
 *
 * @param flags  command flags (16 bits)
 * @param type   command (16 bits)
 * @param cookie the client's handle, echoed by every reply to this request
 * @param offset byte offset (unsigned 64 bits; negative means beyond 2^63)
 * @param length byte length (unsigned 32 bits, 0 to 2^32 - 1)
 */
public record Request(int flags, int type, long cookie, long offset, long length) {

    /** Writes the header at the buffer's position, advancing it by {@value Nbd#REQUEST_HEADER_SIZE}. */
    public void encode(ByteBuffer out) {
        out.putInt(Nbd.REQUEST_MAGIC).putShort((short) flags).putShort((short) type)
            .putLong(cookie).putLong(offset).putInt((int) length);
    }

    /**
     * Reads a header from the buffer's position.
     *
     * @throws ProtocolException if the magic is not {@code NBD_REQUEST_MAGIC}
     */
    public static Request decode(ByteBuffer in) throws ProtocolException {
        int magic = in.getInt();
        if (magic != Nbd.REQUEST_MAGIC) {
            throw new ProtocolException("request magic 0x" + Integer.toHexString(magic)
                + " is not NBD_REQUEST_MAGIC 0x" + Integer.toHexString(Nbd.REQUEST_MAGIC));
        }
        int flags = Short.toUnsignedInt(in.getShort());
        int type = Short.toUnsignedInt(in.getShort());
        long cookie = in.getLong();
        long offset = in.getLong();
        long length = Integer.toUnsignedLong(in.getInt());
        return new Request(flags, type, cookie, offset, length);
    }

    /** @return e.g. {@code READ of 4096 bytes at offset 8192} */
    public String describe() {
        return describe(type, offset, length);
    }

    /** @return e.g. {@code READ of 4096 bytes at offset 8192} for the given command and range */
    public static String describe(int type, long offset, long length) {
        if (type == Nbd.CMD_FLUSH || type == Nbd.CMD_DISC) {
            return Nbd.commandName(type);
        }
        return Nbd.commandName(type) + " of " + length + " bytes at offset " + Long.toUnsignedString(offset);
    }
}
