package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;

/**
 * Opening never blocks on a FIFO renamed over the name after the opener looked at it: the name is
 * looked at, then opened, and a FIFO opened for reading waits for a writer (for ever, if none
 * comes). The file opened is the one examined: a regular file, or a refusal naming the FIFO.
 */
class FileOpenFifoRaceTest {

    private static final int OPENS = 3000;

    @TempDir
    Path dir;

    @Test
    void anOpenIsARegularFileOrARefusalNeverAWaitOnAFifoRenamedOverTheName() throws Exception {
        assumeTrue(FileHoles.system() != null, "the file is opened through its own descriptor with JNA on Linux");
        Path name = dir.resolve("src.img");
        Path regular = Files.write(dir.resolve("regular.img"), new byte[8 * 512]);
        Path fifo = dir.resolve("fifo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assumeTrue(mkfifo.waitFor() == 0, "mkfifo made no FIFO");
        Files.createLink(name, regular);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<IOException> renameFailed = new AtomicReference<>();
        // The regular file and the FIFO take the name in turn, atomically: the name always exists.
        Thread renamer = new Thread(() -> {
            Path tmp = dir.resolve("next");
            Path[] turns = {fifo, regular};
            for (int i = 0; !stop.get(); i++) {
                try {
                    Files.createLink(tmp, turns[i & 1]);
                    Files.move(tmp, name, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                    renameFailed.set(e);
                    return;
                }
            }
        }, "renamer");
        // Daemon threads: an open blocked on the FIFO must not keep the test's JVM alive.
        ExecutorService opens = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "opener");
            t.setDaemon(true);
            return t;
        });
        FileDeviceOpener opener = new FileDeviceOpener(false);
        int opened = 0;
        int refused = 0;
        renamer.start();
        try {
            for (int i = 0; i < OPENS; i++) {
                Future<Boolean> open = opens.submit(() -> {
                    try (BlockDevice device = opener.open(name)) {
                        assertThat(device.sizeInSectors()).as("the regular file").isEqualTo(8);
                        return true;
                    } catch (IOException e) {
                        assertThat(e).hasMessageContaining(name + " is neither a regular file nor a block device");
                        return false;
                    }
                });
                try {
                    if (open.get(10, TimeUnit.SECONDS)) {
                        opened++;
                    } else {
                        refused++;
                    }
                } catch (TimeoutException e) {
                    fail("open %d of %s has waited 10 s: it opened the FIFO renamed over the name", i, name);
                }
            }
        } finally {
            stop.set(true);
            renamer.join(30_000);
            opens.shutdownNow();
        }
        assertThat(renameFailed.get()).as("the renamer's failure").isNull();
        assertThat(opened + refused).isEqualTo(OPENS);
    }
}
