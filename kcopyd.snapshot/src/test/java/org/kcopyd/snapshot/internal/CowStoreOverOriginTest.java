package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kcopyd.snapshot.internal.SnapshotFixture.pattern;
import static org.kcopyd.snapshot.internal.SnapshotFixture.settings;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.device.FileClaims;
import org.kcopyd.testdevices.LoopDevice;
import org.kcopyd.testdevices.Peers;

/**
 * A COW store that is the origin's bytes through a loop device is refused before a byte is
 * written, even with format asked for: the store given as a loop device over the origin's file,
 * and the origin given as a loop device over the store's file. Claims alone do not see it (a loop
 * device is claimed by its own device number), and formatting it overwrote the origin's first
 * sectors (found by H23). Likewise a second origin that is a loop device over an open origin's
 * file: its snapshots and the first origin's would not see each other's writes. A real loop
 * device: root and loop devices needed (skipped naming what is missing, or failed with
 * {@code -Dkcopyd.peers.required=true}).
 */
class CowStoreOverOriginTest {

    private static final int BYTES = 4 << 20;

    @TempDir
    Path dir;
    private final SnapshotFixture fixture = new SnapshotFixture();
    private final FakeFramework framework = new FakeFramework();
    private Origins origins;
    private Path origin;
    private byte[] initial;

    @BeforeEach
    void makeOrigin() throws Exception {
        String missing = LoopDevice.unavailable();
        if (missing != null) {
            Peers.missing(missing);
        }
        initial = pattern(BYTES, 23);
        origin = Files.write(dir.resolve("origin.img"), initial);
        origins = fixture.origins(framework);
    }

    @AfterEach
    void close() {
        fixture.close();
    }

    @Test
    void aCowStoreThatIsALoopDeviceOverTheOriginIsRefusedAndTheOriginStaysAsItWas() throws Exception {
        try (LoopDevice loop = LoopDevice.attach(origin)) {
            Path dev = loop.device();

            assertThatThrownBy(() -> origins.attach(settings("s1", origin, dev, null, true), null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("snapshot 's1': its COW store " + dev + " is part of its origin " + origin + ": " + dev
                            + " (a loop device over " + origin.toRealPath() + " from byte 0) and " + origin
                            + " are the same bytes; the store's writes would overwrite the origin, so nothing was "
                            + "opened or written: put the COW store on another file or device");

            assertThat(Files.readAllBytes(origin)).as("the origin is not formatted").isEqualTo(initial);
            assertThat(FileClaims.holderOf(origin)).as("nor left claimed").isEmpty();
            assertThat(FileClaims.holderOf(dev)).isEmpty();
        }
    }

    @Test
    void anOriginThatIsALoopDeviceOverTheCowStoreIsRefusedAndTheFileStaysAsItWas() throws Exception {
        try (LoopDevice loop = LoopDevice.attach(origin)) {
            Path dev = loop.device();

            assertThatThrownBy(() -> origins.attach(settings("s1", dev, origin, null, true), null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContainingAll("snapshot 's1': its COW store " + origin + " is part of its origin " + dev,
                            "(a loop device over " + origin.toRealPath() + " from byte 0) are the same bytes",
                            "nothing was opened or written");

            assertThat(Files.readAllBytes(origin)).as("the file under the origin is not formatted").isEqualTo(initial);
            assertThat(FileClaims.holderOf(dev)).as("the origin is not left claimed").isEmpty();
        }
    }

    @Test
    void aSecondOriginThatIsALoopDeviceOverAnOriginIsRefused() throws Exception {
        SnapshotVolume s1 = origins.attach(settings("s1", origin, dir.resolve("s1.cow"), null, false), null);
        try (LoopDevice loop = LoopDevice.attach(origin)) {
            Path dev = loop.device();

            assertThatThrownBy(() -> origins.attach(settings("s2", dev, dir.resolve("s2.cow"), null, false), null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("snapshot 's2': its origin " + dev + " is part of " + origin + ", the origin of snapshot "
                            + "s1: " + dev + " (a loop device over " + origin.toRealPath() + " from byte 0) and " + origin
                            + " are the same bytes; writes through either origin device would change the other's "
                            + "snapshots without copying their chunks, so nothing was opened: name " + origin
                            + " as the origin, or remove those snapshots first");

            assertThat(dir.resolve("s2.cow")).as("no COW store made").doesNotExist();
            assertThat(FileClaims.holderOf(dev)).as("the loop device is not left claimed").isEmpty();
            SnapshotVolume s2 = origins.attach(settings("s2", origin, dir.resolve("s2.cow"), null, false), null);
            assertThat(s2.origin).as("named as the file, it shares s1's origin").isSameAs(s1.origin);
        }
    }

    @Test
    void aCowStoreOnAnotherFileThanTheLoopDevicesIsMadeAsBefore() throws Exception {
        try (LoopDevice loop = LoopDevice.attach(origin)) {
            Path cow = dir.resolve("s1.cow");

            SnapshotVolume snapshot = origins.attach(settings("s1", loop.device(), cow, null, false), null);

            assertThat(snapshot.name()).isEqualTo("s1");
            assertThat(cow).exists();
            origins.detach(snapshot);
        }
        assertThat(Files.readAllBytes(origin)).isEqualTo(initial);
    }
}
