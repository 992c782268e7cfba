package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;

/**
 * Found by H24: a mistyped device name as a destination ({@code /dev/loop2p2} for a partition that
 * does not exist) became a new regular file in {@code /dev} holding the copy, while the user
 * believed the device did. No way of creating a file creates one in {@code /dev} (whatever its
 * file system: a container's is a plain tmpfs), through a symbolic link to it, or in {@code /proc};
 * {@code /dev/shm}, a tmpfs for data, stays usable.
 */
class FileCreateInDeviceDirectoryTest {

    @TempDir
    Path dir;

    private final FileDeviceOpener opener = new FileDeviceOpener(false);

    private static Path missingIn(Path directory) {
        return directory.resolve("kcopyd-test-" + UUID.randomUUID() + "p2");
    }

    @Test
    void aNewFileInDevIsRefusedByEveryWayOfCreatingOne() {
        Path typo = missingIn(Path.of("/dev"));
        assertThatThrownBy(() -> opener.create(typo, 8)).hasMessageStartingWith(typo + " does not exist, and kcopyd "
                + "creates no file in /dev (a ").hasMessageEndingWith("nothing was created; is the device's name right?");
        assertThatThrownBy(() -> opener.createNew(typo, 8, "a copy's destination"))
                .hasMessageStartingWith(typo + " does not exist, and kcopyd creates no file in /dev");
        assertThatThrownBy(() -> FileDeviceOpener.createFile(typo, 4096))
                .hasMessageStartingWith(typo + " does not exist, and kcopyd creates no file in /dev");
        assertThat(typo).doesNotExist();
    }

    @Test
    void aSymbolicLinkToDevDoesNotGetAroundIt() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("devices"), Path.of("/dev"));
        Path typo = missingIn(link);
        assertThatThrownBy(() -> opener.create(typo, 8))
                .hasMessageStartingWith(typo + " does not exist, and kcopyd creates no file in " + link);
        assertThat(Path.of("/dev").resolve(typo.getFileName())).doesNotExist();
    }

    @Test
    void aKernelFileSystemIsRefusedByItsType() throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/proc/self")), "needs Linux's /proc");
        Path typo = missingIn(Path.of("/proc"));
        assertThatThrownBy(() -> opener.create(typo, 8))
                .hasMessageStartingWith(typo + " does not exist, and kcopyd creates no file in /proc (a proc file "
                        + "system of device nodes and kernel objects, not data)");
    }

    /** Found by H25: /sys/fs/cgroup is a plain tmpfs on many systems; all of /sys is refused, whatever its type. */
    @Test
    void aTmpfsUnderSysIsRefusedByItsPlace() {
        Path cgroups = Path.of("/sys/fs/cgroup");
        assumeTrue(Files.isDirectory(cgroups), "needs /sys/fs/cgroup");
        Path typo = missingIn(cgroups);
        assertThatThrownBy(() -> opener.create(typo, 8))
                .hasMessageStartingWith(typo + " does not exist, and kcopyd creates no file in /sys/fs/cgroup (a ");
        assertThat(typo).doesNotExist();
    }

    @Test
    void devShmIsAFileSystemForDataAndStaysUsable() throws Exception {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "needs a writable /dev/shm");
        Path file = missingIn(shm);
        try (BlockDevice created = opener.create(file, 8)) {
            assertThat(created.sizeInSectors()).isEqualTo(8);
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
