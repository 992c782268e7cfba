package org.kcopyd.nbd.internal.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Encoders and decoders of structured reply chunk payloads other than data. */
public final class ChunkPayloads {

    /** Bytes of an {@code NBD_REPLY_TYPE_OFFSET_HOLE} payload. */
    public static final int HOLE_SIZE = 12;
    /** Bytes of the offset that starts an {@code NBD_REPLY_TYPE_OFFSET_DATA} payload. */
    public static final int DATA_OFFSET_SIZE = 8;

    private ChunkPayloads() {
    }

    /**
     * An error chunk ({@code NBD_REPLY_TYPE_ERROR} or {@code NBD_REPLY_TYPE_ERROR_OFFSET}).
     *
     * @param error   the error value (nonzero)
     * @param message the server's message ("" if none)
     * @param offset  the error's byte offset, or -1 for {@code NBD_REPLY_TYPE_ERROR}
     */
    public record ErrorChunk(int error, String message, long offset) {

        /** @return the payload of an {@code NBD_REPLY_TYPE_ERROR} with this error and message */
        public static ByteBuffer encode(int error, String message) {
            byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
            int length = Math.min(bytes.length, Nbd.MAX_STRING);
            return ByteBuffer.allocate(6 + length).putInt(error).putShort((short) length).put(bytes, 0, length).flip();
        }

        /**
         * Reads an error chunk's payload.
         *
         * @param type the chunk type (any type with bit 15 set)
         * @throws ProtocolException if the message length overruns the payload
         */
        public static ErrorChunk decode(int type, ByteBuffer in) throws ProtocolException {
            if (in.remaining() < 6) {
                throw new ProtocolException("error chunk of " + in.remaining() + " bytes is shorter than 6");
            }
            int error = in.getInt();
            int messageLength = Short.toUnsignedInt(in.getShort());
            if (messageLength > in.remaining()) {
                throw new ProtocolException("error chunk message length " + messageLength + " overruns the chunk's "
                    + in.remaining() + " bytes");
            }
            String message = Strings.lenient(in, messageLength);
            long offset = -1;
            if (type == Nbd.REPLY_TYPE_ERROR_OFFSET) {
                if (in.remaining() != 8) {
                    throw new ProtocolException("NBD_REPLY_TYPE_ERROR_OFFSET has " + in.remaining()
                        + " bytes after its message, expected 8");
                }
                offset = in.getLong();
            }
            return new ErrorChunk(error, message, offset);
        }
    }

    /**
     * A hole chunk ({@code NBD_REPLY_TYPE_OFFSET_HOLE}).
     *
     * @param offset absolute byte offset
     * @param size   bytes that read as zero (unsigned 32 bits, nonzero)
     */
    public record Hole(long offset, long size) {

        /** Reads a hole payload of exactly {@value ChunkPayloads#HOLE_SIZE} bytes. */
        public static Hole decode(ByteBuffer in) throws ProtocolException {
            if (in.remaining() != HOLE_SIZE) {
                throw new ProtocolException("NBD_REPLY_TYPE_OFFSET_HOLE of " + in.remaining() + " bytes, expected "
                    + HOLE_SIZE);
            }
            long offset = in.getLong();
            long size = Integer.toUnsignedLong(in.getInt());
            if (size == 0) {
                throw new ProtocolException("NBD_REPLY_TYPE_OFFSET_HOLE at offset " + offset + " has size 0");
            }
            return new Hole(offset, size);
        }
    }

    /** @return a block status payload: the context id and one extent of {@code length} bytes */
    public static ByteBuffer blockStatus(int contextId, long length, int status) {
        return ByteBuffer.allocate(12).putInt(contextId).putInt((int) length).putInt(status).flip();
    }

    /**
     * One extent of a block status reply.
     *
     * @param length bytes (unsigned 32 bits, nonzero)
     * @param status {@code NBD_STATE_*} flags
     */
    public record Extent(long length, int status) {

        /**
         * Reads a block status payload's extents (after its context id).
         *
         * @throws ProtocolException if the length is not 4 + a positive multiple of 8, or an extent is empty
         */
        public static List<Extent> decodeAll(ByteBuffer in) throws ProtocolException {
            if (in.remaining() < 12 || (in.remaining() - 4) % 8 != 0) {
                throw new ProtocolException("NBD_REPLY_TYPE_BLOCK_STATUS of " + in.remaining()
                    + " bytes is not 4 + a positive multiple of 8");
            }
            in.getInt();
            List<Extent> extents = new ArrayList<>();
            while (in.hasRemaining()) {
                long length = Integer.toUnsignedLong(in.getInt());
                int status = in.getInt();
                if (length == 0) {
                    throw new ProtocolException("block status extent of length 0");
                }
                extents.add(new Extent(length, status));
            }
            return extents;
        }
    }
}
