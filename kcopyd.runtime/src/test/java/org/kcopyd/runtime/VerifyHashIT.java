package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code copy --verify} and {@code --hash} through the real runtime jar: a verified copy with its
 * digest in words and JSON, an unknown algorithm refused with one line naming it before anything
 * is created, and exit code 5 documented in the help.
 */
class VerifyHashIT {

    @TempDir
    Path dir;

    private static String sha256(byte[] data) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    private byte[] source(int bytes) throws IOException {
        byte[] data = new byte[bytes];
        new Random(bytes).nextBytes(data);
        Files.write(dir.resolve("src.img"), data);
        return data;
    }

    @Test
    void aVerifiedCopyPrintsEachDestinationVerifiedAndTheSourcesDigest() throws Exception {
        byte[] data = source(3 * 1024 * 1024 + 700);

        KcopydProcess.Run run = KcopydProcess.run(dir, "copy", "src.img", "a.img", "b.img", "--verify", "--flush",
                "--hash", "sha256");

        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out().lines().toList()).hasSize(4);
        assertThat(run.out().lines().skip(1).toList()).containsExactly(
                "verified a.img: identical to the source (read back: O_DIRECT)",
                "verified b.img: identical to the source (read back: O_DIRECT)",
                "sha256 " + sha256(data) + "  src.img");
        assertThat(run.err()).isEmpty();
        assertThat(Files.readAllBytes(dir.resolve("b.img"))).isEqualTo(data);
    }

    @Test
    void withJsonTheChecksAndTheDigestAreFieldsOfTheOneObject() throws Exception {
        byte[] data = source(1024 * 1024);

        KcopydProcess.Run run = KcopydProcess.run(dir, "copy", "src.img:8+2040", "a.img", "--verify", "--hash",
                "SHA-256", "--json");

        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out().lines().toList()).hasSize(1);
        byte[] region = java.util.Arrays.copyOfRange(data, 8 * 512, 2048 * 512);
        assertThat(run.out()).startsWith("{\"result\":\"ok\",")
                .contains("\"sha256\":\"" + sha256(region) + "\"")
                .contains("\"verify\":{\"state\":\"ok\",\"readBack\":\"O_DIRECT\"}");
        assertThat(run.err()).isEmpty();
    }

    @Test
    void anUnknownAlgorithmIsOneLineNamingItAndNothingIsCreated() throws Exception {
        source(4096);

        KcopydProcess.Run run = KcopydProcess.run(dir, "copy", "src.img", "a.img", "--hash", "md5");

        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).isEqualTo("kcopyd copy: --hash 'md5' is not supported; the supported algorithm is "
                + "sha256 (also written sha-256, in any case)\n");
        assertThat(run.out()).isEmpty();
        assertThat(dir.resolve("a.img")).doesNotExist();
    }

    @Test
    void theHelpDocumentsExitCode5() {
        KcopydProcess.Run run = KcopydProcess.run(dir, "copy", "--help");

        assertThat(run.exit()).isZero();
        assertThat(run.out()).contains("--verify").contains("--hash=ALGORITHM")
                .containsPattern("5 +--verify: a destination read back differs from the source");
    }
}
