package org.kcopyd.control;

/**
 * What {@link KcopydControl#createExport} is asked to make: the values of {@code POST /exports}.
 *
 * @param name             the NBD export name, 1 to 64 of {@code A-Z a-z 0-9 . _ -}, not only dots
 * @param device           an absolute path, {@code snapshot:NAME}, {@code origin:NAME} or {@code mirror:NAME}
 * @param socket           the Unix socket's absolute path, or null (then {@code listen})
 * @param listen           {@code HOST:PORT}, or null (then {@code socket})
 * @param readOnly         clients may not write
 * @param maxConnections   connections served at once, 1..100000; null for the export's default (64)
 * @param tlsCertificates  a directory as nbdkit's {@code --tls-certificates}, or null
 * @param tlsVerifyClients clients must present a certificate signed by its CA
 * @param insecure         allow TCP beyond loopback without TLS
 */
public record ExportRequest(String name, String device, String socket, String listen, boolean readOnly,
        Integer maxConnections, String tlsCertificates, boolean tlsVerifyClients, boolean insecure) {
}
