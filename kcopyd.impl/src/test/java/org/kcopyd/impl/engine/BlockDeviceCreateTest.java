package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.testdevices.LoopDevice;
import org.kcopyd.testdevices.Peers;

/**
 * The API's {@code create} given a real block device (a loop device over an image file): a device
 * at least as large as asked is opened as it is, one smaller is refused naming both sizes, and
 * neither is written. Needs root and loop devices: skipped naming what is missing, or failed with
 * {@code -Dkcopyd.peers.required=true}.
 */
class BlockDeviceCreateTest {

    private static final int SECTORS = 2048;

    @TempDir
    Path dir;

    @Test
    void aBlockDeviceIsNeverWrittenToSizeIt() throws Exception {
        String missing = LoopDevice.unavailable();
        if (missing != null) {
            Peers.missing(missing);
        }
        Path image = dir.resolve("disk.img");
        byte[] kept = new byte[SECTORS * BlockDevice.SECTOR_SIZE];
        new Random(11).nextBytes(kept);
        Files.write(image, kept);
        FileDeviceOpener opener = new FileDeviceOpener(false);
        try (LoopDevice loop = LoopDevice.attach(image)) {
            Path dev = loop.device();
            assertThatThrownBy(() -> opener.create(dev, SECTORS + 1))
                    .hasMessageContaining("cannot use " + dev + " as " + (SECTORS + 1) + " sectors")
                    .hasMessageContaining("block device of " + SECTORS + " sectors, which cannot be extended");
            try (BlockDevice device = opener.create(dev, SECTORS / 2)) {
                assertThat(device.sizeInSectors()).as("the device's own size").isEqualTo(SECTORS);
            }
        }
        assertThat(Files.readAllBytes(image)).as("the device's content").isEqualTo(kept);
    }
}
