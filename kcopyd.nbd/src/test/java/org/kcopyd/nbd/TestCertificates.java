package org.kcopyd.nbd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.kcopyd.testdevices.Peers;

/**
 * Certificates made with {@code openssl} at test time, in nbdkit's {@code --tls-certificates}
 * layout: {@code server/} (ca-cert.pem, server-cert.pem for localhost and 127.0.0.1,
 * server-key.pem), {@code client/} (ca-cert.pem, client-cert.pem, client-key.pem),
 * {@code trust/} (ca-cert.pem only) and {@code wrong/} (the ca-cert.pem of another CA). Keys are
 * EC P-256 in PKCS#8, except with {@code rsa} the server's, which is RSA 2048.
 */
public final class TestCertificates {

    /** ca-cert.pem, server-cert.pem, server-key.pem. */
    public final Path server;
    /** ca-cert.pem, client-cert.pem, client-key.pem. */
    public final Path client;
    /** ca-cert.pem. */
    public final Path trust;
    /** The ca-cert.pem of another CA. */
    public final Path wrong;

    private TestCertificates(Path root) {
        this.server = root.resolve("server");
        this.client = root.resolve("client");
        this.trust = root.resolve("trust");
        this.wrong = root.resolve("wrong");
    }

    /** Makes the certificates under {@code root}; skips the test if openssl is missing. */
    public static TestCertificates make(Path root, boolean rsa) throws Exception {
        Peers.require("openssl", "openssl");
        TestCertificates c = new TestCertificates(root);
        Path work = Files.createDirectories(root.resolve("work"));
        for (Path d : new Path[] {c.server, c.client, c.trust, c.wrong}) {
            Files.createDirectories(d);
        }
        ca(work, "ca", "kcopyd test CA");
        ca(work, "wrong-ca", "another CA");
        String[] serverKey = rsa ? new String[] {"-newkey", "rsa:2048"}
            : new String[] {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"};
        signed(work, "server", serverKey, "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
            + "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n");
        signed(work, "client", new String[] {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"},
            "kcopyd test client", "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n");
        Files.copy(work.resolve("ca-cert.pem"), c.server.resolve("ca-cert.pem"));
        Files.copy(work.resolve("server-cert.pem"), c.server.resolve("server-cert.pem"));
        Files.copy(work.resolve("server-key.pem"), c.server.resolve("server-key.pem"));
        Files.copy(work.resolve("ca-cert.pem"), c.client.resolve("ca-cert.pem"));
        Files.copy(work.resolve("client-cert.pem"), c.client.resolve("client-cert.pem"));
        Files.copy(work.resolve("client-key.pem"), c.client.resolve("client-key.pem"));
        Files.copy(work.resolve("ca-cert.pem"), c.trust.resolve("ca-cert.pem"));
        Files.copy(work.resolve("wrong-ca-cert.pem"), c.wrong.resolve("ca-cert.pem"));
        return c;
    }

    private static void ca(Path work, String name, String subject) throws Exception {
        openssl(work, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", name + "-key.pem", "-out", name + "-cert.pem", "-days", "2", "-subj", "/CN=" + subject,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    }

    private static void signed(Path work, String name, String[] key, String subject, String extensions)
        throws Exception {
        Files.writeString(work.resolve(name + ".ext"), extensions);
        String[] request = concat(new String[] {"req", "-new"}, key, new String[] {"-nodes", "-keyout",
            name + "-key.pem", "-out", name + ".csr", "-subj", "/CN=" + subject});
        openssl(work, request);
        openssl(work, "x509", "-req", "-in", name + ".csr", "-CA", "ca-cert.pem", "-CAkey", "ca-key.pem",
            "-CAcreateserial", "-out", name + "-cert.pem", "-days", "2", "-extfile", name + ".ext");
    }

    private static String[] concat(String[]... parts) {
        return java.util.Arrays.stream(parts).flatMap(java.util.Arrays::stream).toArray(String[]::new);
    }

    static void openssl(Path work, String... arguments) throws Exception {
        String[] command = concat(new String[] {"openssl"}, arguments);
        PeerProcess.Result result = runIn(work, command);
        if (result.exitCode() != 0) {
            throw new IOException(String.join(" ", command) + " failed with " + result.exitCode() + ": "
                + result.output());
        }
    }

    private static PeerProcess.Result runIn(Path work, String... command) throws Exception {
        Process process = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(true).start();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(Duration.ofSeconds(60).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish within 60 s");
        }
        return new PeerProcess.Result(process.exitValue(), new String(output, java.nio.charset.StandardCharsets.UTF_8));
    }
}
