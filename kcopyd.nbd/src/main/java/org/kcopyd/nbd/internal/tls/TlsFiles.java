package org.kcopyd.nbd.internal.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * Builds the TLS side of a server or client from PEM files laid out as nbdkit's and libnbd's
 * {@code --tls-certificates DIR}: {@value #CA_CERT} (the CA that signed the peer),
 * {@value #SERVER_CERT} and {@value #SERVER_KEY} (a server's certificate, optionally followed by
 * its chain, and its PKCS#8 key), {@value #CLIENT_CERT} and {@value #CLIENT_KEY} (a client's,
 * optional). Protocols: TLS 1.3 and 1.2. The files are read once, when this is built.
 */
public final class TlsFiles {

    /** The CA certificate(s) a peer's certificate must chain to. */
    public static final String CA_CERT = "ca-cert.pem";
    /** The server's certificate (and chain). */
    public static final String SERVER_CERT = "server-cert.pem";
    /** The server's private key. */
    public static final String SERVER_KEY = "server-key.pem";
    /** The client's certificate, presented when the directory has it. */
    public static final String CLIENT_CERT = "client-cert.pem";
    /** The client's private key. */
    public static final String CLIENT_KEY = "client-key.pem";

    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
    private static final char[] NO_PASSWORD = new char[0];

    private TlsFiles() {
    }

    /** A server's TLS: makes an engine per connection. */
    public static final class Server {
        private final SSLContext context;
        private final boolean verifyClients;
        private final Path directory;

        private Server(SSLContext context, boolean verifyClients, Path directory) {
            this.context = context;
            this.verifyClients = verifyClients;
            this.directory = directory;
        }

        /** @return a new server-mode engine */
        public SSLEngine newEngine() {
            SSLEngine engine = context.createSSLEngine();
            engine.setUseClientMode(false);
            engine.setEnabledProtocols(PROTOCOLS);
            engine.setNeedClientAuth(verifyClients);
            return engine;
        }

        /** @return the certificates directory */
        public Path directory() {
            return directory;
        }

        /** @return true if clients must present a certificate signed by the directory's CA */
        public boolean verifyClients() {
            return verifyClients;
        }
    }

    /** A client's TLS: what it trusts and, optionally, the certificate it presents. */
    public static final class Client {
        private final SSLContext context;
        private final String trustedBy;

        private Client(SSLContext context, String trustedBy) {
            this.context = context;
            this.trustedBy = trustedBy;
        }

        /**
         * @param host the server's host name or address, checked against its certificate; null
         *             for a Unix socket (no name to check: only the chain is verified)
         * @param port the TCP port (a hint for session reuse)
         * @return a new client-mode engine
         */
        public SSLEngine newEngine(String host, int port) {
            SSLEngine engine = host == null ? context.createSSLEngine() : context.createSSLEngine(host, port);
            engine.setUseClientMode(true);
            engine.setEnabledProtocols(PROTOCOLS);
            if (host != null) {
                SSLParameters parameters = engine.getSSLParameters();
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
                engine.setSSLParameters(parameters);
            }
            return engine;
        }

        /** @return what the server's certificate is checked against, for messages */
        public String trustedBy() {
            return trustedBy;
        }
    }

    /**
     * @param directory     holds {@value #SERVER_CERT}, {@value #SERVER_KEY} and, with
     *                      {@code verifyClients}, {@value #CA_CERT}
     * @param verifyClients true to require client certificates signed by {@value #CA_CERT}
     * @throws IOException naming the directory or the file and the reason
     */
    public static Server server(Path directory, boolean verifyClients) throws IOException {
        requireDirectory(directory);
        Path certificateFile = directory.resolve(SERVER_CERT);
        Path keyFile = directory.resolve(SERVER_KEY);
        KeyManager[] keys = keyManagers(certificateFile, keyFile);
        TrustManager[] trust = null;
        if (verifyClients) {
            trust = trustManagers(directory.resolve(CA_CERT));
        }
        return new Server(context(keys, trust, directory), verifyClients, directory);
    }

    /**
     * @param trust null for the JDK's default trust store; a directory holding {@value #CA_CERT}
     *              (and optionally {@value #CLIENT_CERT} with {@value #CLIENT_KEY}, presented to
     *              servers that ask); or a PEM file of CA certificates
     * @throws IOException naming the path and the reason
     */
    public static Client client(Path trust) throws IOException {
        if (trust == null) {
            return new Client(context(null, null, null), "the JDK's default trust store");
        }
        if (!Files.exists(trust)) {
            throw new IOException("TLS certificates " + trust + " do not exist (expected a directory holding "
                + CA_CERT + ", or a PEM file of CA certificates)");
        }
        if (!Files.isDirectory(trust)) {
            return new Client(context(null, trustManagers(trust), trust), "the CA certificates in " + trust);
        }
        Path ca = trust.resolve(CA_CERT);
        TrustManager[] trustManagers = trustManagers(ca);
        Path certificate = trust.resolve(CLIENT_CERT);
        Path key = trust.resolve(CLIENT_KEY);
        KeyManager[] keys = null;
        if (Files.exists(certificate) || Files.exists(key)) {
            if (!Files.exists(certificate) || !Files.exists(key)) {
                throw new IOException("TLS certificates directory " + trust + " has " + (Files.exists(key)
                    ? CLIENT_KEY + " without " + CLIENT_CERT : CLIENT_CERT + " without " + CLIENT_KEY)
                    + "; a client certificate needs both");
            }
            keys = keyManagers(certificate, key);
        }
        return new Client(context(keys, trustManagers, trust), "the CA certificates in " + ca);
    }

    private static void requireDirectory(Path directory) throws IOException {
        if (!Files.isDirectory(directory)) {
            throw new IOException("TLS certificates directory " + directory + " is not a directory (expected "
                + SERVER_CERT + " and " + SERVER_KEY + " in it, as nbdkit's --tls-certificates DIR)");
        }
    }

    private static KeyManager[] keyManagers(Path certificateFile, Path keyFile) throws IOException {
        List<X509Certificate> chain = Pem.certificates(certificateFile);
        PrivateKey key = Pem.privateKey(keyFile);
        Pem.checkPair(key, keyFile, chain.get(0), certificateFile);
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("key", key, NO_PASSWORD, chain.toArray(new X509Certificate[0]));
            KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            factory.init(store, NO_PASSWORD);
            return factory.getKeyManagers();
        } catch (GeneralSecurityException e) {
            throw new IOException("TLS certificate " + certificateFile + " and key " + keyFile
                + " cannot be used: " + e.getMessage(), e);
        }
    }

    private static TrustManager[] trustManagers(Path caFile) throws IOException {
        List<X509Certificate> authorities = Pem.certificates(caFile);
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            for (int i = 0; i < authorities.size(); i++) {
                store.setCertificateEntry("ca-" + i, authorities.get(i));
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(store);
            return factory.getTrustManagers();
        } catch (GeneralSecurityException e) {
            throw new IOException("TLS CA certificates " + caFile + " cannot be used: " + e.getMessage(), e);
        }
    }

    private static SSLContext context(KeyManager[] keys, TrustManager[] trust, Path where) throws IOException {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys, trust, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException("TLS cannot be set up" + (where == null ? "" : " from " + where) + ": "
                + e.getMessage(), e);
        }
    }
}
