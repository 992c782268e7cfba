package org.kcopyd.nbd.internal.protocol;

import java.nio.ByteBuffer;

/**
 * An option reply header ({@value Nbd#OPTION_REPLY_HEADER_SIZE} bytes); {@code length} bytes of
 * reply data follow.
 *
 * @param option the option this replies to
 * @param type   the reply type ({@code NBD_REP_*})
 * @param length the data length (unsigned 32 bits)
 */
public record OptionReplyHeader(int option, int type, long length) {

    /** Writes the header. */
    public void encode(ByteBuffer out) {
        out.putLong(Nbd.OPTION_REPLY_MAGIC).putInt(option).putInt(type).putInt((int) length);
    }

    /**
     * Reads a header.
     *
     * @throws ProtocolException if the magic is not the option reply magic
     */
    public static OptionReplyHeader decode(ByteBuffer in) throws ProtocolException {
        long magic = in.getLong();
        if (magic != Nbd.OPTION_REPLY_MAGIC) {
            throw new ProtocolException("option reply magic 0x" + Long.toHexString(magic) + " is not 0x"
                + Long.toHexString(Nbd.OPTION_REPLY_MAGIC));
        }
        int option = in.getInt();
        int type = in.getInt();
        long length = Integer.toUnsignedLong(in.getInt());
        return new OptionReplyHeader(option, type, length);
    }

    /** @return true if the type is an error (bit 31) */
    public boolean isError() {
        return Nbd.isErrorReply(type);
    }
}
