package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;

/**
 * A file device is one file even while other files are renamed over its name as it opens: its
 * channel, holes and lanes never end up on two different files (H20: with the identity read by
 * name after the channel was opened, the lanes could be another file than the channel, and one
 * device's writes were split between two files).
 */
class FileOpenRaceTest {

    private static final int SECTORS = 64;
    private static final int OPENS = 400;

    @TempDir
    Path dir;

    @Test
    void everyWriteOfADeviceLandsInOneFileWhileOthersAreRenamedOverItsName() throws Exception {
        assumeTrue(FileHoles.system() != null, "lanes need the file's own descriptor: JNA on Linux");
        Path name = dir.resolve("dst.img");
        Path[] files = {dir.resolve("one.img"), dir.resolve("two.img")};
        for (Path f : files) {
            Files.write(f, new byte[SECTORS * 512]);
        }
        Files.createLink(name, files[0]);
        FileDeviceOpener opener = new FileDeviceOpener(false);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<IOException> renameFailed = new AtomicReference<>();
        // Puts each file in turn at the name, atomically: the name always exists.
        Thread renamer = new Thread(() -> {
            Path tmp = dir.resolve("next.img");
            for (int i = 1; !stop.get(); i++) {
                try {
                    Files.createLink(tmp, files[i & 1]);
                    Files.move(tmp, name, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                    renameFailed.set(e);
                    return;
                }
            }
        }, "renamer");
        ExecutorService threads = Executors.newFixedThreadPool(FileBlockDevice.LANES * 2);
        int opened = 0;
        renamer.start();
        try {
            for (int round = 1; round <= OPENS; round++) {
                BlockDevice dev;
                try {
                    dev = opener.open(name, DeviceOption.READ_WRITE);
                } catch (IOException e) {
                    // The name went to the other file between the claim and the open: refused, nothing written.
                    assertThat(e).hasMessageContaining("was replaced by another file");
                    continue;
                }
                opened++;
                byte mark = (byte) round;
                try (dev) {
                    List<Future<?>> writes = new ArrayList<>();
                    for (int s = 0; s < SECTORS; s++) {
                        int sector = s;
                        writes.add(threads.submit(() -> {
                            byte[] b = new byte[512];
                            Arrays.fill(b, mark);
                            dev.write(sector, ByteBuffer.wrap(b)).toCompletableFuture().join();
                        }));
                    }
                    for (Future<?> f : writes) {
                        f.get(30, TimeUnit.SECONDS);
                    }
                }
                byte[] all = new byte[SECTORS * 512];
                Arrays.fill(all, mark);
                boolean inOne = Arrays.equals(Files.readAllBytes(files[0]), all)
                        || Arrays.equals(Files.readAllBytes(files[1]), all);
                assertThat(inOne).as("round %d: every write of the device in one of the two files", round).isTrue();
            }
        } finally {
            stop.set(true);
            renamer.join(TimeUnit.SECONDS.toMillis(30));
            threads.shutdownNow();
        }
        assertThat(renameFailed.get()).as("the renamer's failure").isNull();
        assertThat(opened).as("devices opened among %d", OPENS).isGreaterThan(0);
    }
}
