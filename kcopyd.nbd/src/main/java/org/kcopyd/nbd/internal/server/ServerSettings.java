package org.kcopyd.nbd.internal.server;

import java.time.Duration;

import org.kcopyd.nbd.internal.tls.TlsFiles;

/**
 * The limits of a server, checked by {@code NbdServer.Builder}.
 *
 * @param maxConnections      connections served at once; extra ones are closed at once
 * @param handshakeTimeout    time a client has from connecting to entering transmission
 * @param maxOutstandingBytes per connection: read and write bytes in flight before the server
 *                            stops reading requests (at least {@code maxBlockSize})
 * @param maxRequestsInFlight per connection: requests in flight before the server stops reading
 * @param preferredBlockSize  advertised preferred block size in bytes (a power of two, at least 512)
 * @param maxBlockSize        advertised and enforced maximum read/write length in bytes
 * @param maxOptionLength     longest option data accepted during the handshake; longer ones
 *                            disconnect the client
 * @param tls                 null for plain connections; else TLS is required (only
 *                            {@code NBD_OPT_STARTTLS} and {@code NBD_OPT_ABORT} are served before it)
 */
public record ServerSettings(int maxConnections, Duration handshakeTimeout, long maxOutstandingBytes,
                             int maxRequestsInFlight, int preferredBlockSize, int maxBlockSize,
                             int maxOptionLength, TlsFiles.Server tls) {

    /** The advertised and enforced minimum block size: one sector. */
    public static final int MIN_BLOCK_SIZE = 512;
    /** The advertised and enforced maximum read/write length: 32 MiB. */
    public static final int MAX_BLOCK_SIZE = 32 << 20;
    private static final int PREFERRED_BLOCK = 4096;
    private static final int MAX_REQUESTS = 1024;
    private static final int MAX_OPTION = 64 * 1024;

    /**
     * @return the settings with these limits and the fixed protocol limits: 4 KiB preferred and
     *         32 MiB maximum block size, 1024 requests in flight, 64 KiB option data
     */
    public static ServerSettings standard(int maxConnections, Duration handshakeTimeout, long maxOutstandingBytes) {
        return new ServerSettings(maxConnections, handshakeTimeout, maxOutstandingBytes, MAX_REQUESTS,
            PREFERRED_BLOCK, MAX_BLOCK_SIZE, MAX_OPTION, null);
    }

    /** @return these settings requiring TLS with {@code server} (null: plain connections) */
    public ServerSettings withTls(TlsFiles.Server server) {
        return new ServerSettings(maxConnections, handshakeTimeout, maxOutstandingBytes, maxRequestsInFlight,
            preferredBlockSize, maxBlockSize, maxOptionLength, server);
    }
}
