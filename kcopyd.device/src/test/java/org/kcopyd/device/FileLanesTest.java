package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;

/** A file's buffered I/O spread over channels of its own ({@link FileBlockDevice}'s lanes). */
class FileLanesTest {

    private static final int SECTORS = 2048;

    @TempDir
    Path dir;

    private final FileDeviceOpener opener = new FileDeviceOpener(false);

    @BeforeEach
    void linuxWithJna() {
        assumeTrue(FileHoles.system() != null, "lanes need the file's own descriptor: JNA on Linux");
    }

    @Test
    void aFileOpenedForWritingHasLanesThatReadAndWriteTheVeryFile() throws Exception {
        Path file = dir.resolve("a.img");
        Files.write(file, new byte[SECTORS * 512]);
        byte[] expected = new byte[SECTORS * 512];
        new Random(7).nextBytes(expected);
        try (FileBlockDevice dev = (FileBlockDevice) opener.open(file, DeviceOption.READ_WRITE)) {
            assertThat(dev.laneCount()).isEqualTo(FileBlockDevice.LANES);
            // Many threads, so every lane carries writes and reads of its own sectors.
            ExecutorService threads = Executors.newFixedThreadPool(FileBlockDevice.LANES * 2);
            try {
                List<Future<?>> writes = new ArrayList<>();
                for (int s = 0; s < SECTORS; s += 8) {
                    int sector = s;
                    writes.add(threads.submit(() -> dev.write(sector,
                            ByteBuffer.wrap(expected, sector * 512, 8 * 512)).toCompletableFuture().join()));
                }
                for (Future<?> f : writes) {
                    f.get(30, TimeUnit.SECONDS);
                }
                List<Future<byte[]>> reads = new ArrayList<>();
                for (int s = 0; s < SECTORS; s += 8) {
                    int sector = s;
                    reads.add(threads.submit(() -> {
                        ByteBuffer b = ByteBuffer.allocateDirect(8 * 512);
                        dev.read(sector, b).toCompletableFuture().join();
                        byte[] got = new byte[8 * 512];
                        b.flip().get(got);
                        return got;
                    }));
                }
                ByteBuffer all = ByteBuffer.allocate(SECTORS * 512);
                for (Future<byte[]> f : reads) {
                    all.put(f.get(30, TimeUnit.SECONDS));
                }
                assertThat(all.array()).as("what every lane read back").isEqualTo(expected);
            } finally {
                threads.shutdownNow();
            }
        }
        assertThat(Files.readAllBytes(file)).as("what the file holds").isEqualTo(expected);
    }

    @Test
    void closingReleasesEveryDescriptorOfTheLanes() throws IOException {
        Path file = dir.resolve("b.img");
        Files.write(file, new byte[SECTORS * 512]);
        long before = openDescriptors();
        for (int i = 0; i < 20; i++) {
            try (BlockDevice dev = opener.open(file, DeviceOption.READ_WRITE)) {
                assertThat(((FileBlockDevice) dev).laneCount()).isEqualTo(FileBlockDevice.LANES);
                assertThat(openDescriptors()).isGreaterThanOrEqualTo(before + FileBlockDevice.LANES);
            }
        }
        assertThat(openDescriptors()).as("descriptors after 20 opens and closes").isEqualTo(before);
    }

    @Test
    void aReadOnlyFileHasReadOnlyLanes() throws IOException {
        Path file = dir.resolve("c.img");
        byte[] data = new byte[SECTORS * 512];
        new Random(3).nextBytes(data);
        Files.write(file, data);
        try (FileBlockDevice dev = (FileBlockDevice) opener.open(file)) {
            assertThat(dev.laneCount()).isEqualTo(FileBlockDevice.LANES);
            ByteBuffer b = ByteBuffer.allocate(512);
            dev.read(5, b).toCompletableFuture().join();
            assertThat(b.array()).isEqualTo(java.util.Arrays.copyOfRange(data, 5 * 512, 6 * 512));
            assertThat(dev.write(5, ByteBuffer.allocate(512)).toCompletableFuture()).isCompletedExceptionally();
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(data);
    }

    @Test
    void withoutTheFilesOwnDescriptorThereAreNoLanes() throws IOException {
        Path file = dir.resolve("d.img");
        Files.write(file, new byte[SECTORS * 512]);
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE);
                FileBlockDevice dev = new FileBlockDevice(file, ch, null, 512, false, SECTORS,
                        FileClaims.identityOf(file), null, null,
                        java.util.Set.of(java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE))) {
            assertThat(dev.laneCount()).as("no holes (no JNA): one channel").isEqualTo(1);
            dev.write(1, ByteBuffer.wrap(new byte[512])).toCompletableFuture().join();
        }
    }

    @Test
    void theFilesOwnDescriptorsAreClosedInProgramsThisProcessRuns() throws IOException {
        Path file = dir.resolve("e.img");
        Files.write(file, new byte[512]);
        for (boolean writable : new boolean[] {false, true}) {
            int fd = FileHoles.system().open(file.toString(), writable);
            try {
                String flags = Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd)).stream()
                        .filter(l -> l.startsWith("flags:")).findFirst().orElseThrow().split("\\s+")[1];
                assertThat(Long.parseLong(flags, 8) & 02000000).as("O_CLOEXEC in flags %s", flags).isNotZero();
            } finally {
                FileHoles.system().close(fd);
            }
        }
    }

    private static long openDescriptors() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }
}
