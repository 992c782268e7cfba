package org.kcopyd.nbd.internal.osgi;

import org.kcopyd.nbd.NbdConfig;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** One NBD export, a factory configuration of {@value NbdConfig#EXPORT_FACTORY_PID}; {@link ExportSettings} checks it. */
@ObjectClassDefinition(id = NbdConfig.EXPORT_FACTORY_PID, name = "kcopyd NBD export",
        description = "Serves one block device to NBD clients (nbdcopy, qemu-img, qemu-io, nbdinfo, the kernel's "
                + "nbd-client) over a Unix domain socket or TCP. Exports with the same socket or listen address share "
                + "one listener, whose clients list them with NBD_OPT_LIST; adding or removing one does not disturb "
                + "the clients of the others. TCP on an address other than loopback needs TLS certificates (or Insecure).")
@interface ExportConfiguration {

    @AttributeDefinition(name = "Export name", required = false, description = "The name clients ask for, at "
            + "most 4096 bytes of UTF-8 without NUL; empty (the default) is the default export, which "
            + "nbd+unix:///?socket=PATH and nbd://host/ select. Unique per listener.")
    String name() default "";

    @AttributeDefinition(name = "Device", description = "An absolute file or block device path, opened through "
            + "kcopyd's BlockDeviceOpener (claimed for writing unless Read-only), or an LDAP filter over BlockDevice "
            + "services, starting with '(', e.g. (&(kcopyd.device.role=snapshot)(kcopyd.snapshot.name=s1)) for a "
            + "snapshot, (&(kcopyd.device.role=origin)(kcopyd.snapshot.origin=/srv/disk.img)) for an origin, "
            + "(kcopyd.mirror.name=m) for a mirror. A service device is exported while exactly one service "
            + "matches; when it goes away the export is withdrawn and its clients disconnected.")
    String device();

    @AttributeDefinition(name = "Device identity", required = false, description = "The identity of a path "
            + "device when the export was made (as kcopyd prints it, such as file:dev=8:1:ino=1234 or "
            + "block:wwid=naa.5000c500a1b2c3d4): while set, a path naming another file or disk (moved or "
            + "restored there, another disk after a reboot) is refused and nothing is served. Empty (the default): "
            + "not checked. kcopyd's control records it when it adds an export of a path.")
    String deviceId() default "";

    @AttributeDefinition(name = "Unix socket", required = false, description = "Absolute path of the Unix domain "
            + "socket to listen on, at most 107 bytes. A socket file nothing listens on is replaced; any other "
            + "file is refused. Exactly one of Unix socket and Listen address.")
    String socket();

    @AttributeDefinition(name = "Listen address", required = false, description = "HOST:PORT to listen on with "
            + "TCP ([ADDRESS]:PORT for IPv6), port 1 to 65535. An address other than loopback is refused unless "
            + "TLS certificates or Insecure is set.")
    String listen();

    @AttributeDefinition(name = "Read-only", description = "When true, clients cannot write, and a path device is "
            + "opened read-only (not claimed; read, so no other kcopyd process can claim it while it is exported).")
    boolean readOnly() default false;

    @AttributeDefinition(name = "Maximum connections", min = "1", max = "100000", description = "Clients of this "
            + "export at once, 1 to 100000 (default 64); one more is disconnected after it chose the export.")
    int maxConnections() default 64;

    @AttributeDefinition(name = "Insecure", description = "When true, TCP on an address other than loopback is "
            + "allowed without TLS: anyone who reaches the port can read, and unless Read-only write, the device. "
            + "A warning is logged.")
    boolean insecure() default false;

    @AttributeDefinition(name = "TLS certificates", required = false, description = "An absolute directory laid "
            + "out as nbdkit's --tls-certificates DIR: server-cert.pem (the certificate, optionally followed by "
            + "its chain), server-key.pem (unencrypted PKCS#8: BEGIN PRIVATE KEY; convert others with 'openssl "
            + "pkcs8 -topk8 -nocrypt'), ca-cert.pem for Verify client certificates. Set: clients must start TLS "
            + "(nbds:// URIs) before they learn anything about the exports. Exports sharing a socket or address "
            + "must name the same directory.")
    String tlsCertificates() default "";

    @AttributeDefinition(name = "Verify client certificates", description = "When true (needs TLS certificates), "
            + "clients must present a certificate signed by the directory's ca-cert.pem, as nbdkit's "
            + "--tls-verify-peer.")
    boolean tlsVerifyClients() default false;
}
