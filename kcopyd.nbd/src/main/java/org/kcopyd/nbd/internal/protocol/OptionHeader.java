package org.kcopyd.nbd.internal.protocol;

import java.nio.ByteBuffer;

/**
 * An option request header of the fixed newstyle negotiation ({@value Nbd#OPTION_HEADER_SIZE}
 * bytes); {@code length} bytes of option data follow.
 *
 * @param option the option ({@code NBD_OPT_*})
 * @param length the data length (unsigned 32 bits)
 */
public record OptionHeader(int option, long length) {

    /** Writes the header. */
    public void encode(ByteBuffer out) {
        out.putLong(Nbd.IHAVEOPT).putInt(option).putInt((int) length);
    }

    /**
     * Reads a header.
     *
     * @throws ProtocolException if the magic is not 'IHAVEOPT'
     */
    public static OptionHeader decode(ByteBuffer in) throws ProtocolException {
        long magic = in.getLong();
        if (magic != Nbd.IHAVEOPT) {
            throw new ProtocolException("option magic 0x" + Long.toHexString(magic) + " is not IHAVEOPT 0x"
                + Long.toHexString(Nbd.IHAVEOPT));
        }
        int option = in.getInt();
        long length = Integer.toUnsignedLong(in.getInt());
        return new OptionHeader(option, length);
    }
}
