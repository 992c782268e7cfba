package org.kcopyd.nbd.internal.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * Buffered reading from a blocking channel: headers come from a buffer filled by as few system
 * calls as possible, payloads go straight into the caller's buffer once the buffered bytes are
 * used up. Not thread-safe: one reader thread per channel.
 */
public final class ChannelReader {

    private final ReadableByteChannel channel;
    private final ByteBuffer buffer;

    /** @param capacity the buffer's size, at least the largest header read with {@link #require} */
    public ChannelReader(ReadableByteChannel channel, int capacity) {
        this.channel = channel;
        this.buffer = ByteBuffer.allocateDirect(capacity).flip();
    }

    /**
     * Makes {@code n} bytes available.
     *
     * @return the buffer, positioned at them (read them with its relative getters)
     * @throws EOFException if the peer closes the connection first
     */
    public ByteBuffer require(int n, String what) throws IOException {
        if (buffer.remaining() >= n) {
            return buffer;
        }
        if (n > buffer.capacity()) {
            throw new IllegalArgumentException(what + " of " + n + " bytes exceeds the read buffer of " + buffer.capacity());
        }
        buffer.compact();
        try {
            while (buffer.position() < n) {
                if (channel.read(buffer) < 0) {
                    throw new EOFException("connection closed by the peer while reading " + what + " ("
                        + (n - buffer.position()) + " of " + n + " bytes missing)");
                }
            }
        } finally {
            buffer.flip();
        }
        return buffer;
    }

    /** Fills {@code dst}'s remaining space: buffered bytes first, then directly from the channel. */
    public void readFully(ByteBuffer dst, String what) throws IOException {
        if (buffer.hasRemaining()) {
            int n = Math.min(buffer.remaining(), dst.remaining());
            int limit = buffer.limit();
            buffer.limit(buffer.position() + n);
            dst.put(buffer);
            buffer.limit(limit);
        }
        Channels.readFully(channel, dst, what);
    }

    /** @return bytes read from the channel and not yet consumed */
    public int buffered() {
        return buffer.remaining();
    }

    /** Discards {@code n} bytes. */
    public void skip(long n, String what) throws IOException {
        long left = n;
        while (left > 0) {
            if (!buffer.hasRemaining()) {
                require(1, what);
            }
            int step = (int) Math.min(left, buffer.remaining());
            buffer.position(buffer.position() + step);
            left -= step;
        }
    }
}
