package org.kcopyd.nbd.internal.osgi;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;

import org.kcopyd.device.DeviceIdentity;
import org.kcopyd.nbd.NbdConfig;
import org.kcopyd.nbd.internal.protocol.Strings;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;

/**
 * One export's checked configuration. Exactly one of {@link #devicePath()} and
 * {@link #deviceFilter()}, and exactly one of {@link #socket()} and {@link #listen()}, are set.
 *
 * @param name           the export name ("" = default export)
 * @param devicePath     an absolute file or block device path, or null
 * @param deviceFilter   an LDAP filter over BlockDevice services, or null
 * @param deviceId       the identity the path device must have, or null for no check
 * @param socket         the Unix socket to listen on, or null
 * @param listen         the TCP address to listen on, or null
 * @param readOnly       clients may not write
 * @param maxConnections clients of this export at once
 * @param insecure       TCP beyond loopback allowed without TLS
 * @param tlsCertificates the TLS directory (TLS required), or null
 * @param tlsVerifyClients clients must present a certificate signed by the directory's CA
 */
record ExportSettings(String name, Path devicePath, String deviceFilter, String deviceId, Path socket, ListenAddress listen,
                      boolean readOnly, int maxConnections, boolean insecure, Path tlsCertificates,
                      boolean tlsVerifyClients) {

    /** sun_path holds 108 bytes, one of which ends the path. */
    static final int MAX_SOCKET_PATH = 107;
    static final int MAX_CONNECTIONS = 100_000;

    /**
     * @return the checked settings
     * @throws IllegalArgumentException naming the property, the value and the rule it breaks
     */
    static ExportSettings of(ExportConfiguration c) {
        String name = c.name() == null ? "" : c.name();
        Strings.encode(NbdConfig.EXPORT_FACTORY_PID + ": " + NbdConfig.EXPORT_NAME, name);
        String device = c.device() == null ? "" : c.device().strip();
        if (device.isEmpty()) {
            throw refuse(NbdConfig.EXPORT_DEVICE + " is missing: give a file or block device path, or a BlockDevice "
                + "service filter such as (&(kcopyd.device.role=snapshot)(kcopyd.snapshot.name=s1))");
        }
        Path devicePath = null;
        String filter = null;
        if (device.startsWith("(")) {
            try {
                FrameworkUtil.createFilter(device);
            } catch (InvalidSyntaxException e) {
                throw refuse(NbdConfig.EXPORT_DEVICE + " '" + device + "' is not a valid LDAP filter: " + e.getMessage());
            }
            filter = device;
        } else {
            devicePath = absolute(NbdConfig.EXPORT_DEVICE, device);
        }
        String deviceId = blankToNull(c.deviceId());
        if (deviceId != null && filter != null) {
            throw refuse(NbdConfig.EXPORT_DEVICE_ID + " '" + deviceId + "' is for a path device; " + NbdConfig.EXPORT_DEVICE
                + " " + filter + " is a service filter: leave " + NbdConfig.EXPORT_DEVICE_ID + " empty");
        }
        if (deviceId != null && (!DeviceIdentity.isWellFormed(deviceId)
                || !deviceId.startsWith("file:") && !deviceId.startsWith("block:"))) {
            throw refuse(NbdConfig.EXPORT_DEVICE_ID + " '" + deviceId + "' is not a device identity as kcopyd prints "
                + "it (file:..., block:..., at most " + DeviceIdentity.MAX_LENGTH + " characters)");
        }
        String socketText = blankToNull(c.socket());
        String listenText = blankToNull(c.listen());
        if ((socketText == null) == (listenText == null)) {
            throw refuse(socketText == null ? "neither " + NbdConfig.EXPORT_SOCKET + " nor " + NbdConfig.EXPORT_LISTEN
                + " is given: give exactly one" : "both " + NbdConfig.EXPORT_SOCKET + " '" + socketText + "' and "
                + NbdConfig.EXPORT_LISTEN + " '" + listenText + "' are given: give exactly one");
        }
        String tlsText = blankToNull(c.tlsCertificates());
        Path tls = tlsText == null ? null : absolute(NbdConfig.EXPORT_TLS_CERTIFICATES, tlsText);
        if (c.tlsVerifyClients() && tls == null) {
            throw refuse(NbdConfig.EXPORT_TLS_VERIFY_CLIENTS + "=true needs " + NbdConfig.EXPORT_TLS_CERTIFICATES
                + " (the directory whose ca-cert.pem signs the clients' certificates)");
        }
        Path socket = null;
        ListenAddress listen = null;
        if (socketText != null) {
            socket = absolute(NbdConfig.EXPORT_SOCKET, socketText);
            int bytes = socket.toString().getBytes(StandardCharsets.UTF_8).length;
            if (bytes > MAX_SOCKET_PATH) {
                throw refuse(NbdConfig.EXPORT_SOCKET + " '" + socket + "' is " + bytes + " bytes long; a Unix socket "
                    + "path holds at most " + MAX_SOCKET_PATH);
            }
        } else {
            try {
                listen = ListenAddress.parse(listenText);
            } catch (IllegalArgumentException e) {
                throw refuse(NbdConfig.EXPORT_LISTEN + ": " + e.getMessage());
            }
            if (!listen.loopback() && !c.insecure() && tls == null) {
                throw refuse(NbdConfig.EXPORT_LISTEN + " " + listen + " is not a loopback address, and no "
                    + NbdConfig.EXPORT_TLS_CERTIFICATES + " is given: anyone reaching it could read"
                    + (c.readOnly() ? "" : " and write") + " the device; give " + NbdConfig.EXPORT_TLS_CERTIFICATES
                    + "=DIR for TLS, or set " + NbdConfig.EXPORT_INSECURE + "=true to allow it without, or listen on "
                    + "127.0.0.1 or a Unix socket");
            }
        }
        if (c.maxConnections() < 1 || c.maxConnections() > MAX_CONNECTIONS) {
            throw refuse(NbdConfig.EXPORT_MAX_CONNECTIONS + " " + c.maxConnections() + " is outside the allowed range 1.."
                + MAX_CONNECTIONS);
        }
        return new ExportSettings(name, devicePath, filter, deviceId, socket, listen, c.readOnly(), c.maxConnections(),
            c.insecure(), tls, c.tlsVerifyClients());
    }

    private static Path absolute(String property, String text) {
        Path path;
        try {
            path = Paths.get(text);
        } catch (RuntimeException e) {
            throw refuse(property + " '" + text + "' is not a valid path: " + e.getMessage());
        }
        if (!path.isAbsolute()) {
            throw refuse(property + " '" + text + "' is not an absolute path");
        }
        return path.normalize();
    }

    private static String blankToNull(String value) {
        return value == null || value.isBlank() ? null : value.strip();
    }

    private static IllegalArgumentException refuse(String why) {
        return new IllegalArgumentException(NbdConfig.EXPORT_FACTORY_PID + ": " + why);
    }

    /** @return the listener's identity: exports with the same one share a listener */
    String listenerKey() {
        return socket != null ? "unix:" + socket : "tcp:" + listen.address().getHostAddress() + ":" + listen.port();
    }

    /** @return the address for messages: the socket path or HOST:PORT */
    String where() {
        return socket != null ? socket.toString() : listen.toString();
    }

    /** @return true if exposed beyond this machine without TLS */
    boolean exposed() {
        return listen != null && !listen.loopback() && tlsCertificates == null;
    }

    /** @return the listener's TLS, for comparing exports that share it: "none" or the directory and client check */
    String tlsKey() {
        return tlsCertificates == null ? "none" : tlsCertificates + (tlsVerifyClients ? " (client certificates verified)"
            : "");
    }
}
