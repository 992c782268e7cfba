package org.kcopyd.nbd.internal.tls;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;

import org.kcopyd.nbd.internal.protocol.Wire;

/**
 * TLS over a blocking socket with a JDK {@link SSLEngine}, without threads of its own: the
 * reading thread decrypts (and, when the peer asks for it after the handshake, e.g. a TLS 1.3
 * KeyUpdate, answers under the write lock), writers encrypt under this wire's write lock.
 * {@code wrap} and {@code unwrap} may run at the same time, as {@link SSLEngine} allows.
 *
 * <p>Buffers: about 64 KiB of ciphertext in and out and one TLS record (16 KiB) of plaintext.
 * A read into a buffer of at least one record's room is decrypted straight into it.
 *
 * <p>Errors: the handshake's {@link SSLException} is thrown as it is (see {@link TlsFailure}
 * for messages); the peer closing the socket is end-of-stream, as for a plain socket.
 */
public final class TlsWire implements Wire {

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);
    private static final int RECORDS_PER_WRITE = 4;

    private final SocketChannel socket;
    private final SSLEngine engine;
    private final ReentrantLock readLock = new ReentrantLock();
    private final ReentrantLock writeLock = new ReentrantLock();
    /** Ciphertext from the socket, in fill mode. */
    private ByteBuffer netIn;
    /** Ciphertext to the socket; used under the write lock. */
    private ByteBuffer netOut;
    /** Decrypted bytes not yet read, in fill mode. */
    private ByteBuffer appIn;
    private boolean inputClosed;

    private TlsWire(SocketChannel socket, SSLEngine engine) {
        this.socket = socket;
        this.engine = engine;
        int packet = engine.getSession().getPacketBufferSize();
        this.netIn = ByteBuffer.allocate(packet * RECORDS_PER_WRITE);
        this.netOut = ByteBuffer.allocate(packet * RECORDS_PER_WRITE);
        this.appIn = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize());
    }

    /**
     * Runs the TLS handshake on the socket (blocking; bound it by closing the socket from a timer).
     *
     * @param socket a connected blocking socket whose plaintext part of the protocol is over
     * @param engine an engine in client or server mode, configured
     * @return the wire carrying the rest of the connection
     * @throws SSLException if the handshake fails (certificate refused, no common protocol, ...)
     * @throws IOException  if the socket fails or the peer closes it during the handshake
     */
    public static TlsWire handshake(SocketChannel socket, SSLEngine engine) throws IOException {
        TlsWire wire = new TlsWire(socket, engine);
        wire.runHandshake();
        return wire;
    }

    private void runHandshake() throws IOException {
        engine.beginHandshake();
        HandshakeStatus status = engine.getHandshakeStatus();
        try {
            while (true) {
                switch (status) {
                    case NEED_TASK -> {
                        runTasks();
                        status = engine.getHandshakeStatus();
                    }
                    case NEED_WRAP -> status = wrapHandshake();
                    case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> status = unwrapHandshake();
                    case FINISHED, NOT_HANDSHAKING -> {
                        return;
                    }
                    default -> throw new SSLException("unexpected TLS handshake status " + status);
                }
            }
        } catch (SSLException e) {
            sendAlert();
            throw e;
        }
    }

    private HandshakeStatus wrapHandshake() throws IOException {
        writeLock.lock();
        try {
            netOut.clear();
            SSLEngineResult result = engine.wrap(EMPTY, netOut);
            if (result.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
                netOut = ByteBuffer.allocate(netOut.capacity() * 2);
                return engine.getHandshakeStatus();
            }
            flushOut();
            if (result.getStatus() == SSLEngineResult.Status.CLOSED) {
                throw new SSLException("the TLS session was closed during the handshake");
            }
            return result.getHandshakeStatus();
        } finally {
            writeLock.unlock();
        }
    }

    private HandshakeStatus unwrapHandshake() throws IOException {
        netIn.flip();
        SSLEngineResult result;
        try {
            result = engine.unwrap(netIn, appIn);
        } finally {
            netIn.compact();
        }
        switch (result.getStatus()) {
            case BUFFER_UNDERFLOW -> {
                fill("the TLS handshake");
                return engine.getHandshakeStatus();
            }
            case BUFFER_OVERFLOW -> {
                appIn = grow(appIn, engine.getSession().getApplicationBufferSize());
                return engine.getHandshakeStatus();
            }
            case CLOSED -> throw new SSLException("the peer closed the TLS session during the handshake");
            default -> {
                return result.getHandshakeStatus();
            }
        }
    }

    /** Sends what the engine has to say after a failure (the alert), best effort. */
    private void sendAlert() {
        if (!writeLock.tryLock()) {
            return;
        }
        try {
            engine.closeOutbound();
            netOut.clear();
            engine.wrap(EMPTY, netOut);
            flushOut();
        } catch (IOException | RuntimeException e) {
            // The handshake's own exception is what matters.
        } finally {
            writeLock.unlock();
        }
    }

    private void runTasks() {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
    }

    /** Reads more ciphertext; end of stream is an {@link EOFException} naming {@code what}. */
    private void fill(String what) throws IOException {
        if (!netIn.hasRemaining()) {
            netIn = grow(netIn, netIn.capacity() * 2);
        }
        if (socket.read(netIn) < 0) {
            throw new EOFException("connection closed by the peer during " + what);
        }
    }

    private static ByteBuffer grow(ByteBuffer buffer, int atLeast) {
        ByteBuffer bigger = ByteBuffer.allocate(Math.max(atLeast, buffer.capacity() * 2));
        buffer.flip();
        bigger.put(buffer);
        return bigger;
    }

    private void flushOut() throws IOException {
        netOut.flip();
        while (netOut.hasRemaining()) {
            socket.write(netOut);
        }
    }

    /** @return the negotiated protocol and cipher suite, e.g. {@code TLSv1.3 TLS_AES_256_GCM_SHA384} */
    public String describe() {
        return engine.getSession().getProtocol() + " " + engine.getSession().getCipherSuite();
    }

    @Override
    public boolean secure() {
        return true;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (!dst.hasRemaining()) {
            return 0;
        }
        readLock.lock();
        try {
            while (true) {
                if (appIn.position() > 0) {
                    return drainAppIn(dst);
                }
                if (inputClosed) {
                    return -1;
                }
                boolean direct = dst.remaining() >= engine.getSession().getApplicationBufferSize();
                netIn.flip();
                SSLEngineResult result;
                try {
                    result = engine.unwrap(netIn, direct ? dst : appIn);
                } finally {
                    netIn.compact();
                }
                afterUnwrap(result.getHandshakeStatus());
                switch (result.getStatus()) {
                    case OK -> {
                        if (direct && result.bytesProduced() > 0) {
                            return result.bytesProduced();
                        }
                    }
                    case BUFFER_UNDERFLOW -> {
                        if (!netIn.hasRemaining()) {
                            netIn = grow(netIn, engine.getSession().getPacketBufferSize());
                        }
                        if (socket.read(netIn) < 0) {
                            inputClosed = true;
                        }
                    }
                    case BUFFER_OVERFLOW -> {
                        if (!direct) {
                            appIn = grow(appIn, engine.getSession().getApplicationBufferSize());
                        }
                    }
                    case CLOSED -> inputClosed = true;
                    default -> throw new SSLException("unexpected TLS status " + result.getStatus());
                }
            }
        } finally {
            readLock.unlock();
        }
    }

    private int drainAppIn(ByteBuffer dst) {
        appIn.flip();
        int n = Math.min(appIn.remaining(), dst.remaining());
        int limit = appIn.limit();
        appIn.limit(appIn.position() + n);
        dst.put(appIn);
        appIn.limit(limit);
        appIn.compact();
        return n;
    }

    /** Handles what the peer's post-handshake messages ask for (a KeyUpdate is answered). */
    private void afterUnwrap(HandshakeStatus status) throws IOException {
        HandshakeStatus next = status;
        while (next == HandshakeStatus.NEED_TASK || next == HandshakeStatus.NEED_WRAP) {
            if (next == HandshakeStatus.NEED_TASK) {
                runTasks();
                next = engine.getHandshakeStatus();
            } else {
                next = wrapHandshake();
            }
        }
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        return (int) write(new ByteBuffer[] {src}, 0, 1);
    }

    @Override
    public long write(ByteBuffer[] srcs) throws IOException {
        return write(srcs, 0, srcs.length);
    }

    /** Encrypts and sends every remaining byte of the buffers (blocking). */
    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        long total = 0;
        writeLock.lock();
        try {
            int packet = engine.getSession().getPacketBufferSize();
            while (remaining(srcs, offset, length) > 0) {
                netOut.clear();
                while (netOut.remaining() >= packet && remaining(srcs, offset, length) > 0) {
                    SSLEngineResult result = engine.wrap(srcs, offset, length, netOut);
                    if (result.getStatus() == SSLEngineResult.Status.CLOSED) {
                        throw new ClosedChannelException();
                    }
                    if (result.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
                        if (netOut.position() == 0) {
                            netOut = ByteBuffer.allocate(Math.max(netOut.capacity() * 2, packet));
                        }
                        break;
                    }
                    total += result.bytesConsumed();
                    if (result.getHandshakeStatus() == HandshakeStatus.NEED_TASK) {
                        runTasks();
                    }
                }
                flushOut();
            }
            return total;
        } finally {
            writeLock.unlock();
        }
    }

    private static long remaining(ByteBuffer[] srcs, int offset, int length) {
        long n = 0;
        for (int i = offset; i < offset + length; i++) {
            n += srcs[i].remaining();
        }
        return n;
    }

    /** Sends close_notify (under the write lock, so after any write in progress). */
    @Override
    public void finish() throws IOException {
        writeLock.lock();
        try {
            engine.closeOutbound();
            while (!engine.isOutboundDone() && socket.isOpen()) {
                netOut.clear();
                SSLEngineResult result = engine.wrap(EMPTY, netOut);
                flushOut();
                if (result.bytesProduced() == 0) {
                    break;
                }
            }
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public boolean isOpen() {
        return socket.isOpen();
    }

    /** Closes the socket at once (no close_notify: see {@link #finish()}). */
    @Override
    public void close() throws IOException {
        socket.close();
    }
}
