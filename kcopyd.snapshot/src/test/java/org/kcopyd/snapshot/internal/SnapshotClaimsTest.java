package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kcopyd.snapshot.internal.SnapshotFixture.assertSameBytes;
import static org.kcopyd.snapshot.internal.SnapshotFixture.pattern;
import static org.kcopyd.snapshot.internal.SnapshotFixture.read;
import static org.kcopyd.snapshot.internal.SnapshotFixture.settings;
import static org.kcopyd.snapshot.internal.SnapshotFixture.sha256;
import static org.kcopyd.snapshot.internal.SnapshotFixture.write;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.device.FileClaimedException;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.snapshot.Snapshot;
import org.kcopyd.snapshot.SnapshotState;

/**
 * The origin and COW store of a snapshot are claimed for their roles by file identity: whatever
 * path names them, nothing else kcopyd opens may write them, a COW store may not be the origin
 * or another snapshot's store, and snapshots naming one origin by different paths share it.
 */
class SnapshotClaimsTest {

    private static final int SECTORS = 8192;

    @TempDir
    Path dir;
    private final SnapshotFixture fixture = new SnapshotFixture();
    private final FakeFramework framework = new FakeFramework();
    private Origins origins;
    private Path origin;
    private byte[] initial;

    @BeforeEach
    void makeOrigin() throws Exception {
        initial = pattern(SECTORS * 512, 1);
        origin = Files.write(dir.resolve("origin.img"), initial);
        origins = fixture.origins(framework);
    }

    @AfterEach
    void close() {
        fixture.close();
    }

    private SnapshotVolume attach(String name, Path originPath, Path cow) throws Exception {
        return origins.attach(settings(name, originPath, cow, null, false), null);
    }

    @Test
    void anOriginThatIsNotWholeSectorsIsRefused() throws Exception {
        // Found by H23: a 1000000-byte origin was taken; its last 64 bytes were in no snapshot.
        Path odd = Files.write(dir.resolve("odd.img"), pattern(1_000_000, 3));
        Path cow = dir.resolve("odd.cow");

        assertThatThrownBy(() -> attach("s1", odd, cow)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("snapshot 's1': its origin " + odd + " is 1000000 bytes, not a whole number of 512-byte "
                        + "sectors: its last 64 bytes would be in no snapshot, so nothing was opened or written: make the "
                        + "origin whole sectors (truncate -s 1000448 " + odd + " pads it with zeros)");
        assertThat(cow).as("no COW store made").doesNotExist();
        assertThat(odd).hasSize(1_000_000);
    }

    @Test
    void whileASnapshotExistsNoOtherKcopydWriterMayOpenItsOrigin() throws Exception {
        attach("s1", origin, dir.resolve("s1.cow"));
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), origin);
        Path hardLink = Files.createLink(dir.resolve("hard.img"), origin);
        // As the BlockDeviceOpener service opens for a copy destination (kcopyd:copy other.img origin.img).
        FileDeviceOpener service = new FileDeviceOpener(false, "open for writing by bundle kcopyd.cli");

