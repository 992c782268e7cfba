package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;

/**
 * A file device's I/O is not interruptible: an interrupted caller's reads, writes and flushes
 * complete and it keeps its interrupt; a channel closed under the device (which the JDK does to a
 * channel when a thread in I/O on it is interrupted) is opened again through the device's own
 * descriptor, so one interrupted caller never breaks the device for the others.
 */
class FileInterruptTest {

    private static final int SECTORS = 2048;

    @TempDir
    Path dir;

    private final FileDeviceOpener opener = new FileDeviceOpener(false);

    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    private FileBlockDevice device() throws Exception {
        Path file = dir.resolve("disk.img");
        byte[] content = new byte[SECTORS * 512];
        new Random(1).nextBytes(content);
        Files.write(file, content);
        return (FileBlockDevice) opener.open(file, DeviceOption.READ_WRITE);
    }

    private static byte[] pattern(int bytes, int seed) {
        byte[] b = new byte[bytes];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] read(BlockDevice d, long sector, int bytes) {
        ByteBuffer b = ByteBuffer.allocateDirect(bytes);
        d.read(sector, b).toCompletableFuture().join();
        byte[] out = new byte[bytes];
        b.flip().get(out);
        return out;
    }

    @Test
    void anInterruptedCallersIoCompletesAndItKeepsItsInterrupt() throws Exception {
        try (FileBlockDevice d = device()) {
            byte[] data = pattern(8192, 2);
            Thread.currentThread().interrupt();
            d.write(16, ByteBuffer.wrap(data)).toCompletableFuture().join();
            assertThat(Thread.currentThread().isInterrupted()).as("interrupted after the write").isTrue();
            assertThat(read(d, 16, 8192)).isEqualTo(data);
            assertThat(Thread.currentThread().isInterrupted()).as("interrupted after the read").isTrue();
            d.flush().toCompletableFuture().join();
            assertThat(Thread.interrupted()).as("interrupted after the flush").isTrue();
            for (int i = 0; i < d.laneCount(); i++) {
                assertThat(d.lane(i).isOpen()).as("lane %d", i).isTrue();
            }
        }
    }

    @Test
    void aChannelClosedUnderTheDeviceIsOpenedAgainOnTheSameFile() throws Exception {
        try (FileBlockDevice d = device()) {
            assumeTrue(d.knowsHoles(), "reopening needs the device's own descriptor (JNA on Linux)");
            for (int i = 0; i < d.laneCount(); i++) {
                d.lane(i).close();
            }
            byte[] data = pattern(4096, 3);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<byte[]>> reads = new ArrayList<>();
                d.write(64, ByteBuffer.wrap(data)).toCompletableFuture().join();
                for (int t = 0; t < 8; t++) {
                    reads.add(pool.submit(() -> read(d, 64, 4096)));
                }
                for (Future<byte[]> r : reads) {
                    assertThat(r.get(30, TimeUnit.SECONDS)).isEqualTo(data);
                }
            } finally {
                pool.shutdown();
            }
            d.flush().toCompletableFuture().join();
            assertThat(d.reopened()).as("channels opened again").isEqualTo(d.laneCount());
        }
        assertThat(read(opener.open(dir.resolve("disk.img")), 64, 4096)).isEqualTo(pattern(4096, 3));
    }

    @Test
    void aCallerInterruptedAgainAndAgainDuringItsIoNeverFailsNorBreaksTheDeviceForOthers() throws Exception {
        try (FileBlockDevice d = device()) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread worker = new Thread(() -> {
                try {
                    for (int i = 0; i < 20_000; i++) {
                        long sector = (i * 8L) % (SECTORS - 8);
                        byte[] data = pattern(4096, i);
                        d.write(sector, ByteBuffer.wrap(data)).toCompletableFuture().join();
                        byte[] back = read(d, sector, 4096);
                        if (!java.util.Arrays.equals(back, data)) {
                            throw new AssertionError("round " + i + ": read back differs");
                        }
                    }
                } catch (Throwable t) {
                    failed.set(t);
                } finally {
                    stop.set(true);
                }
            }, "interrupted worker");
            // About 20,000 interrupts a second: many land during a system call (each closes the
            // channel the worker is on), many between calls (each is set aside by the next call).
            Thread interrupter = new Thread(() -> {
                while (!stop.get()) {
                    worker.interrupt();
                    java.util.concurrent.locks.LockSupport.parkNanos(50_000);
                }
            }, "interrupter");
            ExecutorService others = Executors.newFixedThreadPool(4);
            try {
                worker.start();
                interrupter.start();
                List<Future<Integer>> rounds = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    rounds.add(others.submit(() -> {
                        int n = 0;
                        while (!stop.get()) {
                            read(d, 0, 4096);
                            d.flush().toCompletableFuture().join();
                            n++;
                        }
                        return n;
                    }));
                }
                worker.join(TimeUnit.MINUTES.toMillis(2));
                interrupter.join(TimeUnit.SECONDS.toMillis(30));
                assertThat(worker.isAlive()).as("the worker, still running").isFalse();
                assertThat(failed.get()).as("the interrupted worker's failure (channels opened again: %d)",
                        d.reopened()).isNull();
                assertThat(d.reopened()).as("channels closed under the worker by its interrupts, opened again")
                        .isPositive();
                for (Future<Integer> r : rounds) {
                    assertThat(r.get(30, TimeUnit.SECONDS)).as("rounds of another thread").isPositive();
                }
            } finally {
                stop.set(true);
                others.shutdown();
            }
            byte[] data = pattern(4096, 99);
            d.write(8, ByteBuffer.wrap(data)).toCompletableFuture().join();
            assertThat(read(d, 8, 4096)).isEqualTo(data);
        }
    }
}
