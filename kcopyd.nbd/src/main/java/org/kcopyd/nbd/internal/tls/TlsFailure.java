package org.kcopyd.nbd.internal.tls;

import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;

import javax.net.ssl.SSLException;

/** Turns a failed TLS handshake into a sentence naming what was checked and why it failed. */
public final class TlsFailure {

    private TlsFailure() {
    }

    /**
     * @param e         the handshake's failure
     * @param trustedBy what the peer's certificate was checked against, e.g. the CA file
     * @param host      the host name checked against the certificate, or null if none was
     * @return e.g. "the server's certificate is not signed by the CA certificates in /d/ca-cert.pem (...)"
     */
    public static String clientSide(SSLException e, String trustedBy, String host) {
        String reason = rootMessage(e);
        if (has(e, CertPathValidatorException.class) || reason.contains("PKIX path")
            || reason.contains("certification path")) {
            return "the server's certificate is not trusted: it does not chain to " + trustedBy + " (" + reason + ")";
        }
        if (host != null && has(e, CertificateException.class)
            && (reason.contains("subject alternative") || reason.contains("No name matching"))) {
            return "the server's certificate does not name '" + host + "' (" + reason + ")";
        }
        if (has(e, CertificateException.class)) {
            return "the server's certificate was refused (" + reason + ")";
        }
        return "the TLS handshake failed (" + reason + ")";
    }

    private static boolean has(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable e) {
        // The JDK's handshake messages carry their cause's text already.
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isEmpty()) {
                return t.getMessage();
            }
        }
        return e.getClass().getSimpleName();
    }
}
