package org.kcopyd.nbd;

import java.util.List;

/**
 * The names of kcopyd.nbd's Config Admin configurations and their properties, for tools that
 * write them (Karaf's {@code config:edit}, a {@code .cfg} file in the runtime's configuration
 * directory). The Metatype descriptions carry the same names, defaults and ranges.
 */
public final class NbdConfig {

    /**
     * PID of the NBD client's configuration, used by the device provider behind
     * {@code BlockDeviceOpener.open(URI)} for every NBD URI. It belongs to this bundle rather than
     * to the engine's {@code org.kcopyd.engine}, so that the engine knows nothing of NBD.
     */
    public static final String CLIENT_PID = "org.kcopyd.nbd.client";
    /** {@value #CLIENT_PID}: seconds a request (and each connection's handshake) may take, 1-86400 (default 60). */
    public static final String CLIENT_REQUEST_TIMEOUT_SECONDS = "requestTimeoutSeconds";
    /** {@value #CLIENT_PID}: connections per device when the server allows several, 1-16 (default 1). */
    public static final String CLIENT_CONNECTIONS = "connections";

    /** Factory PID of an export: one factory configuration per exported device. */
    public static final String EXPORT_FACTORY_PID = "org.kcopyd.nbd.export";
    /** The export's name; empty (the default) is the default export. */
    public static final String EXPORT_NAME = "name";
    /**
     * The device: an absolute file or block device path, or an LDAP filter over
     * {@code BlockDevice} services (starting with {@code (}), e.g.
     * {@code (&(kcopyd.device.role=snapshot)(kcopyd.snapshot.name=s1))}.
     */
    public static final String EXPORT_DEVICE = "device";
    /**
     * The identity of a path device ({@code org.kcopyd.device.DeviceIdentity}, such as
     * {@code file:dev=8:1:ino=1234}) when the export was made: while set, an export whose path names
     * another file or disk (moved or restored there, another disk after a reboot) is refused and
     * nothing is served. The content is not checked: a file written over in place is served. Empty
     * (the default) for no check; not allowed with a service device. kcopyd's control records it
     * when it adds an export of a path.
     *
     * @since 1.3
     */
    public static final String EXPORT_DEVICE_ID = "deviceId";
    /** The Unix domain socket to listen on (absolute path); exactly one of this and {@value #EXPORT_LISTEN}. */
    public static final String EXPORT_SOCKET = "socket";
    /** The TCP address to listen on, {@code HOST:PORT} ({@code [v6]:PORT} for IPv6). */
    public static final String EXPORT_LISTEN = "listen";
    /** True: clients may not write (a path device is then opened read-only). */
    public static final String EXPORT_READ_ONLY = "readOnly";
    /** Connections this export serves at once, 1-100000 (default 64). */
    public static final String EXPORT_MAX_CONNECTIONS = "maxConnections";
    /** True: allow TCP on an address other than loopback without TLS. */
    public static final String EXPORT_INSECURE = "insecure";
    /**
     * A directory laid out as nbdkit's {@code --tls-certificates DIR} ({@code server-cert.pem},
     * {@code server-key.pem} as unencrypted PKCS#8, {@code ca-cert.pem}): TLS is then required of
     * clients, and TCP on any address is allowed without {@value #EXPORT_INSECURE}. Exports sharing
     * a socket or address must name the same directory.
     */
    public static final String EXPORT_TLS_CERTIFICATES = "tlsCertificates";
    /** True: clients must present a certificate signed by the TLS directory's {@code ca-cert.pem}. */
    public static final String EXPORT_TLS_VERIFY_CLIENTS = "tlsVerifyClients";
    /**
     * {@value #CLIENT_PID}: the directory holding {@code ca-cert.pem} (or a PEM file of CA
     * certificates) that servers of {@code nbds} URIs without {@code tls-certificates=} are
     * verified against; empty (the default) for the JDK's default trust store.
     */
    public static final String CLIENT_TLS_CERTIFICATES = "tlsCertificates";

    /** The URI schemes of the device provider: {@code nbd}, {@code nbd+unix}, {@code nbds}, {@code nbds+unix}. */
    public static final List<String> SCHEMES = List.of("nbd", "nbd+unix", "nbds", "nbds+unix");

    private NbdConfig() {
    }
}
