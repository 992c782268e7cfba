package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kcopyd.snapshot.internal.SnapshotFixture.assertSameBytes;
import static org.kcopyd.snapshot.internal.SnapshotFixture.pattern;
import static org.kcopyd.snapshot.internal.SnapshotFixture.read;
import static org.kcopyd.snapshot.internal.SnapshotFixture.settings;
import static org.kcopyd.snapshot.internal.SnapshotFixture.sha256;
import static org.kcopyd.snapshot.internal.SnapshotFixture.write;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.device.DeviceIdentity;
import org.kcopyd.device.FileClaims;
import org.kcopyd.device.KcopydHeaders;
import org.kcopyd.snapshot.Snapshot;
import org.kcopyd.snapshot.SnapshotState;
import org.kcopyd.snapshot.internal.CowStore.CowHeader;

/**
 * A COW store belongs to the origin it was made for: offered another file of the same size, it
 * is refused before anything is written or merged, even with an interrupted merge recorded; the
 * same origin under any spelling is accepted; an origin whose identity changed, or a store that
 * recorded none, is accepted only when the user confirms the origin's identity now; an origin
 * that changed while no snapshot was open is refused.
 */
class SnapshotOriginTest {

    private static final int SECTORS = 8192;

    @TempDir
    Path dir;
    private final SnapshotFixture fixture = new SnapshotFixture();
    private final FakeFramework framework = new FakeFramework();
    private Origins origins;
    private Path origin;
    private Path other;
    private Path cow;
    private byte[] initial;

    @BeforeEach
    void makeOrigins() throws Exception {
        initial = pattern(SECTORS * 512, 1);
        origin = Files.write(dir.resolve("o.img"), initial);
        other = Files.write(dir.resolve("other.img"), pattern(SECTORS * 512, 2));
        cow = dir.resolve("s1.cow");
        origins = fixture.origins(framework);
    }

    @AfterEach
    void close() {
        fixture.close();
    }

    /** Takes snapshot s1 of o.img, overwrites chunks 0, 1 and 40 of o.img through its origin device, closes it. */
    private UUID snapshotWithChunks() throws Exception {
        SnapshotVolume s1 = origins.attach(settings("s1", origin, cow, null, false), null);
        write(s1.origin, 0, pattern(32 * 512, 3));
        write(s1.origin, 640, pattern(16 * 512, 4));
        assertThat(s1.chunksUsed()).isEqualTo(3);
        origins.detach(s1);
        return s1.cowStoreId();
    }

    private Map<Path, String> hashes() throws Exception {
        Map<Path, String> h = new HashMap<>();
        for (Path p : List.of(origin, other, cow)) {
            h.put(p, sha256(p));
        }
        return h;
    }

    /** Asserts that nothing was written, nothing stays claimed, and no service is left. */
    private void assertUntouched(Map<Path, String> before) throws Exception {
        assertThat(hashes()).isEqualTo(before);
        for (Path p : before.keySet()) {
            assertThat(FileClaims.holderOf(p)).as("%s is not claimed", p).isEmpty();
        }
        assertThat(framework.registered).isEmpty();
    }

