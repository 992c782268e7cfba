package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;

/**
 * {@link FileDeviceOpener#create} (the API's create: opens a file, creating or extending it to a
 * least size) sizes a file only once it holds the file's claim, never shrinks one, and never
 * creates a file through a symbolic link to nothing ({@link FileCreateRaceTest}: it sizes the
 * very file it returns).
 */
class FileCreateExistingTest {

    @TempDir
    Path dir;

    private final FileDeviceOpener opener = new FileDeviceOpener(false);

    @Test
    void aClaimedShorterFileIsRefusedAndLeftAsItWas() throws Exception {
        Path file = dir.resolve("busy.img");
        byte[] kept = new byte[4 * 512];
        new Random(3).nextBytes(kept);
        Files.write(file, kept);
        try (BlockDevice writer = opener.open(file, DeviceOption.READ_WRITE)) {
            assertThatThrownBy(() -> opener.create(file, 32)).isInstanceOf(FileClaimedException.class);
            assertThat(Files.size(file)).as("the claimed file's size").isEqualTo(kept.length);
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(kept);
    }

    @Test
    void anExistingShorterFileIsExtendedAndALongerOneKeptWhole() throws Exception {
        Path file = dir.resolve("short.img");
        byte[] kept = new byte[4 * 512];
        new Random(4).nextBytes(kept);
        Files.write(file, kept);
        try (BlockDevice dev = opener.create(file, 16)) {
            assertThat(dev.sizeInSectors()).isEqualTo(16);
        }
        assertThat(Files.size(file)).isEqualTo(16 * 512);
        byte[] head = new byte[kept.length];
        System.arraycopy(Files.readAllBytes(file), 0, head, 0, head.length);
        assertThat(head).as("the data before the extension").isEqualTo(kept);
        try (BlockDevice dev = opener.create(file, 2)) {
            assertThat(dev.sizeInSectors()).as("never shrunk").isEqualTo(16);
        }
    }

    @Test
    void aLoopOfSymbolicLinksIsRefusedAsALoop() throws Exception {
        Path one = dir.resolve("l1");
        Path two = dir.resolve("l2");
        Files.createSymbolicLink(one, two);
        Files.createSymbolicLink(two, one);
        assertThatThrownBy(() -> opener.create(one, 8))
                .hasMessageStartingWith(one + " is a symbolic link that cannot be followed (too many levels of "
                        + "symbolic links");
        assertThat(Files.isSymbolicLink(one)).isTrue();
    }

    @Test
    void aSymbolicLinkToNothingIsRefusedNotCreatedThrough() throws Exception {
        assumeTrue(FileHoles.system() != null, "looking a name up once needs JNA on Linux");
        Path target = dir.resolve("elsewhere.img");
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), target);
        assertThatThrownBy(() -> opener.create(link, 8))
                .hasMessageContaining(link + " is a symbolic link to " + target + ", which does not exist");
        assertThat(target).doesNotExist();
        assertThat(Files.isSymbolicLink(link)).isTrue();
    }
}
