package org.kcopyd.nbd.internal.server;

import java.time.Duration;

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
 */
public record ServerSettings(int maxConnections, Duration handshakeTimeout, long maxOutstandingBytes,
                             int maxRequestsInFlight, int preferredBlockSize, int maxBlockSize,
                             int maxOptionLength) {

    /** The advertised and enforced minimum block size: one sector. */
    public static final int MIN_BLOCK_SIZE = 512;
}
