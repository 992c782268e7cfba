package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.kcopyd.snapshot.internal.SnapshotFixture.assertSameBytes;
import static org.kcopyd.snapshot.internal.SnapshotFixture.pattern;
import static org.kcopyd.snapshot.internal.SnapshotFixture.read;
import static org.kcopyd.snapshot.internal.SnapshotFixture.settings;
import static org.kcopyd.snapshot.internal.SnapshotFixture.sha256;
import static org.kcopyd.snapshot.internal.SnapshotFixture.write;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.device.DeviceIdentity;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.snapshot.Snapshot;
import org.kcopyd.snapshot.internal.CowStore.CowHeader;
import org.kcopyd.testdevices.MemoryUriProvider;
import org.kcopyd.testdevices.UnreachableServerOpener;

/**
 * Snapshots of an origin named by URI, opened through a real {@link BlockDeviceOpener} and
 * {@link org.kcopyd.api.UriDeviceProvider} ({@link MemoryUriProvider}, as an NBD export would be):
 * copy-on-write, merge, the identity and fingerprint its COW store records, the refusal of a
 * store made for a file, and an export that cannot be opened.
 */
class RemoteOriginTest {

    private static final int SECTORS = 8192;
    private static final URI DISK = URI.create("mem://disk");
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private final SnapshotFixture fixture = new SnapshotFixture();
    private final FakeFramework framework = new FakeFramework();
    private final MemoryUriProvider provider = new MemoryUriProvider();
    private final BlockDeviceOpener opener = provider.opener();
    private Origins origins;
    private MemoryBlockDevice disk;
    private byte[] initial;
    private Path cow;

    @BeforeEach
    void makeOrigins() {
        initial = pattern(SECTORS * 512, 1);
        disk = provider.add("disk", initial);
        cow = dir.resolve("s1.cow");
        origins = fixture.origins(framework);
    }

    @AfterEach
    void close() {
        fixture.close();
    }

    private static SnapshotSettings remote(String name, URI origin, Path cowStore, UUID cowStoreId, String originId) {
        return new SnapshotSettings(name, null, cowStore, 16, 16384, 64, SnapshotFixture.WAIT, cowStoreId, false,
                originId, origin);
    }

    @Test
    void writesThroughARemoteOriginAreCopiedFirstAndMergeRestoresThem() throws Exception {
        SnapshotVolume s1 = origins.attach(remote("s1", DISK, cow, null, null), opener);
        assertThat(framework.services(Snapshot.ORIGIN, "mem://disk")).containsExactly(s1.origin);

        byte[] written = pattern(48 * 512, 2);
        write(s1.origin, 16, written);
        assertThat(s1.chunksUsed()).as("chunks 1, 2 and 3 copied to the COW store").isEqualTo(3);
        byte[] now = initial.clone();
        System.arraycopy(written, 0, now, 16 * 512, written.length);
        assertSameBytes(read(disk), now, "the export after the write through the origin");
        assertSameBytes(read(s1.device()), initial, "the snapshot");

        s1.merge().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertSameBytes(read(disk), initial, "the export after the merge");
        UUID id = s1.cowStoreId();
        origins.detach(s1);

        try (BlockDevice device = SnapshotFixture.FILES.open(cow, "a test file")) {
            CowHeader h = CowStore.readHeader(device);
            assertThat(h.originId()).isEqualTo("mem://disk");
            assertThat(h.originPath()).isEqualTo("mem://disk");
            assertThat(h.originSeen()).as("the fingerprint, read through the device").isNotNull();
        }
        // Reopened under another spelling of the URI: the same identity, the fingerprint matches.
        SnapshotVolume again = origins.attach(remote("s1", URI.create("MEM://disk"), cow, id, null), opener);
        assertThat(again.chunksUsed()).isZero();
        origins.detach(again);
    }

