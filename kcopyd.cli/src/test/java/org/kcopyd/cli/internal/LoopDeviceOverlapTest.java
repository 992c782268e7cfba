package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.testdevices.LoopDevice;
import org.kcopyd.testdevices.Peers;

/**
 * {@code copy} between a file and a loop device over it is refused where the two regions are the
 * same bytes, and runs where they are not: a real loop device (root and loop devices needed:
 * skipped naming what is missing, or failed with {@code -Dkcopyd.peers.required=true}).
 */
class LoopDeviceOverlapTest {

    private static final int BYTES = 1 << 20;

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    @Test
    void aCopyBetweenAFileAndALoopDeviceOverItIsRefusedWhereTheyOverlap() throws Exception {
        String missing = LoopDevice.unavailable();
        if (missing != null) {
            Peers.missing(missing);
        }
        byte[] data = new byte[BYTES];
        new Random(8).nextBytes(data);
        Path file = Files.write(dir.resolve("a.img"), data);
        try (LoopDevice loop = LoopDevice.attach(file)) {
            String dev = loop.device().toString();

            assertThat(fixture.run("copy", file + ":0+1536", dev + ":512")).isEqualTo(Exit.USAGE);
            assertThat(fixture.err()).isEqualTo("kcopyd copy: destination '" + dev + ":512' overlaps the source "
                    + file + ": sectors [512, 1536) of " + dev + " (a loop device over " + file.toRealPath()
                    + " from byte 0) and sectors [512, 1536) of " + file + " are the same bytes\n");
            assertThat(fixture.run("copy", dev, file.toString())).as("the whole device onto its file")
                    .isEqualTo(Exit.USAGE);
            assertThat(fixture.err()).contains("are the same bytes");
            assertThat(file).as("nothing written").hasBinaryContent(data);

            // Apart, the same file and the device over it are two regions like any others.
            assertThat(fixture.run("copy", file + ":0+512", dev + ":1024+512")).isZero();
        }
        byte[] expected = data.clone();
        System.arraycopy(data, 0, expected, 1024 * 512, 512 * 512);
        assertThat(Files.readAllBytes(file)).isEqualTo(expected);
    }

    /**
     * A partition is a window onto its disk from its start, as sysfs tells: here a partition of a loop
     * device, so onto the image file under it. A copy between the partition and the disk, or the
     * image, is refused where the sectors are the same bytes, and runs where they are not.
     */
    @Test
    void aCopyBetweenAPartitionAndItsDiskOrTheFileUnderItIsRefusedWhereTheyOverlap() throws Exception {
        String missing = LoopDevice.unavailable();
        if (missing != null) {
            Peers.missing(missing);
        }
        // An MBR with one partition: sectors [2048, 4096) of a 2 MiB image (4096 sectors).
        byte[] data = new byte[2 * BYTES];
        new Random(10).nextBytes(data);
        ByteBuffer entry = ByteBuffer.wrap(data, 446, 16).order(ByteOrder.LITTLE_ENDIAN);
        entry.put(new byte[] {0, 0, 0, 0, (byte) 0x83, 0, 0, 0}).putInt(2048).putInt(2048);
        Arrays.fill(data, 462, 510, (byte) 0);
        data[510] = 0x55;
        data[511] = (byte) 0xAA;
        Path file = Files.write(dir.resolve("disk.img"), data);
        try (LoopDevice loop = LoopDevice.attach(file)) {
            String disk = loop.device().toString();
            Path partition = loop.addPartitions(1);
            await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(partition));
            String part = partition.toString();
            String major = Files.readString(Path.of("/sys/class/block", loop.device().getFileName().toString(), "dev"))
                    .strip();

            assertThat(fixture.run("copy", file + ":2040+16", part + ":0")).isEqualTo(Exit.USAGE);
            assertThat(fixture.err()).isEqualTo("kcopyd copy: destination '" + part + ":0' overlaps the source "
                    + file + ": sectors [0, 8) of " + part + " (a partition of block device " + major + " from byte "
                    + 2048 * 512 + ", a loop device over " + file.toRealPath() + " from byte 0) and sectors [2048, 2056) of "
                    + file + " are the same bytes\n");
            assertThat(fixture.run("copy", disk + ":2100+8", part + ":56")).as("the disk onto its own partition")
                    .isEqualTo(Exit.USAGE);
            assertThat(fixture.err()).contains("are the same bytes");
            assertThat(fixture.run("copy", part + ":0+8", disk + ":2048")).as("the partition onto its first sectors")
                    .isEqualTo(Exit.USAGE);
            assertThat(file).as("nothing written").hasBinaryContent(data);

            // Apart: the partition's first 8 sectors onto the disk's sectors [16, 24), before the partition.
            assertThat(fixture.run("copy", part + ":0+8", disk + ":16")).as(fixture.err()).isZero();
        }
        byte[] expected = data.clone();
        System.arraycopy(data, 2048 * 512, expected, 16 * 512, 8 * 512);
        assertThat(Files.readAllBytes(file)).isEqualTo(expected);
    }

    /**
     * Found by H25: {@code zero /dev/loopN} over a daemon's log file blanked it. A loop device over a
     * reserved file (here a file in a reserved directory, as a daemon's state directory is) is refused
     * like the file itself, naming both, and nothing is written.
     */
    @Test
    void aLoopDeviceOverAFileInAReservedDirectoryIsRefused() throws Exception {
        String missing = LoopDevice.unavailable();
        if (missing != null) {
            Peers.missing(missing);
        }
        Path state = Files.createDirectories(dir.resolve("state/logs"));
        byte[] log = new byte[BYTES];
        new Random(9).nextBytes(log);
        Path file = Files.write(state.resolve("kcopyd.log"), log);
        try (LoopDevice loop = LoopDevice.attach(file);
                AutoCloseable reserved = org.kcopyd.device.FileClaims.reserve(dir.resolve("state"),
                        "in the state directory of a test daemon")) {
            String dev = loop.device().toString();
            assertThat(fixture.run("zero", dev)).isNotZero();
            assertThat(fixture.err()).contains(dev + " is a loop device over " + file.toRealPath() + ": "
                    + file.toRealPath() + " is in the state directory of a test daemon")
                    .contains("kcopyd never opens its own files as devices");
            assertThat(fixture.run("copy", dev, dir.resolve("out.img").toString())).isNotZero();
            assertThat(dir.resolve("out.img")).doesNotExist();
        }
        assertThat(file).as("nothing written").hasBinaryContent(log);
    }
}