    @Test
    void aCowStoreOrRegionLogIsNeverAnOrigin() throws Exception {
        // A removed snapshot's store stays reusable with its identity: taken as an origin, its writes would destroy it.
        UUID id = snapshotWithChunks();
        Path cow2 = dir.resolve("s2.cow");
        Map<Path, String> before = hashes();

        assertThatThrownBy(() -> origins.attach(settings("s2", cow, cow2, null, false), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("snapshot 's2': its origin " + cow + " holds a kcopyd COW store (cowStoreId " + id + "); a "
                        + "kcopyd COW store or region log is never a snapshot's origin (writes to the origin and merges "
                        + "would overwrite it), so nothing was written: name another origin, or, if that store is no "
                        + "longer wanted, delete it yourself (or zero its first sector)");
        assertThat(cow2).doesNotExist();
        assertUntouched(before);

        // A mirror's region log, known by its header's second copy alone.
        ByteBuffer b = ByteBuffer.allocate(SECTORS * 512).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(32 * 512, KcopydHeaders.REGION_LOG_MAGIC).putInt(32 * 512 + 8, 3);
        Path log = Files.write(dir.resolve("m1.log"), b.array());
        String logHash = sha256(log);
        assertThatThrownBy(() -> origins.attach(settings("s2", log, cow2, null, true), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContainingAll("snapshot 's2': its origin " + log + " holds a kcopyd region log",
                        "never a snapshot's origin", "nothing was written", "zero its first 64 sectors");
        assertThat(cow2).doesNotExist();
        assertThat(sha256(log)).isEqualTo(logHash);
        assertThat(FileClaims.holderOf(log)).isEmpty();
        assertThat(framework.registered).isEmpty();
    }

    @Test
    void aStoreOfOneOriginIsRefusedForAnotherOfTheSameSize() throws Exception {
        UUID id = snapshotWithChunks();
        Map<Path, String> before = hashes();
        String originId = DeviceIdentity.of(origin);
        String otherId = DeviceIdentity.of(other);
        assertThat(otherId).isNotEqualTo(originId);

        for (boolean format : new boolean[] {false, true}) {
            assertThatThrownBy(() -> origins.attach(settings("s1", other, cow, id, format), null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("snapshot 's1': " + cow + " (COW store " + id + ") belongs to the origin " + origin
                            + " (identity " + originId + "); " + other + " is identity " + otherId + ", another file "
                            + "or disk, so the store is not adopted (its old data would be merged into the wrong "
                            + "origin); nothing was written; if " + other + " really is that origin (restored from a "
                            + "backup, copied or moved to another file system, a disk known by other properties now, "
                            + "served at another address), say so with originId=" + otherId + " (--origin-id "
                            + otherId + ") and the store will record it");
        }

        assertUntouched(before);
    }

    @Test
    void anInterruptedMergeIsNeverResumedIntoAnotherOrigin() throws Exception {
        UUID id = snapshotWithChunks();
        // The header a merge writes when it starts, as a crash mid-merge leaves it (no fingerprint: not closed).
        try (BlockDevice device = SnapshotFixture.FILES.open(cow, "a test file", DeviceOption.READ_WRITE)) {
            CowHeader h = CowStore.readHeader(device);
            assertThat(h.originSeen()).as("a store closed with its origin records its fingerprint").isNotNull();
            device.write(0, new CowHeader(true, true, h.chunkSectors(), h.originSectors(), h.id(), h.areas(), null,
                    h.originId(), h.originPath(), null).encode()).toCompletableFuture().join();
        }
        Map<Path, String> before = hashes();

        assertThatThrownBy(() -> origins.attach(settings("s1", other, cow, id, false), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("belongs to the origin " + origin)
                .hasMessageContaining("nothing was written");
        assertUntouched(before);

        // Its own origin resumes the merge and gets the snapshot's content back.
        SnapshotVolume s1 = origins.attach(settings("s1", origin, cow, id, false), null);
        s1.merge().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertSameBytes(Files.readAllBytes(origin), initial, "the origin after the resumed merge");
        assertThat(sha256(other)).isEqualTo(before.get(other));
    }

    @Test
    void theOriginIsAcceptedUnderAnyOtherSpelling() throws Exception {
        UUID id = snapshotWithChunks();
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), origin);
        Path hardLink = Files.createLink(dir.resolve("hard.img"), origin);
        Path relative = Path.of("").toAbsolutePath().relativize(origin);
        Path dotted = dir.resolve(".").resolve("o.img");

        for (Path spelling : new Path[] {link, hardLink, relative, dotted}) {
            SnapshotVolume s1 = origins.attach(settings("s1", spelling, cow, id, false), null);
            assertThat(s1.chunksUsed()).as(spelling.toString()).isEqualTo(3);
            assertSameBytes(read(s1.device()), initial, "the snapshot through " + spelling);
            origins.detach(s1);
        }
    }

    @Test
    void aRestoredOriginIsAcceptedOnceTheUserConfirmsItsIdentity() throws Exception {
        UUID id = snapshotWithChunks();
        // Restored from a backup: the same bytes in a new inode.
        Path restored = dir.resolve("restored.img");
        Files.copy(origin, restored, StandardCopyOption.COPY_ATTRIBUTES);
        String restoredId = DeviceIdentity.of(restored);
        String cowBefore = sha256(cow);

        assertThatThrownBy(() -> origins.attach(settings("s1", restored, cow, id, false), null))
                .hasMessageContaining(restored + " is identity " + restoredId)
                .hasMessageContaining("say so with originId=" + restoredId + " (--origin-id " + restoredId + ")");
        // The confirmation must be the identity of the origin named, not the one the store records.
        assertThatThrownBy(() -> origins.attach(settings("s1", restored, cow, id, false, DeviceIdentity.of(origin)), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("snapshot 's1': originId " + DeviceIdentity.of(origin) + " is not the identity of its origin "
                        + restored + ", which is " + restoredId + ", so nothing is opened or written (originId confirms "
                        + "the origin named, and only it)");
        assertThat(sha256(cow)).isEqualTo(cowBefore);

        SnapshotVolume s1 = origins.attach(settings("s1", restored, cow, id, false, restoredId), null);
        assertSameBytes(read(s1.device()), initial, "the snapshot of the restored origin");
        assertThat(CowStore.readHeader(s1.store.device()).originId()).as("recorded").isEqualTo(restoredId);
        origins.detach(s1);

        SnapshotVolume again = origins.attach(settings("s1", restored, cow, id, false), null);
        assertThat(again.chunksUsed()).as("adopted without confirming again").isEqualTo(3);
        origins.detach(again);
        assertThatThrownBy(() -> origins.attach(settings("s1", origin, cow, id, false), null))
                .as("and the old origin is now another file").hasMessageContaining("belongs to the origin " + restored);
    }

    @Test
    void aWrongConfirmationMakesNoNewStore() throws Exception {
        assertThatThrownBy(() -> origins.attach(settings("s1", origin, cow, null, false, DeviceIdentity.of(other)), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not the identity of its origin");
        assertThat(cow).doesNotExist();
        assertThat(FileClaims.holderOf(origin)).isEmpty();
    }

    @Test
    void aVersion2StoreIsNeverFormattedAndIsAdoptedOnlyWithItsOriginConfirmed() throws Exception {
        UUID id = snapshotWithChunks();
        writeVersion2Header();
        Map<Path, String> before = hashes();
        String originId = DeviceIdentity.of(origin);

        for (boolean format : new boolean[] {false, true}) {
            assertThatThrownBy(() -> origins.attach(settings("s1", origin, cow, id, format), null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("snapshot 's1': " + cow + " (COW store " + id + ") was made by an older kcopyd that "
                            + "recorded no origin identity, so it is not known to belong to " + origin + " (identity "
                            + originId + ") and is not adopted; nothing was written; if " + origin + " really is that "
                            + "origin (restored from a backup, copied or moved to another file system, a disk known "
                            + "by other properties now, served at another address), say so with originId=" + originId
                            + " (--origin-id "
                            + originId + ") and the store will record it");
        }
        assertThatThrownBy(() -> origins.attach(settings("s1", other, cow, id, false), null))
                .hasMessageContaining("was made by an older kcopyd that recorded no origin identity");
        assertUntouched(before);

        SnapshotVolume s1 = origins.attach(settings("s1", origin, cow, id, false, originId), null);
        assertThat(s1.chunksUsed()).isEqualTo(3);
        assertSameBytes(read(s1.device()), initial, "the snapshot in the version 2 store");
        try (BlockDevice device = SnapshotFixture.FILES.open(cow)) {
            ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
            device.read(0, b).toCompletableFuture().join();
            assertThat(b.getInt(8)).as("the header, upgraded").isEqualTo(CowHeader.VERSION);
            assertThat(CowHeader.parse(b.clear()).originId()).isEqualTo(originId);
        }
    }

    /** Rewrites the store's header as version 2 wrote it: the same store, no origin recorded. */
    private void writeVersion2Header() throws Exception {
        ByteBuffer h = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        try (RandomAccessFile f = new RandomAccessFile(cow.toFile(), "rw")) {
            f.getChannel().read(h, 0);
            ByteBuffer v2 = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
            v2.put(0, h.array(), 0, 56).putInt(8, 2);
            CRC32C crc = new CRC32C();
            crc.update(v2.array(), 0, 508);
            v2.putInt(508, (int) crc.getValue());
            f.getChannel().write(v2.clear(), 0);
        }
    }

    @Test
    void anOriginWrittenWhileNoSnapshotWasOpenIsRefused() throws Exception {
        UUID id = snapshotWithChunks();
        // Written behind the closed snapshot's back: its store no longer holds the snapshot's moment.
        try (RandomAccessFile f = new RandomAccessFile(origin.toFile(), "rw")) {
            f.seek(SECTORS * 512L - 100);
            f.write(pattern(100, 5));
        }
        Map<Path, String> before = hashes();

        for (String confirmed : new String[] {null, DeviceIdentity.of(origin)}) {
            assertThatThrownBy(() -> origins.attach(settings("s1", origin, cow, id, false, confirmed), null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("snapshot 's1': its origin " + origin + " (identity " + DeviceIdentity.of(origin)
                            + ") is not as " + cow + " (COW store " + id + ") left it: its first or last 64 KiB "
                            + "changed since the store was last closed (another file or disk is there now, or it was "
                            + "written while no snapshot of it was open and the store no longer holds the snapshot's "
                            + "moment); the store is not adopted and nothing was written: if " + origin + " gives "
                            + "another disk by mistake, give it the store's origin again and apply the configuration "
                            + "again (restart the daemon, or snapshot remove, then snapshot create with --cow-store-id "
                            + id + ": the store is adopted as it was); only if the snapshot is no longer wanted, "
                            + "delete " + cow + " yourself to start afresh");
        }
        assertUntouched(before);
    }

    @Test
    void aNewFileInTheOriginsPlaceIsRefusedEvenIfItGetsTheSameInode() throws Exception {
        UUID id = snapshotWithChunks();
        // The origin deleted and a file of the same size made under its name: the file system may reuse the inode.
        Files.delete(origin);
        Files.write(origin, pattern(SECTORS * 512, 6));
        Map<Path, String> before = hashes();

        assertThatThrownBy(() -> origins.attach(settings("s1", origin, cow, id, false), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nothing was written");
        assertUntouched(before);
    }

    /**
     * Every snapshot records the origin as it left it: the last one as the origin closes, one
     * leaving while another keeps the origin open as it is then. Written afterwards through the
     * other snapshot's origin, the origin no longer matches what the first left: that one is
     * refused (it holds no copy of what was written), the other adopted.
     */
    @Test
    void everySnapshotRecordsTheOriginAsItLeftIt() throws Exception {
        SnapshotVolume s1 = origins.attach(settings("s1", origin, cow, null, false), null);
        SnapshotVolume s2 = origins.attach(settings("s2", origin, dir.resolve("s2.cow"), null, false), null);
        assertThat(CowStore.readHeader(s1.store.device()).originSeen()).as("open: none").isNull();
        byte[] asS1Left;
        try (BlockDevice o = SnapshotFixture.FILES.open(origin)) {
            asS1Left = OriginIdentity.fingerprint(o);
        }

        origins.detach(s1);
        write(s2.origin, 0, pattern(16 * 512, 7));
        origins.detach(s2);

        try (BlockDevice c1 = SnapshotFixture.FILES.open(cow); BlockDevice c2 = SnapshotFixture.FILES.open(
                dir.resolve("s2.cow")); BlockDevice o = SnapshotFixture.FILES.open(origin)) {
            assertThat(CowStore.readHeader(c1).originSeen()).as("s1: the origin as it left").isEqualTo(asS1Left);
            assertThat(CowStore.readHeader(c2).originSeen()).isEqualTo(OriginIdentity.fingerprint(o));
        }
        Map<Path, String> before = hashes();
        assertThatThrownBy(() -> origins.attach(settings("s1", origin, cow, s1.cowStoreId(), false), null))
                .as("written through s2 after s1 left").isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nothing was written");
        assertUntouched(before);
        SnapshotVolume reopened = origins.attach(settings("s2", origin, dir.resolve("s2.cow"), s2.cowStoreId(), false),
                null);
        assertThat(CowStore.readHeader(reopened.store.device()).originSeen()).as("cleared once open again").isNull();
    }

    /** Two snapshots closed together, then the origin written while none is open: both are refused. */
    @Test
    void twoSnapshotsClosedTogetherAreBothRefusedOverAChangedOrigin() throws Exception {
        SnapshotVolume s1 = origins.attach(settings("s1", origin, cow, null, false), null);
        SnapshotVolume s2 = origins.attach(settings("s2", origin, dir.resolve("s2.cow"), null, false), null);
        origins.detach(s1);
        origins.detach(s2);
        try (FileChannel ch = FileChannel.open(origin,
                StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap("XXXXXXXX".getBytes(StandardCharsets.US_ASCII)), 100);
        }
        Map<Path, String> before = hashes();

        assertThatThrownBy(() -> origins.attach(settings("s1", origin, cow, s1.cowStoreId(), false), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nothing was written");
        assertThatThrownBy(() -> origins.attach(settings("s2", origin, dir.resolve("s2.cow"), s2.cowStoreId(), false),
                null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nothing was written");
        assertUntouched(before);
    }

    private Snapshot snapshot() {
        return (Snapshot) framework.registered.stream().filter(r -> r.type() == Snapshot.class).findFirst()
                .orElseThrow().service();
    }

    @Test
    void aRunningSnapshotRefusesAnotherOriginBeforeClosing() throws Exception {
        Map<String, Object> props = new HashMap<>();
        props.put(Snapshot.CONFIG_NAME, "s1");
        props.put(Snapshot.CONFIG_ORIGIN, origin.toString());
        props.put(Snapshot.CONFIG_COW_STORE, cow.toString());
        props.put(Snapshot.CONFIG_COW_STORE_SIZE_MIB, 8);
        SnapshotComponent c = new SnapshotComponent();
        c.origins = origins;
        c.configurationAdmin = framework.configurationAdmin();
        c.activate(framework.context(), FakeFramework.annotation(SnapshotConfiguration.class, props),
                framework.configure("org.kcopyd.snapshot~s1", props));
        try {
            Map<String, Object> recorded = new HashMap<>(framework.configurations.get("org.kcopyd.snapshot~s1"));
            Snapshot s1 = snapshot();
            Map<String, Object> moved = new HashMap<>(recorded);
            moved.put(Snapshot.CONFIG_ORIGIN, other.toString());

            assertThatThrownBy(() -> c.modified(FakeFramework.annotation(SnapshotConfiguration.class, moved), moved))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("snapshot 's1': configuration refused, the snapshot goes on as it was: "
                            + cow + " (COW store " + s1.cowStoreId() + ") belongs to the origin " + origin);
            assertThat(snapshot()).isSameAs(s1);
            assertThat(s1.state()).isEqualTo(SnapshotState.ACTIVE);
        } finally {
            c.deactivate();
        }
    }
}
