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
 * {@link FileDeviceOpener#createNew} (how COW stores and mirror logs are made) never sizes, claims
 * or writes a file that another renamed over the name it just created: everything goes through
 * the one descriptor the creation gave.
 */
class FileCreateRaceTest {

    private static final int SECTORS = 64;
    private static final int ROUNDS = 300;

    @TempDir
    Path dir;

    @Test
    void aFileRenamedOverANewFilesNameIsNeverSizedOrWritten() throws Exception {
        assumeTrue(FileHoles.system() != null, "creating through one descriptor needs JNA on Linux");
        Path name = dir.resolve("new.cow");
        Path victim = dir.resolve("victim.img");
        byte[] kept = new byte[8 * 512];
        new Random(5).nextBytes(kept);
        Files.write(victim, kept);
        FileDeviceOpener opener = new FileDeviceOpener(false);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<IOException> renameFailed = new AtomicReference<>();
        // Renames the victim over the name again and again, replacing whatever is there.
        Thread renamer = new Thread(() -> {
            Path tmp = dir.resolve("next.img");
            while (!stop.get()) {
                try {
                    Files.deleteIfExists(tmp);
                    Files.createLink(tmp, victim);
                    Files.move(tmp, name, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (NoSuchFileException e) {
                    // The test removed a name meanwhile: try again.
                } catch (IOException e) {
                    renameFailed.set(e);
                    return;
                }
            }
        }, "renamer");
        int created = 0;
        renamer.start();
        try {
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
        } finally {
            stop.set(true);
            renamer.join(TimeUnit.SECONDS.toMillis(30));
        }
        assertThat(renameFailed.get()).as("the renamer's failure").isNull();
        assertThat(Files.readAllBytes(victim)).as("the victim at the end").isEqualTo(kept);
        assertThat(created).as("files created among %d rounds", ROUNDS).isGreaterThan(0);
    }
}
