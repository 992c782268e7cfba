package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kcopyd.cli.internal.CommandFixture.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kcopyd.api.BlockDevice;

/**
 * {@code copy --hash sha256}: the digest printed equals {@link MessageDigest}'s over the source
 * region, for sizes that are not whole sub-jobs, a single sector, less than a sector and a region
 * {@code SRC:START+COUNT}, with the source's reads completing in reverse order; an unknown
 * algorithm is exit 2 naming it before anything is created; a failed copy prints no digest.
 */
class HashCommandTest {

    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    private static String sha256(byte[] data, int from, int to) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(data, from, to - from);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** Opens the source with its reads completing in reverse order, three at a time. */
    private AtomicReference<TestOpeners.ReverseReads> reversing(Path src, long sectors) {
        AtomicReference<TestOpeners.ReverseReads> device = new AtomicReference<>();
        fixture.opener = TestOpeners.wrapping(fixture.engine.devices(), Map.of(), Map.of(src, d -> {
            TestOpeners.ReverseReads r = new TestOpeners.ReverseReads(d, sectors, 3);
            device.set(r);
            return r;
        }), false);
        return device;
    }

    @ParameterizedTest
    @ValueSource(ints = {5 * MIB + 1536, 3 * MIB + 4096 + 300, 512, 1000, 300})
    void theDigestEqualsMessageDigestsOverTheSourceWithReadsCompletingInReverse(int size) throws IOException {
        Path src = image(dir, "src.img", size, size);
        AtomicReference<TestOpeners.ReverseReads> reads = reversing(src, size / BlockDevice.SECTOR_SIZE);

        assertThat(fixture.run("copy", src.toString(), dir.resolve("a.img").toString(), "--hash", "sha256")).isZero();

        byte[] data = Files.readAllBytes(src);
        assertThat(fixture.out().lines().toList()).hasSize(2)
                .last().isEqualTo("sha256 " + sha256(data, 0, size) + "  " + src);
        assertThat(Files.readAllBytes(dir.resolve("a.img"))).isEqualTo(data);
        if (size > 2 * MIB) {
            assertThat(reads.get().outOfOrder.get()).isPositive();
        }
    }

    @Test
    void aRegionOfTheSourceIsHashedAloneAndSha256IsAcceptedInAnyCaseWithJson() throws IOException {
        Path src = image(dir, "src.img", 4 * MIB, 12);
        reversing(src, 4099);

        assertThat(fixture.run("copy", src + ":7+4099", dir.resolve("a.img").toString(), "--hash", "SHA-256",
                "--json")).isZero();

        byte[] data = Files.readAllBytes(src);
        assertThat(fixture.out()).contains("\"sha256\":\"" + sha256(data, 7 * 512, (7 + 4099) * 512) + "\"");
        assertThat(Files.readAllBytes(dir.resolve("a.img"))).isEqualTo(Arrays.copyOfRange(data, 7 * 512, 4106 * 512));
    }

    @Test
    void anUnknownAlgorithmIsExit2NamingItAndTheSupportedOneAndCreatesNothing() throws IOException {
        Path src = image(dir, "src.img", MIB, 13);

        assertThat(fixture.run("copy", src.toString(), dir.resolve("a.img").toString(), "--hash", "md5"))
                .isEqualTo(Exit.USAGE);
        assertThat(fixture.run("copy", src.toString(), dir.resolve("a.img").toString(), "--hash", "sha512", "--json"))
                .isEqualTo(Exit.USAGE);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: --hash 'md5' is not supported; the supported algorithm is "
                + "sha256 (also written sha-256, in any case)\n");
        assertThat(fixture.out()).startsWith("{\"result\":\"error\",\"exitCode\":2,\"message\":\"--hash 'sha512' is "
                + "not supported;");
        assertThat(CommandFixture.names(dir)).containsExactly("src.img");
    }

    @Test
    void aFailedCopyPrintsNoDigest() throws IOException {
        Path src = image(dir, "src.img", 2 * MIB, 14);
        fixture.failing(src, 1000, new IOException("EIO"));

        assertThat(fixture.run("copy", src.toString(), dir.resolve("a.img").toString(), "--hash", "sha256"))
                .isEqualTo(Exit.READ_ERROR);
        assertThat(fixture.run("copy", src.toString(), dir.resolve("b.img").toString(), "--hash", "sha256",
                "--ignore-errors", "--json")).isEqualTo(Exit.READ_ERROR);

        assertThat(fixture.out().lines().toList()).hasSize(1);
        assertThat(fixture.out()).contains("\"sha256\":null").doesNotContain("sha256 ");
        assertThat(fixture.err()).doesNotContain("sha256");
    }
}
