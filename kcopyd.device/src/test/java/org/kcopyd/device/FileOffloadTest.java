package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletionException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;

/**
 * {@link FileBlockDevice#offloadTo}: the kernel copies between two files of one file system
 * (reflink where aligned and taken, else copy_file_range; unaligned ranges too), refuses files on
 * two file systems with an {@link UnsupportedOperationException}, and no offload is offered to a
 * read-only file or a device of another kind; a range outside either file is refused before the
 * kernel is asked.
 */
class FileOffloadTest {

    private static final Path SHM = Path.of("/dev/shm");

    @TempDir
    Path dir;

    private final FileDeviceOpener opener = new FileDeviceOpener(false);

    private static byte[] random(int bytes, long seed) {
        byte[] b = new byte[bytes];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static Throwable failure(java.util.concurrent.CompletionStage<Void> stage) {
        try {
            stage.toCompletableFuture().join();
            return null;
        } catch (CompletionException e) {
            return e.getCause();
        }
    }

    @Test
    void filesOfOneFileSystemCopyByTheKernelAlignedOrNot() throws IOException {
        byte[] data = random(1 << 20, 1);
        byte[] before = random(1 << 20, 2);
        Files.write(dir.resolve("src"), data);
        Files.write(dir.resolve("dst"), before);
        try (BlockDevice src = opener.open(dir.resolve("src"));
                BlockDevice dst = opener.open(dir.resolve("dst"), DeviceOption.READ_WRITE)) {
            assumeTrue(((FileBlockDevice) src).knowsHoles(), "no system calls for files here (JNA, Linux)");
            assertThat(src.canOffloadTo(dst)).isTrue();
            // Aligned to 4 KiB (a reflink is tried first), then unaligned (copy_file_range only).
            src.offloadTo(0, 512, dst, 1024).toCompletableFuture().join();
            src.offloadTo(1001, 333, dst, 7).toCompletableFuture().join();
        }
        byte[] expected = before.clone();
        System.arraycopy(data, 0, expected, 1024 * 512, 512 * 512);
        System.arraycopy(data, 1001 * 512, expected, 7 * 512, 333 * 512);
        assertThat(Files.readAllBytes(dir.resolve("dst"))).isEqualTo(expected);
    }

    @Test
    void filesOnTwoFileSystemsAreRefusedAsUnsupported() throws IOException {
        assumeTrue(Files.isDirectory(SHM) && Files.isWritable(SHM), "this machine has no writable /dev/shm");
        assumeTrue(!Files.getFileStore(SHM).type().equals(Files.getFileStore(dir).type()),
                "/dev/shm and " + dir + " are file systems of one type (" + Files.getFileStore(dir).type() + ")");
        Path shm = SHM.resolve("kcopyd-offload-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        byte[] before = random(64 * 512, 4);
        try {
            Files.write(shm, random(64 * 512, 3));
            Files.write(dir.resolve("dst"), before);
            try (BlockDevice src = opener.open(shm);
                    BlockDevice dst = opener.open(dir.resolve("dst"), DeviceOption.READ_WRITE)) {
                assumeTrue(((FileBlockDevice) src).knowsHoles(), "no system calls for files here (JNA, Linux)");
                assertThat(src.canOffloadTo(dst)).as("known only by trying").isTrue();
                Throwable refused = failure(src.offloadTo(0, 64, dst, 0));
                assertThat(refused).isInstanceOf(UnsupportedOperationException.class)
                        .hasMessageContaining(shm.toString()).hasMessageContaining(dir.resolve("dst").toString())
                        .hasMessageContaining("copy_file_range");
            }
        } finally {
            Files.deleteIfExists(shm);
        }
        assertThat(Files.readAllBytes(dir.resolve("dst"))).isEqualTo(before);
    }

    @Test
    void noOffloadToAReadOnlyFileOrAnotherKindOfDeviceAndRangesAreChecked() throws IOException {
        Files.write(dir.resolve("src"), random(64 * 512, 5));
        Files.write(dir.resolve("dst"), new byte[32 * 512]);
        try (BlockDevice src = opener.open(dir.resolve("src"));
                BlockDevice readOnly = opener.open(dir.resolve("dst"));
                BlockDevice dst = opener.open(dir.resolve("dst"), DeviceOption.READ_WRITE)) {
            assumeTrue(((FileBlockDevice) src).knowsHoles(), "no system calls for files here (JNA, Linux)");
            MemoryBlockDevice memory = new MemoryBlockDevice("memory", 64);
            assertThat(src.canOffloadTo(readOnly)).isFalse();
            assertThat(src.canOffloadTo(memory)).isFalse();
            assertThat(failure(src.offloadTo(0, 8, memory, 0))).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("memory");
            assertThat(failure(src.offloadTo(60, 8, dst, 0))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("offload of 8 sectors at sector 60 is outside " + src.name() + " (64 sectors)");
            assertThat(failure(src.offloadTo(0, 8, dst, 30))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("offload of 8 sectors to sector 30 is outside " + dst.name() + " (32 sectors)");
        }
        assertThat(Files.readAllBytes(dir.resolve("dst"))).isEqualTo(new byte[32 * 512]);
        assertThat(Arrays.equals(Files.readAllBytes(dir.resolve("src")), random(64 * 512, 5))).isTrue();
    }
}
