package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;

/**
 * {@link FileDeviceOpener#create} (the API's create: opens a file, creating or extending it to a
 * least size) sizes the very file it returns, only once it holds the file's claim, and never
 * creates a file through a symbolic link to nothing.
 */
class FileCreateExistingTest {

    private static final int SECTORS = 64;
    private static final int ROUNDS = 300;

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
    void aSymbolicLinkToNothingIsRefusedNotCreatedThrough() throws Exception {
        assumeTrue(FileHoles.system() != null, "looking a name up once needs JNA on Linux");
        Path target = dir.resolve("elsewhere.img");
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), target);
        assertThatThrownBy(() -> opener.create(link, 8))
                .hasMessageContaining(link + " is a symbolic link to " + target + ", which does not exist");
        assertThat(target).doesNotExist();
        assertThat(Files.isSymbolicLink(link)).isTrue();
    }

    @Test
    void theFileSizedIsTheDeviceReturnedWhileAnotherIsRenamedOverTheName() throws Exception {
        assumeTrue(FileHoles.system() != null, "looking a name up once needs JNA on Linux");
        Path name = dir.resolve("disk.img");
        Path victim = dir.resolve("victim.img");
        byte[] kept = new byte[8 * 512];
        new Random(5).nextBytes(kept);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<IOException> renameFailed = new AtomicReference<>();
        // Renames (a link of) the victim over the name again and again, replacing whatever is there.
        Thread renamer = new Thread(() -> {
            Path tmp = dir.resolve("next.img");
            while (!stop.get()) {
                try {
                    Files.deleteIfExists(tmp);
                    Files.createLink(tmp, victim);
                    Files.move(tmp, name, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (NoSuchFileException e) {
                    // The test replaced the victim meanwhile: try again.
                } catch (IOException e) {
                    renameFailed.set(e);
                    return;
                }
            }
        }, "renamer");
        Files.write(victim, kept);
        renamer.start();
        int opened = 0;
        try {
            for (int round = 1; round <= ROUNDS; round++) {
                // The victim short again (in place: its links see it), so that sizing it shows.
                Files.write(victim, kept);
                Files.deleteIfExists(name);
                BlockDevice dev;
                try {
                    dev = opener.create(name, SECTORS);
                } catch (IOException e) {
                    assertThat(e).hasMessageContaining("was replaced by another file");
                    continue;
                }
                opened++;
                try (dev) {
                    assertThat(dev.sizeInSectors()).as("round %d: the device's size", round)
                            .isGreaterThanOrEqualTo(SECTORS);
                    byte[] last = new byte[512];
                    dev.write(SECTORS - 1, ByteBuffer.wrap(last)).toCompletableFuture().join();
                }
            }
        } finally {
            stop.set(true);
            renamer.join(TimeUnit.SECONDS.toMillis(30));
        }
        assertThat(renameFailed.get()).as("the renamer's failure").isNull();
        assertThat(opened).as("devices opened among %d rounds", ROUNDS).isGreaterThan(0);
    }
}
