package org.kcopyd.nbd;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.nbd.internal.protocol.Strings;
import org.kcopyd.nbd.internal.server.Exports;
import org.kcopyd.nbd.internal.server.Listener;
import org.kcopyd.nbd.internal.server.ServerExport;
import org.kcopyd.nbd.internal.server.ServerSettings;
import org.kcopyd.nbd.internal.tls.TlsFiles;

/**
 * An NBD server exporting block devices over a Unix domain socket or TCP (fixed newstyle
 * negotiation, structured replies, {@code base:allocation}, optionally TLS).
 *
 * <pre>{@code
 * try (NbdServer server = NbdServer.builder().export("disk", device, false).startUnix(socket)) {
 *     ... clients connect to server.uri("disk") ...
 * }
 * }</pre>
 *
 * <p><b>Units.</b> Clients address bytes; the server accepts only offsets and lengths that are
 * multiples of 512 (advertised as the minimum block size) and maps them to the device's sectors.
 *
 * <p><b>Threading.</b> One thread accepts connections, one thread per connection reads its
 * requests; the device's I/O is asynchronous (many requests in flight per connection) and replies
 * are written by whichever thread completes the device's stage.
 *
 * <p><b>Bounds.</b> At most {@link Builder#maxConnections} connections (extra ones are closed at
 * once), a handshake timeout, at most {@link Builder#maxOutstandingBytes} of reads and writes in
 * flight per connection (the server stops reading that connection's requests meanwhile), and at
 * most 256 MiB of payload buffers (or one connection's bound, if larger) for all connections of a
 * listener together, reads and writes of at most 32 MiB each. A misbehaving client only loses its
 * own connection; clients that send requests and never read the replies can slow the others down
 * to that bound, but not make the server hold more memory.
 *
 * <p><b>TLS.</b> With {@link Builder#tls(Path)} TLS (1.3 or 1.2) is required: before {@code NBD_OPT_STARTTLS}
 * only it and {@code NBD_OPT_ABORT} are served (other options get {@code NBD_REP_ERR_TLS_REQD},
 * {@code NBD_OPT_EXPORT_NAME} disconnects), so export names, sizes and flags are revealed only
 * inside TLS. The TLS handshake counts towards the handshake timeout.
 *
 * <p>The server does not own the devices: {@link #close()} disconnects clients and stops
 * listening, and leaves the devices open.
 */
public final class NbdServer implements Closeable {

    private final Listener listener;
    private final Path tlsDirectory;

    private NbdServer(Listener listener, Path tlsDirectory) {
        this.listener = listener;
        this.tlsDirectory = tlsDirectory;
    }

    /** @return a builder with no exports and the default limits */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the address the server listens on (the actual port for TCP port 0) */
    public SocketAddress address() {
        return listener.address();
    }

    /**
     * @return the URI a client uses for the export {@code exportName} of this server: with TLS an
     *         {@code nbds} URI whose {@code tls-certificates} is the server's directory when it has
     *         a {@code ca-cert.pem} (what clients on this machine verify against), else without
     *         {@code tls-certificates} (clients use their own CA or the JDK's trust store)
     */
    public NbdUri uri(String exportName) {
        SocketAddress address = listener.address();
        NbdUri uri;
        if (address instanceof InetSocketAddress inet) {
            uri = NbdUri.tcp(inet.getAddress().getHostAddress(), inet.getPort(), exportName);
        } else {
            uri = NbdUri.unix(((UnixDomainSocketAddress) address).getPath(), exportName);
        }
        if (tlsDirectory == null) {
            return uri;
        }
        return uri.withTls(tlsDirectory.toString().isEmpty() ? null : tlsDirectory);
    }

    /** @return true if clients must use TLS */
    public boolean tls() {
        return tlsDirectory != null;
    }

    /** @return the number of client connections being served now */
    public int connections() {
        return listener.connections();
    }

    /**
     * Stops listening, disconnects every client (requests in flight are not answered) and, for a
     * Unix socket, removes the socket file. Waits up to 5 s for the connections' threads.
     */
    @Override
    public void close() {
        listener.close();
    }

    /** Collects exports and limits, then starts the server. Not thread-safe. */
    public static final class Builder {

        /** Default connection limit. */
        public static final int DEFAULT_MAX_CONNECTIONS = 64;
        /** Default handshake timeout. */
        public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
        /** Default bytes of reads and writes in flight per connection: 64 MiB. */
        public static final long DEFAULT_MAX_OUTSTANDING_BYTES = 64L << 20;
        private static final int MAX_BLOCK = ServerSettings.MAX_BLOCK_SIZE;

        private final List<ServerExport> exports = new ArrayList<>();
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private Duration handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;
        private long maxOutstandingBytes = DEFAULT_MAX_OUTSTANDING_BYTES;
        private TlsFiles.Server tls;

        private Builder() {
        }

