package org.kcopyd.nbd.internal.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/** Whole-buffer reads and writes on blocking channels. */
public final class Channels {

    private Channels() {
    }

    /**
     * Reads until the buffer has no remaining space.
     *
     * @param what names what is being read, for the end-of-stream message
     * @throws EOFException if the peer closes the connection first
     */
    public static void readFully(ReadableByteChannel channel, ByteBuffer dst, String what) throws IOException {
        while (dst.hasRemaining()) {
            if (channel.read(dst) < 0) {
                throw new EOFException("connection closed by the peer while reading " + what + " ("
                    + dst.remaining() + " bytes missing)");
            }
        }
    }

    /** Discards {@code length} bytes, reading them through {@code scratch}. */
    public static void skip(ReadableByteChannel channel, long length, ByteBuffer scratch, String what) throws IOException {
        long left = length;
        while (left > 0) {
            scratch.clear().limit((int) Math.min(scratch.capacity(), left));
            readFully(channel, scratch, what);
            left -= scratch.limit();
        }
    }

    /** Writes every buffer's remaining bytes. */
    public static void writeFully(WritableByteChannel channel, ByteBuffer src) throws IOException {
        while (src.hasRemaining()) {
            channel.write(src);
        }
    }

    /** Writes every buffer's remaining bytes, gathering them in as few system calls as possible. */
    public static void writeFully(GatheringByteChannel channel, ByteBuffer... srcs) throws IOException {
        long left = 0;
        for (ByteBuffer src : srcs) {
            left += src.remaining();
        }
        while (left > 0) {
            left -= channel.write(srcs);
        }
    }
}
