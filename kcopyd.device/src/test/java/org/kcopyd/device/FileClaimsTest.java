package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;

class FileClaimsTest {

    @TempDir
    Path dir;

    private final FileDeviceOpener opener = new FileDeviceOpener(false, "a destination of a test");

    @Test
    void aReservedDirectoryIsNeverOpenedNorWrittenInAsADevice() throws Exception {
        Path state = Files.createDirectory(dir.resolve("state"));
        Path lock = Files.write(state.resolve("lock"), new byte[512]);
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), lock);
        Path outside = Files.write(dir.resolve("data.img"), new byte[512]);
        String what = "in the state directory of the kcopyd daemon";
        try (AutoCloseable reserved = FileClaims.reserve(state, what)) {
            String refused = " is " + what + "; kcopyd never opens its own files as devices";
            assertThatThrownBy(() -> opener.open(lock)).isInstanceOf(FileClaimedException.class)
                    .hasMessage(lock + refused);
            assertThatThrownBy(() -> opener.open(lock, DeviceOption.READ_WRITE)).hasMessage(lock + refused);
            assertThatThrownBy(() -> opener.open(link)).hasMessage(link + refused);
            assertThatThrownBy(() -> opener.create(state.resolve("new.img"), 8))
                    .hasMessage(state.resolve("new.img") + refused);
            assertThatThrownBy(() -> FileDeviceOpener.createFile(state.resolve("made.img"), 512))
                    .hasMessage(state.resolve("made.img") + refused);
            assertThat(state.resolve("new.img")).doesNotExist();
            assertThat(state.resolve("made.img")).doesNotExist();
            opener.open(outside).close();
        }
        opener.open(lock).close();
    }

    @Test
    void theClaimsLockFileIsReservedOnceClaimsAreMadeUnderAnyName() throws IOException {
        Path file = Files.write(dir.resolve("claimed.img"), new byte[512]);
        FileClaims.claim(file, "a destination of a test").close();
        Path lockFile = ClaimDirectory.locate().resolve(ClaimLockFile.LOCK_FILE);
        // Beside the claims directory: a hard link cannot cross file systems.
        Path hard = lockFile.getParent().resolveSibling("claims-hard-link-" + ProcessHandle.current().pid());
        Files.createLink(hard, lockFile);
        try {
            assertThatThrownBy(() -> opener.open(lockFile)).isInstanceOf(FileClaimedException.class)
                    .hasMessage(lockFile + " is the lock file of kcopyd's claims; kcopyd never opens its own files as "
                            + "devices");
            assertThatThrownBy(() -> opener.open(hard)).hasMessage(hard + " (the same file as " + lockFile + ") is the "
                    + "lock file of kcopyd's claims; kcopyd never opens its own files as devices");
        } finally {
            Files.delete(hard);
        }
    }

    @Test
    void aSecondClaimOnTheSameFileIsRefusedWhateverThePathSpelling() throws IOException {
        Path file = dir.resolve("origin.img");
        Files.write(file, new byte[4096]);
        Path link = dir.resolve("link.img");
        Files.createSymbolicLink(link, file);
        Path hard = dir.resolve("hard.img");
        Files.createLink(hard, file);
        Files.createDirectories(dir.resolve("sub"));
        try (FileClaim claim = FileClaims.claim(file, "the origin of snapshot s1; write through its origin device")) {
            for (Path other : new Path[] {file, link, hard, dir.resolve("sub/../origin.img")}) {
                assertThatThrownBy(() -> FileClaims.claim(other, "the COW store of snapshot s2"))
                        .isInstanceOf(FileClaimedException.class)
                        .hasMessageContaining("is the origin of snapshot s1; write through its origin device");
            }
            assertThatThrownBy(() -> FileClaims.claim(link, "x"))
                    .hasMessage(link + " (the same file as " + file + ") is the origin of snapshot s1; write through"
                            + " its origin device");
            assertThat(FileClaims.holderOf(hard)).containsSame(claim);
        }
        assertThat(FileClaims.holderOf(file)).isEmpty();
        FileClaims.claim(link, "now free").close();
    }

    @Test
    void readWriteDevicesHoldAClaimUntilClosedAndReadersNeedNone() throws IOException {
        Path file = dir.resolve("a.img");
        Files.write(file, new byte[4096]);
        try (BlockDevice writer = opener.open(file, DeviceOption.READ_WRITE);
                BlockDevice reader = opener.open(file)) {
            assertThat(reader.sizeInSectors()).isEqualTo(8);
            assertThatThrownBy(() -> opener.open(file, "leg 1 of mirror m", DeviceOption.READ_WRITE))
                    .isInstanceOf(FileClaimedException.class).hasMessage(file + " is a destination of a test");
            assertThatThrownBy(() -> opener.create(file, 8)).isInstanceOf(FileClaimedException.class);
            assertThat(writer.isReadOnly()).isFalse();
        }
        opener.open(file, DeviceOption.READ_WRITE).close();
    }

    @Test
    void createNeverShrinksAnExistingFile() throws IOException {
        Path file = dir.resolve("big.img");
        byte[] data = new byte[8192];
        Arrays.fill(data, (byte) 7);
        Files.write(file, data);
        try (BlockDevice dev = opener.create(file, 4)) {
            assertThat(dev.sizeInSectors()).isEqualTo(16);
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(data);
        try (BlockDevice dev = opener.create(file, 32)) {
            assertThat(dev.sizeInSectors()).isEqualTo(32);
        }
        assertThat(Arrays.copyOf(Files.readAllBytes(file), 8192)).isEqualTo(data);
    }

    @Test
    void createNewRefusesAnythingThatExistsAndLeavesItAlone() throws IOException {
        Path file = dir.resolve("exists.img");
        Files.write(file, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> opener.createNew(file, 8, "x")).isInstanceOf(FileAlreadyExistsException.class);
        assertThat(Files.readAllBytes(file)).containsExactly(1, 2, 3);
        Path dangling = dir.resolve("dangling.img");
        Files.createSymbolicLink(dangling, dir.resolve("nowhere.img"));
        assertThatThrownBy(() -> opener.createNew(dangling, 8, "x")).isInstanceOf(FileAlreadyExistsException.class);
        assertThat(dir.resolve("nowhere.img")).doesNotExist();
        Path fresh = dir.resolve("fresh.img");
        try (BlockDevice dev = opener.createNew(fresh, 8, "the COW store of snapshot s1")) {
            assertThat(Files.size(fresh)).isEqualTo(4096);
            assertThatThrownBy(() -> opener.open(fresh, DeviceOption.READ_WRITE))
                    .hasMessage(fresh + " is the COW store of snapshot s1");
        }
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void fifosDirectoriesAndCharacterDevicesAreRefusedWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("fifo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertThat(mkfifo.waitFor()).isZero();
        assertThatThrownBy(() -> opener.open(fifo)).hasMessageContaining("is neither a regular file nor a block device");
        assertThatThrownBy(() -> opener.open(Path.of("/dev/null")))
                .hasMessageContaining("is neither a regular file nor a block device");
        assertThatThrownBy(() -> opener.open(dir)).hasMessageContaining("is a directory");
        assertThatThrownBy(() -> opener.create(fifo, 8)).hasMessageContaining("is neither a regular file");
    }
}
