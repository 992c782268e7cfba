package org.kcopyd.nbd;

import java.io.IOException;
import java.util.Objects;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.nbd.internal.client.Connector;
import org.kcopyd.nbd.internal.tls.TlsFiles;

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
 * <p><b>TLS.</b> {@code nbds} and {@code nbds+unix} URIs send {@code NBD_OPT_STARTTLS} first and
 * negotiate everything else inside TLS (1.3 or 1.2). The server's certificate must chain to the
 * CA of the URI's {@code tls-certificates=DIR} ({@code DIR/ca-cert.pem}), else of
 * {@link NbdClientOptions#tlsCertificates()}, else of the JDK's default trust store; for TCP its
 * names must include the URI's host (DNS name or IP address). A Unix socket URI has no host: only
 * the chain is verified. A directory with {@code client-cert.pem} and {@code client-key.pem}
 * also gives the client's certificate to servers that ask for one. Refused with an
 * {@link IOException} naming the URI: a server that does not support TLS, a certificate that is
 * not trusted or does not name the host; and, for {@code nbd} URIs, a server that requires TLS.
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
     * @param uri     the export
     * @param options the request timeout, the number of connections, the TLS certificates
     * @return the open device; close it to disconnect
     * @throws IOException naming the URI if connecting or negotiating fails, the TLS files cannot
     *                     be used, or the export is unusable
     */
    public static BlockDevice connect(NbdUri uri, NbdClientOptions options) throws IOException {
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(options, "options");
        TlsFiles.Client tls = null;
        if (uri.tls()) {
            try {
                tls = TlsFiles.client(uri.tlsCertificates() != null ? uri.tlsCertificates() : options.tlsCertificates());
            } catch (IOException e) {
                throw new IOException(uri + ": " + e.getMessage(), e);
            }
        }
        return Connector.open(uri.toString(), uri.host(), uri.port(), uri.socket(), uri.exportName(),
            options.requestTimeout(), options.connections(), tls);
    }

    /** Connects with {@link NbdClientOptions#defaults()}. */
    public static BlockDevice connect(NbdUri uri) throws IOException {
        return connect(uri, NbdClientOptions.defaults());
    }
}
