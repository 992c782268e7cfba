package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;

/**
 * While another file is renamed over a name again and again, {@link FileDeviceOpener#createNew}
 * (how COW stores and mirror logs are made) never sizes, claims or writes that other file, and
 * {@link FileDeviceOpener#create} (the API's create) sizes the very file it returns: everything
 * goes through the one descriptor the lookup of the name gave.
 */
class FileCreateRaceTest {

    private static final int SECTORS = 64;
    private static final int ROUNDS = 300;

    @TempDir
    Path dir;

    private final FileDeviceOpener opener = new FileDeviceOpener(false);

    @Test
    void aFileRenamedOverANewFilesNameIsNeverSizedOrWritten() throws Exception {
        assumeTrue(FileHoles.system() != null, "creating through one descriptor needs JNA on Linux");
        Path name = dir.resolve("new.cow");
        Path victim = dir.resolve("victim.img");
        byte[] kept = new byte[8 * 512];
        new Random(5).nextBytes(kept);
        Files.write(victim, kept);
        int created = 0;
        try (Renamer renamer = new Renamer(victim, name)) {
            for (int round = 1; round <= ROUNDS; round++) {
                Files.deleteIfExists(name);
                BlockDevice dev;
                try {
                    dev = opener.createNew(name, SECTORS, "test");
                } catch (FileAlreadyExistsException e) {
                    continue;
                } catch (IOException e) {
                    assertThat(e).hasMessageContaining("was replaced by another file");
                    continue;
                }
                created++;
                try (dev) {
                    byte[] mark = new byte[SECTORS * 512];
                    Arrays.fill(mark, (byte) round);
                    dev.write(0, ByteBuffer.wrap(mark)).toCompletableFuture().join();
                }
                assertThat(Files.readAllBytes(victim)).as("round %d: the victim, untouched", round).isEqualTo(kept);
            }
        }
        assertThat(Files.readAllBytes(victim)).as("the victim at the end").isEqualTo(kept);
        assertThat(created).as("files created among %d rounds", ROUNDS).isGreaterThan(0);
    }

    @Test
    void theFileCreateSizesIsTheDeviceItReturns() throws Exception {
        assumeTrue(FileHoles.system() != null, "looking a name up once needs JNA on Linux");
        Path name = dir.resolve("disk.img");
        Path victim = dir.resolve("victim.img");
        byte[] kept = new byte[8 * 512];
        new Random(6).nextBytes(kept);
        Files.write(victim, kept);
        int opened = 0;
        try (Renamer renamer = new Renamer(victim, name)) {
            for (int round = 1; round <= ROUNDS; round++) {
                // The victim short again (in place: its links see it), so that a device of it unsized shows.
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
                    dev.write(SECTORS - 1, ByteBuffer.allocate(512)).toCompletableFuture().join();
                }
            }
        }
        assertThat(opened).as("devices opened among %d rounds", ROUNDS).isGreaterThan(0);
    }

    /** Renames (a fresh hard link of) the victim over the name again and again until closed. */
    private final class Renamer implements AutoCloseable {
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AtomicReference<IOException> failed = new AtomicReference<>();
        private final Thread thread;

        Renamer(Path victim, Path name) {
            thread = new Thread(() -> {
                Path tmp = dir.resolve("next.img");
                while (!stop.get()) {
                    try {
                        Files.deleteIfExists(tmp);
                        Files.createLink(tmp, victim);
                        Files.move(tmp, name, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    } catch (NoSuchFileException e) {
                        // The test removed or rewrote a name meanwhile: try again.
                    } catch (IOException e) {
                        failed.set(e);
                        return;
                    }
                }
            }, "renamer");
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join(TimeUnit.SECONDS.toMillis(30));
            assertThat(thread.isAlive()).as("the renamer, still running").isFalse();
            assertThat(failed.get()).as("the renamer's failure").isNull();
        }
    }
}
