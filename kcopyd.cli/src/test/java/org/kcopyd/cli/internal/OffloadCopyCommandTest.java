package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code copy --offload=auto|always|never} on real files. That the kernel copied is seen where it
 * shows: zeros written as data in a sparse image are copied as data by the kernel
 * ({@code --offload=always}: allocated in the new file, as {@code cp --sparse=auto} does), while
 * {@code --offload=never} reads them and makes them holes, and so does the default on ext4 or
 * tmpfs, where the kernel's copy is slower than the pages. Every copy is byte-identical: to a file
 * of another file system (tmpfs {@code /dev/shm}, where the kernel refuses and the pages copy), with {@code --hash} (which
 * reads the source itself: its digest is the file's) and {@code --verify}; a bad value is refused
 * naming it and the accepted ones, before anything is created.
 */
class OffloadCopyCommandTest {

    private static final int MIB = 1 << 20;
    private static final Path SHM = Path.of("/dev/shm");

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    /** 8 MiB and 100 bytes: 1 MiB of random data, a hole, 2 MiB of zeros written as data, a hole, a tail. */
    private Path image(Path where, String name, long seed) throws IOException {
        Path p = where.resolve(name);
        Random random = new Random(seed);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(8L * MIB + 100);
            byte[] b = new byte[MIB];
            random.nextBytes(b);
            f.seek(MIB);
            f.write(b);
            f.seek(4L * MIB);
            f.write(new byte[2 * MIB]);
            byte[] tail = new byte[100];
            random.nextBytes(tail);
            f.seek(8L * MIB);
            f.write(tail);
        }
        return p;
    }

    @Test
    void alwaysTheKernelCopiesTheDataZerosIncludedWhereNeverAndTheDefaultOnExt4ReadThemIntoHoles()
            throws Exception {
        Path src = image(dir, "src.img", 1);
        Assumptions.assumeTrue(SparseCopyCommandTest.allocatedBytes(src) < 5L * MIB,
                "the file system of " + dir + " has no sparse files");
        String type = Files.getFileStore(dir).type();
        Assumptions.assumeTrue(type.startsWith("ext") || type.equals("tmpfs"), dir + " is on " + type
                + ", where the default may offload");
        Path offloaded = dir.resolve("offloaded.img");
        Path read = dir.resolve("read.img");
        Path auto = dir.resolve("auto.img");

        assertThat(fixture.run("copy", "--offload=always", src.toString(), offloaded.toString())).as(fixture.err())
                .isZero();
        assertThat(fixture.run("copy", "--offload=never", src.toString(), read.toString())).as(fixture.err()).isZero();
        assertThat(fixture.run("copy", src.toString(), auto.toString())).as(fixture.err()).isZero();

        assertThat(Files.mismatch(src, offloaded)).isEqualTo(-1);
        assertThat(Files.mismatch(src, read)).isEqualTo(-1);
        assertThat(Files.mismatch(src, auto)).isEqualTo(-1);
        assertThat(SparseCopyCommandTest.allocatedBytes(auto)).as("the default on " + type + ": the pages")
                .isBetween(1L * MIB, 2L * MIB);
        // The written zeros: copied by the kernel as the source's data, or found by reading and left as a hole.
        assertThat(SparseCopyCommandTest.allocatedBytes(offloaded)).isBetween(3L * MIB, 4L * MIB);
        assertThat(SparseCopyCommandTest.allocatedBytes(read)).isBetween(1L * MIB, 2L * MIB);
    }

    @Test
    void toAnotherFileSystemTheKernelRefusesAndThePagesCopy() throws Exception {
        Assumptions.assumeTrue(Files.isDirectory(SHM) && Files.isWritable(SHM), "this machine has no writable /dev/shm");
        Assumptions.assumeTrue(!Files.getFileStore(SHM).type().equals(Files.getFileStore(dir).type()),
                "/dev/shm and " + dir + " are file systems of one type");
        Path src = image(dir, "src.img", 2);
        Path dst = SHM.resolve("kcopyd-offload-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        try {
            assertThat(fixture.run("copy", "--offload=always", src.toString(), dst.toString())).as(fixture.err())
                    .isZero();
            assertThat(Files.mismatch(src, dst)).isEqualTo(-1);
        } finally {
            Files.deleteIfExists(dst);
        }
    }

    @Test
    void hashAndVerifySeeTheBytesWithOffloadOn() throws Exception {
        Path src = image(dir, "src.img", 3);
        byte[] before = new byte[8 * MIB + 100];
        new Random(4).nextBytes(before);
        Path held = Files.write(dir.resolve("held.img"), before);
        Path fresh = dir.resolve("new.img");

        assertThat(fixture.run("copy", "--offload=always", "--hash", "sha256", "--verify", src.toString(),
                held.toString(),
                fresh.toString())).as(fixture.err()).isZero();

        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(src)));
        assertThat(fixture.out()).contains("sha256 " + expected);
        assertThat(Files.mismatch(src, held)).isEqualTo(-1);
        assertThat(Files.mismatch(src, fresh)).isEqualTo(-1);
    }

    @Test
    void anUnknownModeIsRefusedNamingItAndTheModesAndNothingIsCreated() throws Exception {
        Path src = image(dir, "src.img", 5);
        Path dst = dir.resolve("new.img");

        assertThat(fixture.run("copy", "--offload=reflink", src.toString(), dst.toString())).isEqualTo(2);

        assertThat(fixture.err()).contains("--offload 'reflink' is not one of auto, always, never");
        assertThat(dst).doesNotExist();
    }
}
