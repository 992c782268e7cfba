package org.kcopyd.nbd;

import java.io.IOException;
import java.util.Objects;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.nbd.internal.client.Connector;

/**
 * Opens an NBD export as a {@link BlockDevice}.
 *
 * <p>The device: {@link BlockDevice#name()} is the URI; sizes are the export's bytes / 512 (an
 * export whose size is not a multiple of 512 is refused); reads and writes larger than the
 * server's maximum block size are split; requests not aligned to the server's minimum block size
 * are refused; {@code flush} sends NBD_CMD_FLUSH on every connection (and completes at once when
 * the server has no flush command), {@code writeZeroes} NBD_CMD_WRITE_ZEROES and {@code discard}
 * NBD_CMD_TRIM, each supported only when the server advertises it. Many requests are in flight at
 * once; each fails after the request timeout with a message naming it. A lost connection fails
 * every request in flight at once, and later ones at once too. {@code close()} sends NBD_CMD_DISC
 * and closes the connections.
 *
 * <p><b>Threading.</b> The device is thread-safe. A request is written to the socket by the
 * calling thread (header and payload in one gathering write, one request at a time per
 * connection), so a call may block while the socket's send buffer is full; a server that stops
 * reading for longer than the request timeout loses the connection, which unblocks the callers.
 * Stages complete on the connection's reader thread (replies), the device's timer thread
 * (timeouts) or the calling thread (refusals); do not block in their callbacks.
 */
public final class NbdClient {

    private NbdClient() {
    }

    /**
     * Connects to an export and negotiates.
     *
     * @param uri     the export; {@code nbds} and {@code nbds+unix} are refused (TLS is not supported yet)
     * @param options the request timeout and the number of connections
     * @return the open device; close it to disconnect
     * @throws IOException naming the URI if connecting or negotiating fails or the export is unusable
     */
    public static BlockDevice connect(NbdUri uri, NbdClientOptions options) throws IOException {
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(options, "options");
        if (uri.tls()) {
            throw new IOException("NBD URI '" + uri + "' needs TLS: TLS is not supported yet");
        }
        return Connector.open(uri.toString(), uri.host(), uri.port(), uri.socket(), uri.exportName(),
            options.requestTimeout(), options.connections());
    }

    /** Connects with {@link NbdClientOptions#defaults()}. */
    public static BlockDevice connect(NbdUri uri) throws IOException {
        return connect(uri, NbdClientOptions.defaults());
    }
}
