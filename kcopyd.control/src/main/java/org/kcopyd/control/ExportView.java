package org.kcopyd.control;

/**
 * One NBD export as the API shows it ({@code EXPORT} in CONTROL-API.md).
 *
 * @param name        the export name
 * @param device      {@code snapshot:NAME}, {@code origin:NAME}, {@code mirror:NAME} or a path as it was
 *                    asked for; for an export configured by other means, its device property (a path or a
 *                    service filter)
 * @param socket      the Unix socket path, or null
 * @param listen      the TCP address, or null
 * @param readOnly    clients may not write
 * @param tls         TLS is required of clients
 * @param connections clients connected now, or null where the NBD bundle does not publish it
 * @param state       {@code serving}, or {@code failed} / {@code waiting} with {@code reason}
 * @param reason      why it is not serving, else null
 * @param uri         the URI clients use
 */
public record ExportView(String name, String device, String socket, String listen, boolean readOnly, boolean tls,
        Integer connections, String state, String reason, String uri) {
}
