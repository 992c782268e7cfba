package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code copy --sparse=auto|always|never} on real files: a sparse image copied to a new file stays
 * sparse (allocated blocks counted by {@code stat}; its written zeros too unless offloaded), a
 * destination that held random data ends byte-identical with its zero ranges punched, {@code never}
 * allocates everything, a bad value is refused naming it and the accepted ones.
 */
class SparseCopyCommandTest {

    private static final int MIB = 1 << 20;
    /** 16 MiB with 1 MiB of data in scattered pieces, holes first and last, and 2 MiB of written zeros. */
    private static final long SIZE = 16L * MIB;

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    @BeforeEach
    void needsHoles() throws Exception {
        Path probe = dir.resolve("probe");
        try (RandomAccessFile f = new RandomAccessFile(probe.toFile(), "rw")) {
            f.setLength(8L * MIB);
        }
        Assumptions.assumeTrue(allocatedBytes(probe) == 0, "the file system of " + dir + " has no sparse files");
        Files.delete(probe);
    }

    private Path sparseImage(String name, long seed) throws IOException {
        Path p = dir.resolve(name);
        Random random = new Random(seed);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(SIZE);
            // 16 pieces of 64 KiB of data at unaligned places, none in the first or last MiB.
            for (int i = 0; i < 16; i++) {
                byte[] b = new byte[64 * 1024];
                random.nextBytes(b);
                f.seek(MIB + i * 800L * 1024 + random.nextInt(1000) * 512L);
                f.write(b);
            }
            // Zeros written as data: allocated, read as zeros.
            f.seek(14L * MIB);
            f.write(new byte[2 * MIB - 4096]);
        }
        return p;
    }

    private Path randomFile(String name, long seed) throws IOException {
        byte[] b = new byte[(int) SIZE];
        new Random(seed).nextBytes(b);
        return Files.write(dir.resolve(name), b);
    }

    /** @return the bytes the file system allocated to the file, from {@code stat}'s block count */
    static long allocatedBytes(Path p) throws IOException, InterruptedException {
        Process stat = new ProcessBuilder("stat", "--format=%b %B", p.toString()).redirectErrorStream(true).start();
        String out = new String(stat.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(stat.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(stat.exitValue()).as(out).isZero();
        String[] f = out.split(" ");
        return Long.parseLong(f[0]) * Long.parseLong(f[1]);
    }

    @Test
    void aSparseImageCopiedToANewFileStaysSparseByDefault() throws Exception {
        Path src = sparseImage("src.img", 1);
        Path dst = dir.resolve("new.img");
        Path read = dir.resolve("read.img");
        Path offloaded = dir.resolve("offloaded.img");

        assertThat(fixture.run("copy", src.toString(), dst.toString())).as(fixture.err()).isZero();
        assertThat(fixture.run("copy", "--offload=never", src.toString(), read.toString())).as(fixture.err()).isZero();
        assertThat(fixture.run("copy", "--offload=always", src.toString(), offloaded.toString())).as(fixture.err())
                .isZero();

        assertThat(Files.mismatch(src, dst)).isEqualTo(-1);
        assertThat(Files.mismatch(src, read)).isEqualTo(-1);
        assertThat(Files.mismatch(src, offloaded)).isEqualTo(-1);
        // The source's holes stay holes whatever copies. Offloaded (always; by default only where the file system
        // reflinks or copies on the server), the data is copied by the kernel unread: 1 MiB (the 64 KiB pieces
        // straddle 4 KiB blocks) and the 2 MiB of written zeros, as cp --sparse=auto does; read through the
        // pages (never; the default on ext4 and tmpfs), the written zeros are found and become holes too.
        assertThat(allocatedBytes(dst)).isBetween(1L * MIB, 4L * MIB);
        assertThat(allocatedBytes(offloaded)).isBetween(3L * MIB - 4096, 4L * MIB);
        assertThat(allocatedBytes(read)).isBetween(1L * MIB, 2L * MIB);
    }

    @Test
    void alwaysAlsoPunchesAndNeverAllocatesEverything() throws Exception {
        Path src = sparseImage("src.img", 2);
        Path always = dir.resolve("always.img");
        Path never = dir.resolve("never.img");

        assertThat(fixture.run("copy", "--sparse=always", src.toString(), always.toString())).as(fixture.err()).isZero();
        assertThat(fixture.run("copy", "--sparse", "never", src.toString(), never.toString())).as(fixture.err())
                .isZero();

        assertThat(Files.mismatch(src, always)).isEqualTo(-1);
        assertThat(Files.mismatch(src, never)).isEqualTo(-1);
        assertThat(allocatedBytes(always)).isBetween(1L * MIB, 2L * MIB);
        assertThat(allocatedBytes(never)).isGreaterThanOrEqualTo(SIZE);
    }

    @Test
    void destinationsThatHeldDataEndByteIdenticalWithTheirZeroRangesPunched() throws Exception {
        Path src = sparseImage("src.img", 3);
        Path a = randomFile("a.img", 4);
        Path b = randomFile("b.img", 5);
        assertThat(allocatedBytes(a)).isGreaterThanOrEqualTo(SIZE);

        // Read through the pages, so that the written zeros are found too (offloaded, they would be copied as data).
        assertThat(fixture.run("copy", "--offload=never", src.toString(), a.toString(), b.toString()))
                .as(fixture.err()).isZero();

        assertThat(Files.mismatch(src, a)).isEqualTo(-1);
        assertThat(Files.mismatch(src, b)).isEqualTo(-1);
        assertThat(allocatedBytes(a)).isLessThan(2L * MIB);
        assertThat(allocatedBytes(b)).isLessThan(2L * MIB);
    }

    @Test
    void aRegionOfASparseImageIntoTheMiddleOfAFileThatHeldData() throws Exception {
        Path src = sparseImage("src.img", 6);
        Path dst = randomFile("dst.img", 7);
        byte[] before = Files.readAllBytes(dst);

        assertThat(fixture.run("copy", src + ":1001+20000", dst + ":333")).as(fixture.err()).isZero();

        byte[] expected = before.clone();
        System.arraycopy(Files.readAllBytes(src), 1001 * 512, expected, 333 * 512, 20000 * 512);
        assertThat(Files.readAllBytes(dst)).isEqualTo(expected);
    }

    @Test
    void anUnknownModeIsRefusedNamingItAndTheModesAndNothingIsCreated() throws Exception {
        Path src = sparseImage("src.img", 8);
        Path dst = dir.resolve("new.img");

        assertThat(fixture.run("copy", "--sparse=sometimes", src.toString(), dst.toString())).isEqualTo(2);

        assertThat(fixture.err()).contains("--sparse 'sometimes' is not one of auto, always, never");
        assertThat(dst).doesNotExist();
    }
}
