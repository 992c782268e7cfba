package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
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
                    + file + ": sectors [512, 2048) of " + dev + " (a loop device over " + file.toRealPath()
                    + " from byte 0) and sectors [0, 1536) of " + file + " are the same bytes\n");
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
