package org.kcopyd.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS 1.3 key updates in the middle of transmission (the JDK sends one after a data limit,
 * 2^37 bytes by default, which a long copy reaches): both sides' KeyUpdates are answered and the
 * data stays byte-exact. Runs {@link KeyUpdateMain} in a JVM of its own, as the limit is read once
 * per JVM, with the limit lowered to 256 KiB and the JDK's handshake debug output, which shows
 * the KeyUpdate messages.
 */
class TlsKeyUpdateTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    @Test
    void keyUpdatesDuringTransmissionAreAnsweredAndTheDataIsByteExact() throws Exception {
        TestCertificates.make(dir.resolve("certs"), false);
        Path security = Files.writeString(dir.resolve("java.security"),
            "jdk.tls.keyLimits=AES/GCM/NoPadding KeyUpdate 2^18, ChaCha20-Poly1305 KeyUpdate 2^18\n");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path log = dir.resolve("java.log");
        Process process = new ProcessBuilder(java, "-Djava.security.properties=" + security,
            "-Djavax.net.debug=ssl:handshake", "-cp", System.getProperty("java.class.path"),
            KeyUpdateMain.class.getName(), dir.resolve("certs").toString(), dir.resolve("k.sock").toString())
            .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            assertThat(process.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).as("finished within " + TIMEOUT).isTrue();
        } finally {
            process.destroyForcibly();
        }
        String output = Files.readString(log);
        assertThat(process.exitValue()).as(tail(output)).isZero();
        assertThat(output).as(tail(output)).contains("OK");
        assertThat(output).contains("Produced KeyUpdate post-handshake message")
            .contains("Consuming KeyUpdate post-handshake message");
    }

    private static String tail(String output) {
        return output.length() <= 4000 ? output : output.substring(output.length() - 4000);
    }
}
