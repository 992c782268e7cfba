package org.kcopyd.nbd.internal.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Reads PEM files: X.509 certificates ({@code BEGIN CERTIFICATE}, one or more per file) and
 * unencrypted PKCS#8 private keys ({@code BEGIN PRIVATE KEY}, RSA or EC). Other key formats are
 * refused with the command that converts them. Messages name the file and the reason, never a
 * key's content. Files over {@value #MAX_FILE} bytes are refused.
 */
public final class Pem {

    /** The largest PEM file read. */
    public static final int MAX_FILE = 1 << 20;

    private static final String PKCS8_BEGIN = "-----BEGIN PRIVATE KEY-----";
    private static final String PKCS8_END = "-----END PRIVATE KEY-----";

    private Pem() {
    }

    /**
     * @return the certificates in the file, in order (a server's own first, then its chain)
     * @throws IOException naming the file if it is missing, unreadable, too large, holds no
     *                     certificate or a malformed one
     */
    public static List<X509Certificate> certificates(Path file) throws IOException {
        byte[] bytes = read(file, "certificate");
        if (!new String(bytes, StandardCharsets.US_ASCII).contains("-----BEGIN CERTIFICATE-----")) {
            throw new IOException("TLS certificate file " + file + " holds no PEM certificate"
                + " ('-----BEGIN CERTIFICATE-----')");
        }
        try {
            List<X509Certificate> certificates = new ArrayList<>();
            for (Certificate certificate : CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(bytes))) {
                certificates.add((X509Certificate) certificate);
            }
            if (certificates.isEmpty()) {
                throw new IOException("TLS certificate file " + file + " holds no certificate");
            }
            return certificates;
        } catch (CertificateException e) {
            throw new IOException("TLS certificate file " + file + " is not a valid PEM X.509 certificate: "
                + e.getMessage(), e);
        }
    }

    /**
     * @return the private key of an unencrypted PKCS#8 PEM file (RSA or EC)
     * @throws IOException naming the file if it is missing, unreadable, in another format (with
     *                     the {@code openssl} command that converts it) or malformed
     */
    public static PrivateKey privateKey(Path file) throws IOException {
        String text = new String(read(file, "private key"), StandardCharsets.US_ASCII);
        int begin = text.indexOf(PKCS8_BEGIN);
        if (begin < 0) {
            String found = text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") ? "an encrypted PKCS#8 key"
                : text.contains("-----BEGIN RSA PRIVATE KEY-----") ? "a PKCS#1 RSA key ('BEGIN RSA PRIVATE KEY')"
                : text.contains("-----BEGIN EC PRIVATE KEY-----") ? "a SEC1 EC key ('BEGIN EC PRIVATE KEY')"
                : "no PEM private key";
            throw new IOException("TLS private key file " + file + " holds " + found + "; kcopyd reads unencrypted"
                + " PKCS#8 keys ('-----BEGIN PRIVATE KEY-----'): convert it with 'openssl pkcs8 -topk8 -nocrypt -in "
                + file + " -out NEW.pem'");
        }
        int end = text.indexOf(PKCS8_END, begin);
        if (end < 0) {
            throw new IOException("TLS private key file " + file + " has no '" + PKCS8_END + "' line");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(text.substring(begin + PKCS8_BEGIN.length(), end));
        } catch (IllegalArgumentException e) {
            throw new IOException("TLS private key file " + file + ": the key is not valid base64");
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        List<String> tried = List.of("RSA", "EC");
        for (String algorithm : tried) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // Try the next algorithm.
            }
        }
        throw new IOException("TLS private key file " + file + " holds a PKCS#8 key that is neither RSA nor EC,"
            + " or is malformed");
    }

    /**
     * Checks that the key belongs to the certificate, by signing with one and verifying with the other.
     *
     * @throws IOException naming both files if they do not match
     */
    public static void checkPair(PrivateKey key, Path keyFile, X509Certificate certificate, Path certificateFile)
        throws IOException {
        String algorithm = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        byte[] probe = "kcopyd key check".getBytes(StandardCharsets.US_ASCII);
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(probe);
            if (verifier.verify(signature)) {
                return;
            }
        } catch (GeneralSecurityException e) {
            // Mismatched algorithms: reported below.
        }
        throw new IOException("TLS private key file " + keyFile + " does not belong to the certificate in "
            + certificateFile + " (" + certificate.getSubjectX500Principal().getName() + ")");
    }

    private static byte[] read(Path file, String what) throws IOException {
        try {
            long size = Files.size(file);
            if (size > MAX_FILE) {
                throw new IOException("TLS " + what + " file " + file + " is " + size + " bytes, over the limit "
                    + MAX_FILE);
            }
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IOException("TLS " + what + " file " + file + " does not exist", e);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("TLS ")) {
                throw e;
            }
            throw new IOException("TLS " + what + " file " + file + " cannot be read: " + e, e);
        }
    }
}