        /**
         * Requires TLS, with the certificate and key of a directory laid out as nbdkit's
         * {@code --tls-certificates DIR}: {@code server-cert.pem} (the server's X.509 certificate,
         * optionally followed by its chain) and {@code server-key.pem} (its unencrypted PKCS#8
         * key, RSA or EC: {@code BEGIN PRIVATE KEY}; other formats are refused with the
         * {@code openssl pkcs8 -topk8 -nocrypt} command that converts them). Clients are not asked
         * for certificates. The files are read now.
         *
         * @param certificatesDirectory the directory
         * @return this builder
         * @throws IOException naming the directory or file and the reason when they cannot be used
         */
        public Builder tls(Path certificatesDirectory) throws IOException {
            return tls(certificatesDirectory, false);
        }

        /**
         * Requires TLS as {@link #tls(Path)}, optionally of clients too.
         *
         * @param certificatesDirectory the directory
         * @param verifyClients         true to require every client to present a certificate
         *                              signed by the directory's {@code ca-cert.pem} (as nbdkit's
         *                              {@code --tls-verify-peer})
         * @return this builder
         * @throws IOException naming the directory or file and the reason when they cannot be used
         */
        public Builder tls(Path certificatesDirectory, boolean verifyClients) throws IOException {
            Objects.requireNonNull(certificatesDirectory, "certificatesDirectory");
            this.tls = TlsFiles.server(certificatesDirectory, verifyClients);
            return this;
        }

        /**
         * Adds an export.
         *
         * @param name     the name clients ask for; "" is the default export (with a single
         *                 export, the empty name also selects it)
         * @param device   the device; the server never closes it
         * @param readOnly true to refuse writes (a read-only device is refused writes anyway)
         * @return this builder
         */
        public Builder export(String name, BlockDevice device, boolean readOnly) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(device, "device");
            Strings.encode("export name", name);
            for (ServerExport existing : exports) {
                if (existing.name().equals(name)) {
                    throw new IllegalArgumentException("export name '" + name + "' is given twice");
                }
            }
            exports.add(new ServerExport(name, device, readOnly));
            return this;
        }

        /**
         * @param max connections served at once, 1 to 100000 (default {@value #DEFAULT_MAX_CONNECTIONS})
         * @return this builder
         */
        public Builder maxConnections(int max) {
            if (max < 1 || max > 100_000) {
                throw new IllegalArgumentException("maximum connections " + max + " is outside 1-100000");
            }
            this.maxConnections = max;
            return this;
        }

        /**
         * @param timeout time from connecting to entering transmission, 1 ms to 1 hour (default 10 s)
         * @return this builder
         */
        public Builder handshakeTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.toMillis() < 1 || timeout.compareTo(Duration.ofHours(1)) > 0) {
                throw new IllegalArgumentException("handshake timeout " + timeout + " is outside 1 ms to 1 hour");
            }
            this.handshakeTimeout = timeout;
            return this;
        }

        /**
         * @param bytes per connection, bytes of reads and writes in flight before the server stops
         *              reading requests: 32 MiB (the largest request) to 4 GiB (default 64 MiB)
         * @return this builder
         */
        public Builder maxOutstandingBytes(long bytes) {
            if (bytes < MAX_BLOCK || bytes > 4L << 30) {
                throw new IllegalArgumentException("maximum outstanding bytes " + bytes + " is outside " + MAX_BLOCK
                    + " (the largest request) to " + (4L << 30));
            }
            this.maxOutstandingBytes = bytes;
            return this;
        }

        /**
         * Starts serving on a Unix domain socket. A socket file nothing listens on is replaced;
         * a path that is not a socket, or a socket in use, is refused.
         *
         * @param socket the socket's path
         * @return the running server
         * @throws IOException if the path is refused, binding fails or the TLS files cannot be used
         */
        public NbdServer startUnix(Path socket) throws IOException {
            Objects.requireNonNull(socket, "socket");
            return new NbdServer(Listener.unix(socket, exports(), settings()), tlsUriDirectory());
        }

        /**
         * Starts serving on TCP.
         *
         * @param host the address to bind, e.g. {@code 127.0.0.1}
         * @param port the port, 0 for any free port (see {@link NbdServer#address()})
         * @return the running server
         * @throws IOException if binding fails or the TLS files cannot be used
         */
        public NbdServer startTcp(String host, int port) throws IOException {
            Objects.requireNonNull(host, "host");
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port " + port + " is outside 0-65535");
            }
            return new NbdServer(Listener.tcp(host, port, exports(), settings()), tlsUriDirectory());
        }

        private Exports exports() {
            if (exports.isEmpty()) {
                throw new IllegalStateException("an NBD server needs at least one export");
            }
            return new Exports(exports);
        }

        private ServerSettings settings() {
            return ServerSettings.standard(maxConnections, handshakeTimeout, maxOutstandingBytes).withTls(tls);
        }

        /** @return null without TLS; else the directory clients may trust (with ca-cert.pem), or an empty path */
        private Path tlsUriDirectory() {
            if (tls == null) {
                return null;
            }
            return Files.isRegularFile(tls.directory().resolve(TlsFiles.CA_CERT)) ? tls.directory() : Path.of("");
        }
    }
}
