package org.kcopyd.nbd;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Options of {@link NbdClient#connect}.
 *
 * @param requestTimeout time a request (and the handshake of each connection) may take before
 *                       it fails with a message naming the request and this timeout;
 *                       1 ms to 1 day
 * @param connections    connections to open, 1 to 16; more than one only when the server
 *                       advertises {@code CAN_MULTI_CONN} (else one is opened). The first is open
 *                       when {@link NbdClient#connect} returns, the others are added while the device
 *                       is in use; a server that serves fewer than it advertised leaves the device
 *                       with those it got
 * @param tlsCertificates for {@code nbds} URIs without {@code tls-certificates=}: a directory
 *                       holding {@code ca-cert.pem} (and optionally {@code client-cert.pem} and
 *                       {@code client-key.pem}), or a PEM file of CA certificates, that the
 *                       server's certificate must chain to; null for the JDK's default trust store.
 *                       A URI's {@code tls-certificates} takes precedence.
 */
public record NbdClientOptions(Duration requestTimeout, int connections, Path tlsCertificates) {

    /** The default request timeout: 60 s. */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(60);
    /** The most connections one device opens. */
    public static final int MAX_CONNECTIONS = 16;
    /**
     * The connections of {@link #defaults()}: 4, or the number of processors if fewer, as nbdcopy
     * chooses (one connection per copying thread); on 2 cores 2 connections read an nbdkit export
     * faster than 4 or 1 (BENCHMARKS.md).
     */
    public static final int DEFAULT_CONNECTIONS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

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

    /** Options without TLS certificates (the JDK's default trust store for {@code nbds}). */
    public NbdClientOptions(Duration requestTimeout, int connections) {
        this(requestTimeout, connections, null);
    }

    /** @return a 60 s request timeout, {@link #DEFAULT_CONNECTIONS} connections, the JDK's default trust store */
    public static NbdClientOptions defaults() {
        return new NbdClientOptions(DEFAULT_REQUEST_TIMEOUT, DEFAULT_CONNECTIONS, null);
    }

    /** @return these options with another request timeout */
    public NbdClientOptions withRequestTimeout(Duration timeout) {
        return new NbdClientOptions(timeout, connections, tlsCertificates);
    }

    /** @return these options with another number of connections */
    public NbdClientOptions withConnections(int count) {
        return new NbdClientOptions(requestTimeout, count, tlsCertificates);
    }

    /** @return these options with other TLS certificates (null: the JDK's default trust store) */
    public NbdClientOptions withTlsCertificates(Path certificates) {
        return new NbdClientOptions(requestTimeout, connections, certificates);
    }
}
