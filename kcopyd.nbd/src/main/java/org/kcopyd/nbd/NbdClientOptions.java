package org.kcopyd.nbd;

import java.time.Duration;
import java.util.Objects;

/**
 * Options of {@link NbdClient#connect}.
 *
 * @param requestTimeout time a request (and the handshake of each connection) may take before
 *                       it fails with a message naming the request and this timeout;
 *                       1 ms to 1 day
 * @param connections    connections to open, 1 to 16; more than one only when the server
 *                       advertises {@code CAN_MULTI_CONN} (else one is opened)
 */
public record NbdClientOptions(Duration requestTimeout, int connections) {

    /** The default request timeout: 60 s. */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(60);
    /** The most connections one device opens. */
    public static final int MAX_CONNECTIONS = 16;

    /** Checks the values. */
    public NbdClientOptions {
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        if (requestTimeout.toMillis() < 1 || requestTimeout.compareTo(Duration.ofDays(1)) > 0) {
            throw new IllegalArgumentException("NBD request timeout " + requestTimeout + " is outside 1 ms to 1 day");
        }
        if (connections < 1 || connections > MAX_CONNECTIONS) {
            throw new IllegalArgumentException("NBD connections " + connections + " is outside 1-" + MAX_CONNECTIONS);
        }
    }

    /** @return a 60 s request timeout and one connection */
    public static NbdClientOptions defaults() {
        return new NbdClientOptions(DEFAULT_REQUEST_TIMEOUT, 1);
    }

    /** @return these options with another request timeout */
    public NbdClientOptions withRequestTimeout(Duration timeout) {
        return new NbdClientOptions(timeout, connections);
    }

    /** @return these options with another number of connections */
    public NbdClientOptions withConnections(int count) {
        return new NbdClientOptions(requestTimeout, count);
    }
}
