package org.kcopyd.nbd.internal.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.SocketChannel;

/**
 * The byte stream of one NBD connection: the socket itself, or TLS over it after
 * {@code NBD_OPT_STARTTLS}. Blocking. One thread reads; writers serialize themselves (the
 * connection's write lock), and a TLS wire also serializes its own writes. {@link #close()}
 * closes the socket at once, from any thread, which fails blocked reads and writes.
 */
public interface Wire extends ByteChannel, GatheringByteChannel {

    /** @return a wire that reads and writes the socket as it is */
    static Wire plain(SocketChannel socket) {
        return new PlainWire(socket);
    }

    /** @return true once TLS protects this wire */
    default boolean secure() {
        return false;
    }

    /**
     * Ends the stream in an orderly way before {@link #close()}: TLS sends its close_notify
     * alert; a plain wire sends nothing. Best effort, call it only when no write is blocked.
     */
    default void finish() throws IOException {
    }

    /** The socket as it is. */
    final class PlainWire implements Wire {

        private final SocketChannel socket;

        PlainWire(SocketChannel socket) {
            this.socket = socket;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return socket.read(dst);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return socket.write(src);
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            return socket.write(srcs, offset, length);
        }

        @Override
        public long write(ByteBuffer[] srcs) throws IOException {
            return socket.write(srcs);
        }

        @Override
        public boolean isOpen() {
            return socket.isOpen();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
