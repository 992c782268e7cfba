package org.kcopyd.mirror.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kcopyd.mirror.internal.MirrorFixture.random;
import static org.kcopyd.mirror.internal.MirrorFixture.read;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.device.FileClaims;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.LegStatus;
import org.kcopyd.testdevices.MemoryUriProvider;

/**
 * Mirror legs named by URI, opened through a real {@link BlockDeviceOpener} and
 * {@link org.kcopyd.api.UriDeviceProvider} ({@link MemoryUriProvider}, as an NBD export would be):
 * resynced from a file leg and written with it, recorded in the region log by their normalized
 * URI (another URI in a leg's place is a replaced leg, resynced fully), fingerprinted at a clean
 * close through the device, failed by a write error like a file, and refused, with the mirror,
 * when they cannot be opened.
 */
class RemoteLegTest {

    private static final int SECTORS = 4096;

    @TempDir
    Path dir;
    private final MirrorFixture fixture = new MirrorFixture();
    private final MemoryUriProvider provider = new MemoryUriProvider();
    private final BlockDeviceOpener opener = provider.opener();
    private final List<OpenedMirror> opened = new ArrayList<>();

    @AfterEach
    void close() throws IOException {
        opened.forEach(OpenedMirror::close);
        fixture.close();
    }

    private static MirrorSettings settings(Path log, UUID id, String... legs) {
        return bringingBack(log, id, List.of(), legs);
    }

    /** The settings with {@code back} to bring back ({@link Mirror#CONFIG_RESYNC_LEGS}). */
    private static MirrorSettings bringingBack(Path log, UUID id, List<String> back, String... legs) {
        return new MirrorSettings("m", Arrays.asList(legs), MirrorFixture.REGION, log, id, false, back, 0, 100);
    }

    private MirrorVolume started(MirrorSettings s) throws Exception {
        OpenedMirror m = OpenedMirror.open(s, name -> null, opener, fixture.clients(), fixture.backoff());
        opened.add(m);
        m.volume().start();
        m.volume().whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        return m.volume();
    }

    private void closeAll() {
        opened.forEach(OpenedMirror::close);
        opened.clear();
    }

