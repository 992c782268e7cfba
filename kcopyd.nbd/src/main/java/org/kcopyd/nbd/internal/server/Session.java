package org.kcopyd.nbd.internal.server;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.SocketChannel;

import javax.net.ssl.SSLException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.kcopyd.nbd.internal.protocol.ProtocolException;
import org.kcopyd.nbd.internal.protocol.Wire;

/**
 * One client connection of a server, run by its own thread: the handshake (bounded by the
 * handshake timeout, after which the connection is closed), then the transmission phase. Whatever
 * the client does, only this connection ends; {@link #close()} ends it from another thread.
 */
final class Session implements Runnable {

    private static final System.Logger LOG = System.getLogger(Session.class.getName());

    private final SocketChannel channel;
    private final Exports exports;
    private final ServerSettings settings;
    private final BufferPool pool;
    private final ScheduledExecutorService timer;
    private final String peer;
    private final Gate gate;
    private final Runnable onEnd;

    /** Decides whether a session that negotiated an export may use it (the export is still served, not full). */
    @FunctionalInterface
    interface Gate {
        /** @return null to go on, else why the session is refused (it is then closed) */
        String enter(Session session, ServerExport export);
    }

    Session(SocketChannel channel, Exports exports, ServerSettings settings, BufferPool pool,
            ScheduledExecutorService timer, String peer, Gate gate, Runnable onEnd) {
        this.channel = channel;
        this.exports = exports;
        this.settings = settings;
        this.pool = pool;
        this.timer = timer;
        this.peer = peer;
        this.gate = gate;
        this.onEnd = onEnd;
    }

    @Override
    public void run() {
        try {
            ScheduledFuture<?> deadline = timer.schedule(this::handshakeTimedOut,
                settings.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
            ServerHandshake.Agreement agreement;
            ServerHandshake handshake = new ServerHandshake(channel, exports, settings, peer);
            try {
                agreement = handshake.run();
            } finally {
                deadline.cancel(false);
            }
            Wire wire = handshake.wire();
            String refused = agreement == null || !channel.isOpen() ? "" : gate.enter(this, agreement.export());
            if (refused != null && !refused.isEmpty()) {
                LOG.log(Level.INFO, () -> "NBD client " + peer + " disconnected: " + refused);
            } else if (refused == null) {
                new Transmission(wire, agreement, settings, pool, peer).run();
                if (wire.isOpen()) {
                    wire.finish();
                }
            }
        } catch (SSLException e) {
            LOG.log(Level.INFO, () -> "NBD client " + peer + " disconnected: TLS failed: " + e.getMessage());
        } catch (ProtocolException e) {
            LOG.log(Level.INFO, () -> "NBD client " + peer + " disconnected for breaking the protocol: " + e.getMessage());
        } catch (IOException e) {
            // The client went away (end of stream, reset, closed by close()): nothing to report.
            LOG.log(Level.DEBUG, () -> "NBD client " + peer + " disconnected: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "NBD client " + peer + ": connection ended by an unexpected error", e);
        } finally {
            close();
            onEnd.run();
        }
    }

    private void handshakeTimedOut() {
        LOG.log(Level.INFO, () -> "NBD client " + peer + " did not finish the handshake within "
            + settings.handshakeTimeout().toMillis() + " ms: disconnected");
        close();
    }

    /** Closes the connection; the session's thread then ends. */
    void close() {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, () -> "NBD client " + peer + ": closing failed: " + e);
        }
    }
}
