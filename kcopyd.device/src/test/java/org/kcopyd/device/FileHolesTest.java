package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.Extent;

/**
 * Files' holes through JNA: {@link FileBlockDevice#extents} answers the file system's holes and
 * data (holes first, last, everywhere, nowhere, data at unaligned places), write-zeroes punches
 * holes without changing the size, a file system refusing to punch gets zeros written instead,
 * and without the system calls the file is read and written as before.
 */
class FileHolesTest {

    private static final int MIB = 1 << 20;
    private static final long SECTORS = 8L * MIB / 512;

    @TempDir
    Path dir;

    private final FileDeviceOpener opener = new FileDeviceOpener(false);

    @BeforeEach
    void onLinuxWithJna() {
        assertThat(FileHoles.system()).as("JNA on Linux: the tests' runtime has both").isNotNull();
    }

    private Path file(String name) throws IOException {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(SECTORS * 512);
        }
        return p;
    }

    private static void put(Path p, long byteOffset, int length, long seed) throws IOException {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        b[0] = 1;
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.seek(byteOffset);
            f.write(b);
        }
    }

    private static List<Extent> extents(BlockDevice d, long sector, long count) {
        return d.extents(sector, count).toCompletableFuture().join();
    }

    /** The answer follows the rules: contiguous from {@code sector}, covering the range, none empty. */
    private static void wellFormed(List<Extent> runs, long sector, long count) {
        assertThat(runs).isNotEmpty();
        long pos = sector;
        for (Extent e : runs) {
            assertThat(e.sector()).isEqualTo(pos);
            pos = e.endSector();
        }
        assertThat(pos).isEqualTo(sector + count);
    }

    private static Extent.Type typeAt(List<Extent> runs, long sector) {
        return runs.stream().filter(e -> e.sector() <= sector && sector < e.endSector()).findFirst().orElseThrow()
                .type();
    }

    @Test
    void aFileOfOneHoleIsOneHoleRunAndAFullFileOneDataRun() throws Exception {
        Path hole = file("hole.img");
        Path full = dir.resolve("full.img");
        byte[] b = new byte[(int) (SECTORS * 512)];
        new Random(1).nextBytes(b);
        Files.write(full, b);
        try (BlockDevice h = opener.open(hole); BlockDevice f = opener.open(full)) {
            assertThat(((FileBlockDevice) h).knowsHoles()).isTrue();
            assertThat(extents(h, 0, SECTORS)).containsExactly(new Extent(0, SECTORS, Extent.Type.HOLE));
            assertThat(extents(f, 0, SECTORS)).containsExactly(new Extent(0, SECTORS, Extent.Type.DATA));
            assertThat(extents(h, 100, 7)).containsExactly(new Extent(100, 7, Extent.Type.HOLE));
        }
    }

    @Test
    void dataAtUnalignedPlacesIsDataAndTheRestHoles() throws Exception {
        Path p = file("mixed.img");
        put(p, 1000, 3000, 2);                    // inside the first 4 KiB block
        put(p, 3L * MIB + 777, 70_000, 3);        // across blocks, unaligned
        put(p, SECTORS * 512 - 10, 10, 4);         // the last bytes
        byte[] content = Files.readAllBytes(p);
        try (BlockDevice d = opener.open(p)) {
            for (long[] range : new long[][] {{0, SECTORS}, {1, SECTORS - 2}, {6143, 200}, {SECTORS - 1, 1}}) {
                List<Extent> runs = extents(d, range[0], range[1]);
                wellFormed(runs, range[0], range[1]);
                for (long s = range[0]; s < range[0] + range[1]; s++) {
                    if (!zero(content, s)) {
                        assertThat(typeAt(runs, s)).as("sector %d holds data", s).isEqualTo(Extent.Type.DATA);
                    }
                }
            }
            List<Extent> whole = extents(d, 0, SECTORS);
            assertThat(typeAt(whole, 0)).isEqualTo(Extent.Type.DATA);
            assertThat(typeAt(whole, 2 * MIB / 512)).isEqualTo(Extent.Type.HOLE);
            assertThat(typeAt(whole, 6 * MIB / 512)).isEqualTo(Extent.Type.HOLE);
            assertThat(typeAt(whole, SECTORS - 1)).isEqualTo(Extent.Type.DATA);
            assertThat(whole.stream().filter(e -> e.type() == Extent.Type.DATA).mapToLong(Extent::count).sum())
                    .as("data is found at the file system's block size, not much beyond").isLessThan(1024);
        }
    }

    private static boolean zero(byte[] content, long sector) {
        for (int i = (int) sector * 512; i < (sector + 1) * 512; i++) {
            if (content[i] != 0) {
                return false;
            }
        }
        return true;
    }

    @Test
    void writeZeroesPunchesAHoleAndKeepsTheSize() throws Exception {
        Path p = dir.resolve("full.img");
        byte[] b = new byte[(int) (SECTORS * 512)];
        new Random(5).nextBytes(b);
        Files.write(p, b);
        long before = allocatedBytes(p);
        try (BlockDevice d = opener.open(p, DeviceOption.READ_WRITE)) {
            assertThat(d.supportsWriteZeroes()).isTrue();
            d.writeZeroes(2048, 8192).toCompletableFuture().join();
            assertThat(extents(d, 0, SECTORS)).containsExactly(new Extent(0, 2048, Extent.Type.DATA),
                    new Extent(2048, 8192, Extent.Type.HOLE), new Extent(10240, SECTORS - 10240, Extent.Type.DATA));
        }
        assertThat(Files.size(p)).isEqualTo(SECTORS * 512);
        assertThat(allocatedBytes(p)).isEqualTo(before - 4L * MIB);
        java.util.Arrays.fill(b, 2048 * 512, 10240 * 512, (byte) 0);
        assertThat(Files.readAllBytes(p)).isEqualTo(b);
    }

    @Test
    void aReadOnlyFileTellsItsHolesButHasNoWriteZeroes() throws Exception {
        Path p = file("ro.img");
        try (BlockDevice d = opener.open(p)) {
            assertThat(d.supportsWriteZeroes()).isFalse();
            assertThat(d.writeZeroes(0, 8).toCompletableFuture()).isCompletedExceptionally();
            assertThat(extents(d, 0, SECTORS)).containsExactly(new Extent(0, SECTORS, Extent.Type.HOLE));
        }
    }

    @Test
    void aFileSystemRefusingToPunchGetsZerosWrittenAndNoLongerOffersWriteZeroes() throws Exception {
        Path p = dir.resolve("refuses.img");
        byte[] b = new byte[(int) (SECTORS * 512)];
        new Random(6).nextBytes(b);
        Files.write(p, b);
        NativeFiles refusing = new ForwardingNativeFiles() {
            @Override
            public void punch(int fd, long offset, long length) throws IOException {
                throw new IOException("fallocate PUNCH_HOLE: Operation not supported (EOPNOTSUPP)");
            }
        };
        try (FileBlockDevice d = device(p, refusing)) {
            assertThat(d.supportsWriteZeroes()).isTrue();
            d.writeZeroes(100, 3000).toCompletableFuture().join();
            assertThat(d.supportsWriteZeroes()).as("after the refusal").isFalse();
            d.writeZeroes(5000, 9).toCompletableFuture().join();
        }
        java.util.Arrays.fill(b, 100 * 512, 3100 * 512, (byte) 0);
        java.util.Arrays.fill(b, 5000 * 512, 5009 * 512, (byte) 0);
        assertThat(Files.readAllBytes(p)).isEqualTo(b);
        assertThat(allocatedBytes(p)).as("zeros written, nothing punched").isGreaterThanOrEqualTo(SECTORS * 512);
    }

    @Test
    void withoutTheSystemCallsAFileIsAllDataAndZeroesAreWritten() throws Exception {
        Path p = file("plain.img");
        put(p, 0, 512, 7);
        try (FileBlockDevice d = device(p, null)) {
            assertThat(d.knowsHoles()).isFalse();
            assertThat(d.supportsWriteZeroes()).isFalse();
            assertThat(extents(d, 0, SECTORS)).containsExactly(new Extent(0, SECTORS, Extent.Type.DATA));
            d.writeZeroes(0, 1).toCompletableFuture().join();
            ByteBuffer first = ByteBuffer.allocate(512);
            d.read(0, first).toCompletableFuture().join();
            assertThat(first.array()).containsOnly(0);
        }
    }

    @Test
    void aPathNowNamingAnotherFileGetsNoHoles() throws Exception {
        Path a = file("a.img");
        Path b = file("b.img");
        Object identityOfA = FileClaims.identityOf(a);
        assertThat(FileHoles.open(FileHoles.system(), b, identityOfA, false)).isNull();
        FileHoles own = FileHoles.open(FileHoles.system(), a, identityOfA, false);
        assertThat(own).isNotNull();
        own.close();
    }

    private static FileBlockDevice device(Path p, NativeFiles sys) throws IOException {
        FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new FileBlockDevice(p, ch, null, 512, false, Files.size(p) / 512, FileClaims.identityOf(p), null, sys,
                java.util.Set.of());
    }

    /** @return the bytes allocated to the file, from {@code stat}'s block count */
    static long allocatedBytes(Path p) throws IOException, InterruptedException {
        Process stat = new ProcessBuilder("stat", "--format=%b %B", p.toString()).redirectErrorStream(true).start();
        String out = new String(stat.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(stat.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String[] f = out.split(" ");
        return Long.parseLong(f[0]) * Long.parseLong(f[1]);
    }
}