        assertThatThrownBy(() -> service.open(origin, DeviceOption.READ_WRITE)).isInstanceOf(FileClaimedException.class)
                .hasMessage(origin + " is the origin of snapshot s1; write through its origin device");
        assertThatThrownBy(() -> service.open(link, DeviceOption.READ_WRITE)).isInstanceOf(FileClaimedException.class)
                .hasMessage(link + " (the same file as " + origin + ") is the origin of snapshot s1; write through "
                        + "its origin device");
        assertThatThrownBy(() -> service.create(hardLink, SECTORS)).isInstanceOf(FileClaimedException.class)
                .hasMessageContaining("is the origin of snapshot s1");
        try (BlockDevice reader = service.open(origin)) {
            assertThat(reader.sizeInSectors()).as("reading stays allowed").isEqualTo(SECTORS);
        }
        assertSameBytes(Files.readAllBytes(origin), initial, "the origin after the refused writers");
    }

    @Test
    void theOriginIsReleasedWithItsLastSnapshot() throws Exception {
        SnapshotVolume s1 = attach("s1", origin, dir.resolve("s1.cow"));
        SnapshotVolume s2 = attach("s2", origin, dir.resolve("s2.cow"));
        assertThatThrownBy(() -> SnapshotFixture.FILES.open(origin, DeviceOption.READ_WRITE))
                .hasMessage(origin + " is the origin of snapshots s1, s2; write through its origin device");

        origins.detach(s1);
        assertThatThrownBy(() -> SnapshotFixture.FILES.open(origin, DeviceOption.READ_WRITE))
                .as("the holder named is the snapshot of the moment, not the first one")
                .hasMessage(origin + " is the origin of snapshot s2; write through its origin device");
        origins.detach(s2);

        try (BlockDevice writer = SnapshotFixture.FILES.open(origin, DeviceOption.READ_WRITE);
             BlockDevice cow = SnapshotFixture.FILES.open(dir.resolve("s1.cow"), DeviceOption.READ_WRITE)) {
            assertThat(writer.isReadOnly()).isFalse();
            assertThat(cow.isReadOnly()).isFalse();
        }
        assertThat(framework.registered).as("no service left").isEmpty();
    }

    @Test
    void theOriginIsNeverItsOwnCowStoreWhateverTheSpelling() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), origin);
        Path hardLink = Files.createLink(dir.resolve("hard.img"), origin);
        Path dotted = dir.resolve(".").resolve("origin.img");
        String before = sha256(origin);

        for (Path cow : new Path[] {origin, link, hardLink, dotted}) {
            for (boolean format : new boolean[] {false, true}) {
                assertThatThrownBy(() -> origins.attach(settings("s1", origin, cow, null, format), null))
                        .as(cow + (format ? " with format" : "")).isInstanceOf(FileClaimedException.class)
                        .hasMessageContaining("is the origin of snapshot s1; write through its origin device");
            }
        }

        assertThat(sha256(origin)).isEqualTo(before);
        assertThat(framework.registered).isEmpty();
        // Nothing is left open: the origin may be written again.
        SnapshotFixture.FILES.open(origin, DeviceOption.READ_WRITE).close();
    }

    @Test
    void anotherSnapshotsOriginIsNeverACowStore() throws Exception {
        Path other = Files.write(dir.resolve("other.img"), pattern(SECTORS * 512, 2));
        attach("s1", origin, dir.resolve("s1.cow"));
        String before = sha256(origin);

        assertThatThrownBy(() -> origins.attach(settings("s2", other, origin, null, true), null))
                .hasMessage(origin + " is the origin of snapshot s1; write through its origin device");

        assertThat(sha256(origin)).isEqualTo(before);
    }

    @Test
    void twoSnapshotsNeverShareOneCowStore() throws Exception {
        Path other = Files.write(dir.resolve("other.img"), pattern(SECTORS * 512, 2));
        Path cow = dir.resolve("s1.cow");
        SnapshotVolume s1 = attach("s1", origin, cow);
        BlockDevice originDevice = s1.origin;
        byte[] changed = pattern(64 * 512, 3);
        write(originDevice, 0, changed);
        Path cowLink = Files.createSymbolicLink(dir.resolve("cow-link"), cow);
        String cowBefore = sha256(cow);

        for (Path spelling : new Path[] {cow, cowLink}) {
            assertThatThrownBy(() -> origins.attach(settings("s2", other, spelling, s1.cowStoreId(), false), null))
                    .isInstanceOf(FileClaimedException.class).hasMessageContaining("is the COW store of snapshot s1");
            assertThatThrownBy(() -> origins.attach(settings("s2", other, spelling, null, true), null))
                    .isInstanceOf(FileClaimedException.class).hasMessageContaining("is the COW store of snapshot s1");
        }
        // Nor may the store of one snapshot be the origin of another.
        assertThatThrownBy(() -> attach("s3", cow, dir.resolve("s3.cow")))
                .hasMessage(cow + " is the COW store of snapshot s1");

        assertThat(sha256(cow)).isEqualTo(cowBefore);
        assertThat(dir.resolve("s3.cow")).doesNotExist();
        assertSameBytes(read(s1.device()), initial, "s1 keeps its preserved chunks");
        s1.merge().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertSameBytes(Files.readAllBytes(origin), initial, "and merges them back");
    }

    @Test
    void snapshotsNamingOneOriginByDifferentPathsShareIt() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), origin);
        Files.createDirectory(dir.resolve("sub"));
        Path dotted = dir.resolve("sub").resolve("..").resolve("origin.img");

        SnapshotVolume a = attach("a", origin, dir.resolve("a.cow"));
        SnapshotVolume b = attach("b", link, dir.resolve("b.cow"));
        SnapshotVolume c = attach("c", dotted, dir.resolve("c.cow"));

        assertThat(b.origin).isSameAs(a.origin);
        assertThat(c.origin).isSameAs(a.origin);
        assertThat(framework.services(BlockDevice.ROLE, Snapshot.ROLE_ORIGIN)).containsExactly(a.origin);
        write(a.origin, 100, pattern(40 * 512, 4));
        for (SnapshotVolume s : new SnapshotVolume[] {a, b, c}) {
            assertSameBytes(read(s.device()), initial, s.name() + " after an origin write");
        }
        origins.detach(a);
        origins.detach(b);
        assertThat(framework.services(BlockDevice.ROLE, Snapshot.ROLE_ORIGIN)).as("kept by c").hasSize(1);
        origins.detach(c);
        assertThat(framework.services(BlockDevice.ROLE, Snapshot.ROLE_ORIGIN)).isEmpty();
    }

    @Test
    void aSecondSnapshotOfTheSameNameIsRefused() throws Exception {
        SnapshotVolume s1 = attach("s1", origin, dir.resolve("s1.cow"));

        assertThatThrownBy(() -> attach("s1", origin, dir.resolve("other.cow")))
                .hasMessage("a snapshot named 's1' exists already (of " + origin + ")");

        assertThat(dir.resolve("other.cow")).doesNotExist();
        assertThat(s1.state()).isEqualTo(SnapshotState.ACTIVE);
    }

    @Test
    void aMissingOriginIsRefusedAndNoCowStoreIsMade() {
        Path missing = dir.resolve("nothing.img");

        assertThatThrownBy(() -> attach("s1", missing, dir.resolve("s1.cow")))
                .hasMessage("snapshot 's1': its origin " + missing + " does not exist");

        assertThat(dir.resolve("s1.cow")).doesNotExist();
    }

    @Test
    void aRefusedCowStoreLeavesTheOriginUnclaimedAndUnregistered() throws Exception {
        Path zeros = Files.write(dir.resolve("zeros.bin"), new byte[1 << 20]);

        assertThatThrownBy(() -> attach("s1", origin, zeros)).hasMessageContaining("exists and the configuration "
                + "names no cowStoreId");

        assertThat(framework.registered).isEmpty();
        SnapshotFixture.FILES.open(origin, DeviceOption.READ_WRITE).close();
        SnapshotFixture.FILES.open(zeros, DeviceOption.READ_WRITE).close();
    }
}
