package org.kcopyd.nbd.internal.osgi;

import org.kcopyd.nbd.NbdConfig;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The NBD client's configuration ({@value NbdConfig#CLIENT_PID}); {@link NbdDeviceProvider} checks the values. */
@ObjectClassDefinition(id = NbdConfig.CLIENT_PID, name = "kcopyd NBD client",
        description = "How kcopyd opens devices named by NBD URIs (nbd://, nbd+unix://, and with TLS nbds:// and "
                + "nbds+unix://): copy and zero sources and destinations, snapshot origins "
                + "and mirror legs. Owned by kcopyd.nbd, so that the engine's configuration (org.kcopyd.engine) "
                + "knows nothing of NBD. Applies to devices opened afterwards.")
@interface ClientConfiguration {

    @AttributeDefinition(name = "Request timeout (seconds)", min = "1", max = "86400",
            description = "Time one NBD request, and the handshake of each connection, may take before it fails "
                    + "with a message naming it: 1 to 86400 seconds (one day); default 60. A server that stops "
                    + "answering fails the job within this time instead of hanging it.")
    int requestTimeoutSeconds() default 60;

    @AttributeDefinition(name = "Connections", min = "0", max = "16",
            description = "Connections per device, 1 to 16, or 0 (the default) for 4 or the number of processors "
                    + "if fewer, as nbdcopy chooses. More than one only when the server advertises multi-conn, "
                    + "else one is opened; the first is opened before the device is used, the others while it "
                    + "is, and a server that serves fewer connections than it advertised leaves the device with "
                    + "those it got.")
    int connections() default 0;

    @AttributeDefinition(name = "TLS certificates", required = false,
            description = "For nbds:// and nbds+unix:// URIs without tls-certificates=DIR: an absolute directory "
                    + "holding ca-cert.pem (and optionally client-cert.pem and client-key.pem), or a PEM file of CA "
                    + "certificates, that the server's certificate must chain to. Empty (the default): the JDK's "
                    + "default trust store.")
    String tlsCertificates() default "";
}