    /**
     * A new snapshot of an export whose server accepts the connection and never answers: only its
     * own attach waits (H38: it connected under the bundle's origins lock, so every other
     * snapshot's attach and detach waited for the opener's 60 s timeout). Another snapshot of an
     * origin open already attaches without connecting, and one detaches, meanwhile; the waiting
     * snapshot opens once the server answers.
     */
    @Test
    void aNewSnapshotWhoseServerNeverAnswersHoldsUpNoOtherSnapshot() throws Exception {
        byte[] other = pattern(SECTORS * 512, 3);
        provider.add("other", other);
        UnreachableServerOpener server = new UnreachableServerOpener(opener);
        server.reachable(true);
        SnapshotVolume s1 = origins.attach(remote("s1", DISK, cow, null, null), server);
        CompletableFuture<SnapshotVolume> waiting;
        server.silent(true);
        try {
            waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return origins.attach(remote("s2", URI.create("mem://other"), dir.resolve("s2.cow"), null, null),
                            server);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            await().atMost(WAIT).until(() -> server.waiting() == 1);
            CompletableFuture.runAsync(() -> {
                try {
                    SnapshotVolume s3 = origins.attach(remote("s3", DISK, dir.resolve("s3.cow"), null, null), server);
                    origins.detach(s1);
                    origins.detach(s3);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(server.opens()).as("s3 shares the origin open already: no connection").isEqualTo(2);
            assertThat(waiting).as("s2, while its server is silent").isNotDone();
        } finally {
            server.silent(false);
        }
        SnapshotVolume s2 = waiting.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertSameBytes(read(s2.device()), other, "s2, once its server answered");
        origins.detach(s2);
    }

    /**
     * H39: an origin that cannot be read for a moment (its NBD server gone) while a write needs a
     * chunk copied: the write fails, the origin and the snapshot stay as they were and valid (it
     * was invalidated for good), and once the origin reads again the same write copies the chunk
     * and goes through.
     */
    @Test
    void anOriginThatCannotBeReadFailsTheWriteAndLeavesTheSnapshotValid() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean down = new java.util.concurrent.atomic.AtomicBoolean();
        provider.put("flaky", new org.kcopyd.testdevices.ForwardingDevice(provider.add("flaky-inner", initial)) {
            @Override
            public java.util.concurrent.CompletionStage<Void> read(long sector, java.nio.ByteBuffer dst) {
                return down.get() ? CompletableFuture.failedFuture(new IOException("the server is gone"))
                        : super.read(sector, dst);
            }
        });
        SnapshotVolume s1 = origins.attach(remote("s1", URI.create("mem://flaky"), cow, null, null), opener);
        byte[] written = pattern(16 * 512, 4);

        down.set(true);
        assertThatThrownBy(() -> write(s1.origin, 32, written)).hasMessageContaining("could not be read from the "
                + "origin to copy it to its snapshots first").hasMessageContaining("the snapshots stay as they were");
        down.set(false);
        assertThat(s1.state()).isEqualTo(org.kcopyd.snapshot.SnapshotState.ACTIVE);
        assertSameBytes(read(s1.origin), initial, "the origin, not written");

        write(s1.origin, 32, written);
        assertThat(s1.state()).isEqualTo(org.kcopyd.snapshot.SnapshotState.ACTIVE);
        assertSameBytes(read(s1.device()), initial, "the snapshot, as the origin was");
        origins.detach(s1);
    }

    /** Closes {@code s}, then puts its COW store back as the open snapshot had it: what a kill -9 leaves. */
    private void killed(SnapshotVolume s) throws IOException {
        Path crashed = Files.copy(cow, dir.resolve("crashed.cow"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        origins.detach(s);
        Files.copy(crashed, cow, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * H39: after a kill -9 (the store as the open snapshot left it: no fingerprint of the origin at
     * a clean close), another disk of the same size served at the export's address was adopted, and
     * the snapshot showed the two disks mixed. The snapshot's own first and last 64 KiB, recorded
     * when it opened, tell: refused, nothing written; the right disk is adopted again, even with its
     * first chunk written through the origin before the crash (the store holds that chunk's copy).
     */
    @Test
    void afterAKillAnotherDiskAtTheExportsAddressIsRefusedAndTheRightOneAdopted() throws Exception {
        SnapshotVolume s1 = origins.attach(remote("s1", DISK, cow, null, null), opener);
        UUID id = s1.cowStoreId();
        byte[] written = pattern(16 * 512, 7);
        write(s1.origin, 0, written);
        killed(s1);
        byte[] disk = read(provider.opener().open(DISK));
        String before = sha256(cow);

        provider.add("disk", pattern(SECTORS * 512, 8));
        assertThatThrownBy(() -> origins.attach(remote("s1", DISK, cow, id, null), opener))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("snapshot 's1': its origin mem://disk does not give the snapshot its content: "
                        + "16 samples of it spread over it, read through the origin where " + cow + " (COW store " + id
                        + ")")
                .hasMessageContaining("--cow-store-id " + id);
        assertThat(sha256(cow)).as("nothing written to the store").isEqualTo(before);
        assertThat(framework.services(Snapshot.ORIGIN, "mem://disk")).isEmpty();

        provider.add("disk", disk);
        SnapshotVolume again = origins.attach(remote("s1", DISK, cow, id, null), opener);
        assertSameBytes(read(again.device()), initial, "the snapshot, as the origin was");
        origins.detach(again);
    }

    /** H40: both ends of the origin written through it before the kill (the first version checked only those). */
    @Test
    void afterAKillAnotherDiskIsRefusedEvenWithBothEndsWritten() throws Exception {
        SnapshotVolume s1 = origins.attach(remote("s1", DISK, cow, null, null), opener);
        UUID id = s1.cowStoreId();
        write(s1.origin, 0, pattern(128 * 512, 10));
        write(s1.origin, SECTORS - 128, pattern(128 * 512, 11));
        killed(s1);

        provider.add("disk", pattern(SECTORS * 512, 12));
        assertThatThrownBy(() -> origins.attach(remote("s1", DISK, cow, id, null), opener))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not give the snapshot its content");
    }

    /**
     * A snapshot written in its first 64 KiB changes what it shows there: the record of its view is
     * dropped before the write, so after a kill -9 the same disk is adopted, with the write.
     */
    @Test
    void aSnapshotWrittenWhereItsViewIsRecordedIsAdoptedAgainAfterAKill() throws Exception {
        SnapshotVolume s1 = origins.attach(remote("s1", DISK, cow, null, null), opener);
        UUID id = s1.cowStoreId();
        byte[] written = pattern(16 * 512, 9);
        write(s1.device(), 0, written);
        killed(s1);

        SnapshotVolume again = origins.attach(remote("s1", DISK, cow, id, null), opener);
        byte[] expected = initial.clone();
        System.arraycopy(written, 0, expected, 0, written.length);
        assertSameBytes(read(again.device()), expected, "the snapshot, with its write");
        origins.detach(again);
    }

    @Test
    void chunksSmallerThanTheOriginsMinimumBlockAreRefusedBeforeTheStoreIsMade() throws Exception {
        provider.put("k4", new org.kcopyd.testdevices.ForwardingDevice(provider.add("k4-inner", initial)) {
            @Override
            public int minimumBlockBytes() {
                return 16384;
            }
        });
        SnapshotSettings chunks16 = remote("s1", URI.create("mem://k4"), cow, null, null);
        SnapshotSettings chunks8 = new SnapshotSettings("s1", null, cow, 8, 16384, 64, SnapshotFixture.WAIT, null, false,
                null, URI.create("mem://k4"));

        assertThatThrownBy(() -> origins.attach(chunks8, opener)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("its origin mem://k4 takes only whole blocks of 16384 bytes (its minimum block "
                        + "size): chunkSectors 8 and its 8192 sectors must be multiples of 32, so nothing was written");
        assertThat(cow).doesNotExist();
        assertThat(framework.services(Snapshot.ORIGIN, "mem://k4")).isEmpty();

        assertThatThrownBy(() -> origins.attach(chunks16, opener)).hasMessageContaining("chunkSectors 16 and");
        assertThat(cow).doesNotExist();
    }

    /** An origin with bytes past its last whole sector (an odd-sized NBD export): no snapshot would keep them. */
    @Test
    void anOriginWithBytesPastItsLastSectorIsRefusedBeforeTheStoreIsMade() {
        provider.put("odd", new org.kcopyd.testdevices.TailedDevice(provider.add("odd-inner", initial), new byte[100]));

        assertThatThrownBy(() -> origins.attach(remote("s1", URI.create("mem://odd"), cow, null, null), opener))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("its origin mem://odd has 100 bytes past its last whole sector, which no snapshot "
                        + "would keep (writes to them would not be copied first), so nothing was written");
        assertThat(cow).doesNotExist();
        assertThat(framework.services(Snapshot.ORIGIN, "mem://odd")).isEmpty();
    }

    @Test
    void twoSnapshotsOfOneExportShareItsOriginWhateverTheSpelling() throws Exception {
        SnapshotVolume s1 = origins.attach(remote("s1", DISK, cow, null, null), opener);
        SnapshotVolume s2 = origins.attach(remote("s2", URI.create("MEM://disk"), dir.resolve("s2.cow"), null, null),
                opener);
        assertThat(s2.origin).isSameAs(s1.origin);
        write(s1.origin, 0, pattern(16 * 512, 3));
        assertThat(s1.chunksUsed()).isEqualTo(1);
        assertThat(s2.chunksUsed()).isEqualTo(1);
        assertSameBytes(read(s2.device()), initial, "the second snapshot");
        origins.detach(s2);
        origins.detach(s1);
    }

    @Test
    void aStoreMadeForAFileRefusesAnExportAndTheOtherWayRound() throws Exception {
        Path file = Files.write(dir.resolve("o.img"), initial);
        SnapshotVolume s1 = origins.attach(settings("s1", file, cow, null, false), null);
        UUID fileStore = s1.cowStoreId();
        origins.detach(s1);
        String fileId = DeviceIdentity.of(file);
        String before = sha256(cow);

        assertThatThrownBy(() -> origins.attach(remote("s1", DISK, cow, fileStore, null), opener))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("belongs to the origin " + file + " (identity " + fileId + ")")
                .hasMessageContaining("mem://disk is identity mem://disk, another origin (a device named by URI, the "
                        + "store's origin a file or disk)")
                .hasMessageContaining("nothing was written");
        assertThat(sha256(cow)).isEqualTo(before);
        assertThat(framework.registered).isEmpty();

        Path remoteCow = dir.resolve("s2.cow");
        SnapshotVolume s2 = origins.attach(remote("s2", DISK, remoteCow, null, null), opener);
        UUID remoteStore = s2.cowStoreId();
        origins.detach(s2);
        String remoteBefore = sha256(remoteCow);
        assertThatThrownBy(() -> origins.attach(settings("s2", file, remoteCow, remoteStore, false), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("belongs to the origin mem://disk (identity mem://disk)")
                .hasMessageContaining(file + " is identity " + fileId + ", another origin (a file or disk, the "
                        + "store's origin a device named by URI)");
        assertThat(sha256(remoteCow)).isEqualTo(remoteBefore);
        assertSameBytes(read(disk), initial, "the export");
    }

    @Test
    void anExportThatCannotBeOpenedIsRefusedNamingItAndNothingIsMade() {
        URI missing = URI.create("mem://gone");
        assertThatThrownBy(() -> origins.attach(remote("s1", missing, cow, null, null), opener))
                .isInstanceOf(IOException.class)
                .hasMessage("snapshot 's1': cannot open its origin mem://gone: cannot connect to mem://gone: no memory "
                        + "device 'gone'");
        assertThatThrownBy(() -> origins.attach(remote("s1", DISK, cow, null, null), null))
                .isInstanceOf(IOException.class)
                .hasMessage("snapshot 's1': cannot open its origin mem://disk: no BlockDeviceOpener service to open "
                        + "devices named by URI (is kcopyd.impl started?)");
        assertThatThrownBy(() -> origins.attach(remote("s1", URI.create("nbd://host/x"), cow, null, null), opener))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith("snapshot 's1': cannot open its origin nbd://host/x: ")
                .hasMessageContaining("nbd");
        provider.addReadOnly("ro", initial);
        assertThatThrownBy(() -> origins.attach(remote("s1", URI.create("mem://ro"), cow, null, null), opener))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("snapshot 's1': its origin mem://ro is read-only");
        assertThat(cow).doesNotExist();
        assertThat(framework.registered).isEmpty();
    }

    @Test
    void aConfigurationTellsUrisFromPaths() {
        SnapshotSettings nbd = SnapshotSettings.of(config("nbd+unix:///disk?socket=/run/a.sock"));
        assertThat(nbd.remoteOrigin()).isTrue();
        assertThat(nbd.originName()).isEqualTo("nbd+unix:///disk?socket=/run/a.sock");
        assertThat(DeviceIdentity.of(nbd.originUri())).isEqualTo("nbd+unix:///disk?socket=/run/a.sock");
        assertThat(DeviceIdentity.of(URI.create("NBD://Host.Example:10809/a/../disk")))
                .isEqualTo("nbd://host.example:10809/disk");
        assertThat(DeviceIdentity.of(URI.create("nbd+unix:///?socket=/" + "s".repeat(200))))
                .matches("nbd\\+unix:sha256=[0-9a-f]{64}");

        SnapshotSettings file = SnapshotSettings.of(config("file:///srv/disk.img"));
        assertThat(file.remoteOrigin()).isFalse();
        assertThat(file.origin()).isEqualTo(Path.of("/srv/disk.img"));

        assertThatThrownBy(() -> SnapshotSettings.of(config("nbd://a host/disk")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("snapshot 's1': origin 'nbd://a host/disk' is not a valid URI: ");
        assertThatThrownBy(() -> SnapshotSettings.of(config("file://elsewhere/srv/disk.img")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("names a file on host 'elsewhere'");

        assertThat(DeviceIdentity.isWellFormed("nbd+unix:///disk?socket=/run/a.sock")).isTrue();
        assertThat(DeviceIdentity.isWellFormed("nbd:sha256=" + "0a".repeat(32))).isTrue();
        assertThat(DeviceIdentity.isWellFormed("nbd://host/a disk")).isFalse();
    }

    private static SnapshotConfiguration config(String origin) {
        return FakeFramework.annotation(SnapshotConfiguration.class, Map.of(Snapshot.CONFIG_NAME, "s1",
                Snapshot.CONFIG_ORIGIN, origin, Snapshot.CONFIG_COW_STORE, "/srv/s1.cow"));
    }
}