    @Test
    void regionsSmallerThanALegsMinimumBlockAreRefusedBeforeTheLogIsMade() throws Exception {
        Path a = Files.write(dir.resolve("a.img"), random(SECTORS * 512, 4));
        provider.put("k", new org.kcopyd.testdevices.ForwardingDevice(provider.add("k-inner", random(SECTORS * 512, 5))) {
            @Override
            public int minimumBlockBytes() {
                return MirrorFixture.REGION * 1024;
            }
        });
        Path log = dir.resolve("m.log");

        assertThatThrownBy(() -> OpenedMirror.open(settings(log, null, a.toString(), "mem://k"), name -> null, opener,
                fixture.clients(), fixture.backoff())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("a leg takes only whole blocks of " + MirrorFixture.REGION * 1024 + " bytes (its "
                        + "minimum block size): regionSectors " + MirrorFixture.REGION + " and the legs' " + SECTORS
                        + " sectors must be multiples of " + MirrorFixture.REGION * 2);
        assertThat(log).doesNotExist();
    }

    /** A leg with bytes past its last whole sector (an odd-sized NBD export): the mirror would not keep them. */
    @Test
    void aLegWithBytesPastItsLastSectorIsRefusedBeforeTheLogIsMade() throws Exception {
        Path a = Files.write(dir.resolve("a.img"), random(SECTORS * 512, 6));
        provider.put("odd", new org.kcopyd.testdevices.TailedDevice(provider.add("odd-inner", random(SECTORS * 512, 7)),
                new byte[100]));
        Path log = dir.resolve("m.log");

        assertThatThrownBy(() -> OpenedMirror.open(settings(log, null, a.toString(), "mem://odd"), name -> null, opener,
                fixture.clients(), fixture.backoff())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("leg 1 mem://odd has 100 bytes past its last whole sector, which the mirror would "
                        + "not keep in step with the other legs: serve it whole sectors");
        assertThat(log).doesNotExist();
    }

    @Test
    void aUriLegIsResyncedFromAFileLegAndWritesReachBoth() throws Exception {
        byte[] data = random(SECTORS * 512, 1);
        Path a = Files.write(dir.resolve("a.img"), data);
        MemoryBlockDevice b = provider.add("b", random(SECTORS * 512, 2));

        MirrorVolume m = started(settings(dir.resolve("m.log"), null, a.toString(), "mem://b"));
        assertThat(m.status().legs()).extracting(LegStatus::state).containsOnly(LegState.IN_SYNC);
        assertThat(read(b)).isEqualTo(data);

        byte[] written = random(24 * 512, 3);
        m.device().write(100, ByteBuffer.wrap(written)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        System.arraycopy(written, 0, data, 100 * 512, written.length);
        assertThat(Files.readAllBytes(a)).isEqualTo(data);
        assertThat(read(b)).isEqualTo(data);
        assertThat(FileClaims.holderOf(a)).map(c -> c.purpose()).contains("leg 0 of mirror m");
    }

    @Test
    void anotherUriInALegsPlaceIsResyncedFullyAndTheSameOneIsNotAndOneWrittenOutsideIsLeftFailed() throws Exception {
        byte[] data = random(SECTORS * 512, 4);
        Path a = dir.resolve("a.img");
        Path log = dir.resolve("m.log");
        UUID id = startedOnFileAndExport(data);
        closeAll();

        // The same export, as it was at the clean close (identity, size, fingerprint): in sync, nothing to copy.
        OpenedMirror same = OpenedMirror.open(settings(log, id, a.toString(), "mem://b"), name -> null, opener,
                fixture.clients(), fixture.backoff());
        opened.add(same);
        assertThat(same.volume().status().legs()).extracting(LegStatus::state).containsOnly(LegState.IN_SYNC);
        assertThat(same.volume().status().regionsToResync()).isZero();
        closeAll();

        MemoryBlockDevice c = provider.add("c", random(SECTORS * 512, 5));
        MirrorVolume swapped = started(settings(log, id, a.toString(), "mem://c"));
        assertThat(swapped.status().legs()).extracting(LegStatus::state).containsOnly(LegState.IN_SYNC);
        assertThat(read(c)).as("the new export resynced fully").isEqualTo(data);
        closeAll();

        // An export written while the mirror was closed no longer matches the fingerprint read at the clean close.
        c.write(0, ByteBuffer.wrap(random(512, 6))).toCompletableFuture().join();
        byte[] outside = read(c);
        OpenedMirror left = OpenedMirror.open(settings(log, id, a.toString(), "mem://c"), name -> null, opener,
                fixture.clients(), fixture.backoff());
        opened.add(left);
        assertThat(left.volume().status().legs().get(1).state()).isEqualTo(LegState.FAILED);
        assertThat(left.volume().status().legs().get(1).failure()).isEqualTo("not as the log recorded it: its content "
                + "changed while the mirror was closed; not written (mirror replace-leg with its own device resyncs it "
                + "fully); not held open");
        closeAll();
        assertThat(read(c)).as("not written").isEqualTo(outside);
        OpenedMirror reopened = OpenedMirror.open(bringingBack(log, id, List.of("mem://c"), a.toString(), "mem://c"),
                name -> null, opener, fixture.clients(), fixture.backoff());
        opened.add(reopened);
        assertThat(reopened.volume().status().legs().get(1).state()).isEqualTo(LegState.RESYNCING);
        reopened.volume().start();
        reopened.volume().whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(read(c)).isEqualTo(data);
    }

    /**
     * Makes mirror m of a.img, holding {@code data}, and the empty export mem://b, its log at m.log, and starts it.
     *
     * @return its region log's identity
     */
    private UUID startedOnFileAndExport(byte[] data) throws Exception {
        Path a = Files.write(dir.resolve("a.img"), data);
        provider.add("b", new byte[SECTORS * 512]);
        return started(settings(dir.resolve("m.log"), null, a.toString(), "mem://b")).regionLogId();
    }

    /** Opens the mirror on {@code log} again after the log was put back as the open mirror had it: a kill -9. */
    private OpenedMirror reopenAfterKill(Path log, Path crashed, UUID id, String... legs) throws Exception {
        closeAll();
        Files.copy(crashed, log, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        OpenedMirror m = OpenedMirror.open(settings(log, id, legs), name -> null, opener, fixture.clients(),
                fixture.backoff());
        opened.add(m);
        return m;
    }

    /**
     * H39: after a kill -9 (no fingerprints in the log), another disk of the same size served at an
     * export leg's address was taken as in sync. Regions the log records as clean differ from the
     * file leg's: a replaced leg, resynced fully. The same disk is not: only dirty regions, if any.
     */
    @Test
    void afterAKillAnotherDiskAtALegsAddressIsLeftFailedAndTheSameOneIsNot() throws Exception {
        byte[] data = random(SECTORS * 512, 8);
        Path a = dir.resolve("a.img");
        Path log = dir.resolve("m.log");
        UUID id = startedOnFileAndExport(data);
        Path crashed = Files.copy(log, dir.resolve("crashed.log"));

        OpenedMirror same = reopenAfterKill(log, crashed, id, a.toString(), "mem://b");
        assertThat(same.volume().status().legs()).extracting(LegStatus::state).containsOnly(LegState.IN_SYNC);
        assertThat(same.volume().status().legs().get(1).failure()).isNull();

        byte[] otherBytes = random(SECTORS * 512, 9);
        MemoryBlockDevice other = provider.add("b", otherBytes);
        OpenedMirror swapped = reopenAfterKill(log, crashed, id, a.toString(), "mem://b");
        assertThat(swapped.volume().status().legs().get(1).state()).isEqualTo(LegState.FAILED);
        assertThat(swapped.volume().status().legs().get(1).failure()).startsWith("not as the log recorded it: not the "
                + "disk the log recorded (region 0 differs from leg 0's, both recorded in sync, after an unclean stop)");
        swapped.volume().start();
        assertThat(read(swapped.volume().device())).isEqualTo(data);
        closeAll();
        assertThat(read(other)).as("another disk: not written").isEqualTo(otherBytes);

        // The user's word that it is to be the leg: brought back, resynced fully from the file leg.
        OpenedMirror back = OpenedMirror.open(bringingBack(log, id, List.of("mem://b"), a.toString(), "mem://b"),
                name -> null, opener, fixture.clients(), fixture.backoff());
        opened.add(back);
        back.volume().start();
        back.volume().whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(read(other)).isEqualTo(data);
    }

    /** H40: exports only, another disk at one's address after a kill -9: which holds the data cannot be told. */
    @Test
    void afterAKillExportsThatDifferWithNoCheckedLegRefuseTheMirror() throws Exception {
        byte[] data = random(SECTORS * 512, 10);
        provider.add("a", data);
        provider.add("b", new byte[SECTORS * 512]);
        Path log = dir.resolve("m.log");
        UUID id = started(settings(log, null, "mem://a", "mem://b")).regionLogId();
        Path crashed = Files.copy(log, dir.resolve("crashed.log"));

        OpenedMirror same = reopenAfterKill(log, crashed, id, "mem://a", "mem://b");
        assertThat(same.volume().status().legs()).extracting(LegStatus::state).containsOnly(LegState.IN_SYNC);

        byte[] otherBytes = random(SECTORS * 512, 11);
        MemoryBlockDevice other = provider.add("a", otherBytes);
        assertThatThrownBy(() -> reopenAfterKill(log, crashed, id, "mem://a", "mem://b"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("mirror 'm': legs 0 mem://a and 1 mem://b differ in region 0, which the log "
                        + "records as in sync on both")
                .hasMessageContaining("--log-id " + id);
        assertThat(read(other)).as("nothing written").isEqualTo(otherBytes);
        assertThat(read(provider.opener().open(java.net.URI.create("mem://b")))).isEqualTo(data);
    }

    @Test
    void aWriteErrorOnAUriLegFailsThatLegAndTheMirrorGoesOn() throws Exception {
        byte[] data = random(SECTORS * 512, 7);
        Path a = Files.write(dir.resolve("a.img"), data);
        MirrorFixture.FailingLeg b = new MirrorFixture.FailingLeg(new MemoryBlockDevice("mem://b", SECTORS));
        provider.put("b", b);
        MirrorVolume m = started(settings(dir.resolve("m.log"), null, a.toString(), "mem://b"));
        b.failWritesFrom = 0;

        byte[] written = random(512, 8);
        m.device().write(64, ByteBuffer.wrap(written)).toCompletableFuture().get(10, TimeUnit.SECONDS);

        assertThat(m.status().legs().get(1).state()).isEqualTo(LegState.FAILED);
        assertThat(m.status().legs().get(1).failure()).contains("injected write error");
        assertThat(m.status().legs().get(0).state()).isEqualTo(LegState.IN_SYNC);
        assertThat(Arrays.copyOfRange(Files.readAllBytes(a), 64 * 512, 65 * 512)).isEqualTo(written);
    }

    @Test
    void aUriLegThatCannotBeOpenedRefusesTheMirrorNamingIt() throws Exception {
        Path a = Files.write(dir.resolve("a.img"), random(SECTORS * 512, 9));
        Path log = dir.resolve("m.log");
        MirrorSettings s = settings(log, null, a.toString(), "mem://gone");

        assertThatThrownBy(() -> OpenedMirror.open(s, name -> null, opener, fixture.clients(), fixture.backoff()))
                .isInstanceOf(IOException.class)
                .hasMessage("mirror 'm': leg 1 mem://gone cannot be used: cannot connect to mem://gone: no memory "
                        + "device 'gone'");
        assertThatThrownBy(() -> OpenedMirror.open(settings(log, null, a.toString(), "mem://b"), name -> null, null,
                fixture.clients(), fixture.backoff()))
                .isInstanceOf(IOException.class)
                .hasMessage("mirror 'm': leg 1 mem://b cannot be used: no BlockDeviceOpener service to open devices "
                        + "named by URI (is kcopyd.impl started?)");
        assertThatThrownBy(() -> OpenedMirror.open(settings(log, null, a.toString(), "nbd+unix:///?socket=/s.sock"),
                name -> null, opener, fixture.clients(), fixture.backoff()))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith("mirror 'm': leg 1 nbd+unix:///?socket=/s.sock cannot be used: ");
        assertThat(log).doesNotExist();
        assertThat(FileClaims.holderOf(a)).isEmpty();
    }

    @Test
    void theSameUriTwiceAndBadUrisAreRefusedAndFileUrisAreFiles() {
        assertThatThrownBy(() -> settings(dir.resolve("m.log"), null, "nbd+unix:///?socket=/a.sock",
                "NBD+UNIX:///?socket=/a.sock"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("mirror 'm': leg 1 'NBD+UNIX:///?socket=/a.sock' is leg 0 'nbd+unix:///?socket=/a.sock' "
                        + "already");
        // Spelt differently, connecting to the same export: the default port, a dot segment in the socket.
        assertThatThrownBy(() -> settings(dir.resolve("m.log"), null, "nbd://host/x", "nbd://HOST:10809/x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("mirror 'm': leg 1 'nbd://HOST:10809/x' is leg 0 'nbd://host/x' already");
        assertThatThrownBy(() -> settings(dir.resolve("m.log"), null, "nbd+unix:///?socket=/run/a.sock",
                "nbd+unix:///?socket=/run/./a.sock"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("is leg 0 'nbd+unix:///?socket=/run/a.sock' already");
        assertThat(settings(dir.resolve("m.log"), null, "nbd://host/x", "nbd://host:10810/x").legs()).hasSize(2);
        assertThatThrownBy(() -> settings(dir.resolve("m.log"), null, "/srv/a.img", "nbd://a host/x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("mirror 'm': leg 1 'nbd://a host/x' is not a valid URI: ");
        MirrorSettings s = settings(dir.resolve("m.log"), null, "file:///srv/a.img", "nbd://host/x");
        assertThat(s.legs()).containsExactly("/srv/a.img", "nbd://host/x");
        assertThatThrownBy(() -> settings(dir.resolve("m.log"), null, "file:///srv/a.img", "/srv/a.img"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("mirror 'm': leg 1 '/srv/a.img' is leg 0 'file:///srv/a.img' already");
    }
}
