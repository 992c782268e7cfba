package org.kcopyd.mirror.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.kcopyd.mirror.internal.MirrorFixture.random;
import static org.kcopyd.mirror.internal.MirrorFixture.read;
import static org.kcopyd.mirror.internal.MirrorFixture.sha256;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.device.DeviceIdentity;
import org.kcopyd.device.FileClaims;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.LegStatus;
import org.kcopyd.mirror.MirrorStatus;

/**
 * The region log records each leg's identity (a file's disk and inode, a block device's disk as
 * the kernel knows it, a service's name) and size: a leg that is no longer the recorded file is never
 * copied over the others. Legs swapped or a source leg replaced behind the mirror's back leave no
 * leg recorded in sync as it was, and the log is refused with every file unchanged (SHA-256); a
 * replaced leg that is not needed as a source is resynchronised fully, and says so in its status.
 */
class LegIdentityTest {

    private static final int SECTORS = 4096;

    @TempDir
    Path dir;
    private final MirrorFixture fixture = new MirrorFixture();
    private final List<OpenedMirror> opened = new ArrayList<>();

    @AfterEach
    void close() throws IOException {
        opened.forEach(OpenedMirror::close);
        fixture.close();
    }

    private Path file(String name, byte[] content) throws IOException {
        return Files.write(dir.resolve(name), content);
    }

    private static MirrorSettings settings(Path log, UUID id, boolean format, Path... legs) {
        return new MirrorSettings("m", Arrays.stream(legs).map(Path::toString).toList(), MirrorFixture.REGION, log, id,
                format, List.of(), 0, 100);
    }

    /** The settings with {@code back} to bring back ({@link org.kcopyd.mirror.Mirror#CONFIG_RESYNC_LEGS}). */
    private static MirrorSettings bringingBack(Path log, UUID id, List<Path> back, Path... legs) {
        return new MirrorSettings("m", Arrays.stream(legs).map(Path::toString).toList(), MirrorFixture.REGION, log, id,
                false, back.stream().map(Path::toString).toList(), 0, 100);
    }

    /** The failure of a leg not as the log recorded it, left failed. */
    private static String notAsRecorded(String note) {
        return "not as the log recorded it: " + note + "; not written (mirror replace-leg with its own device resyncs "
                + "it fully)";
    }

    private OpenedMirror open(MirrorSettings s) throws IOException {
        OpenedMirror m = OpenedMirror.open(s, name -> null, fixture.clients(), fixture.backoff());
        opened.add(m);
        return m;
    }

    private MirrorVolume started(MirrorSettings s) throws Exception {
        MirrorVolume m = open(s).volume();
        m.start();
        m.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        return m;
    }

    private void closeAll() {
        opened.forEach(OpenedMirror::close);
        opened.clear();
    }

    /** The refusal of {@code s}, after checking that every file is as it was and none is left claimed. */
    private Throwable refusal(MirrorSettings s, Path... files) throws IOException {
        Map<Path, String> before = new LinkedHashMap<>();
        for (Path f : files) {
            before.put(f, sha256(f));
        }
        Throwable t = catchThrowable(() -> open(s));
        assertThat(t).as("refused").isInstanceOf(IllegalArgumentException.class);
        for (Path f : files) {
            assertThat(sha256(f)).as(f + " untouched").isEqualTo(before.get(f));
            assertThat(FileClaims.holderOf(f)).as(f + " not left claimed").isEmpty();
        }
        return t;
    }

    private static String identity(Path file) throws IOException {
        return DeviceIdentity.of(file);
    }

    /** Trades the names of two files, as /dev/sdb and /dev/sdc may after a reboot. */
    private void swap(Path x, Path y) throws IOException {
        Path aside = dir.resolve("aside");
        Files.move(x, aside);
        Files.move(y, x);
        Files.move(aside, y);
    }

    /** Puts a new file (a new inode) with {@code content} at {@code path}, as replacing a disk or restoring a copy does. */
    private void replace(Path path, byte[] content) throws IOException {
        Path fresh = file("fresh.img", content);
        Files.move(fresh, path, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Stops a new mirror over {@code a} and {@code b} mid-resync: leg 0 in sync, leg 1 resyncing, written to. */
    private UUID stoppedMidResync(Path log, Path a, Path b, byte[] newest) throws Exception {
        fixture.kcopyd.unbind(fixture.engine);
        MirrorVolume m = open(settings(log, null, false, a, b)).volume();
        m.start();
        m.device().write(0, ByteBuffer.wrap(newest)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(m.status().legs()).extracting(LegStatus::state).containsExactly(LegState.IN_SYNC,
                LegState.RESYNCING);
        UUID id = m.regionLogId();
        closeAll();
        fixture.kcopyd.bind(fixture.engine);
        return id;
    }

    /**
     * The tester's case: a crash mid-resync (a in sync, b half-synced), then the legs' names
     * traded. Going by the paths would copy the half-synced leg over the only good copy.
     */
    @Test
    void legsSwappedAfterAStopMidResyncAreRefusedWithEveryFileUnchanged() throws Exception {
        byte[] data = random(SECTORS * 512, 1);
        Path a = file("a.img", data);
        Path b = file("b.img", random(SECTORS * 512, 2));
        Path log = dir.resolve("m.log");
        byte[] newest = random(8 * 512, 3);
        UUID id = stoppedMidResync(log, a, b, newest);
        String good = identity(a);
        String halfSynced = identity(b);

        swap(a, b);

        for (boolean format : new boolean[] {false, true}) {
            assertThat(refusal(settings(log, id, format, a, b), log, a, b)).hasMessage("mirror 'm': leg 0 " + a
                    + " is not the file this log recorded (recorded " + good + ", 4096 sectors; now " + halfSynced
                    + ", 4096 sectors; it is the file recorded as " + b + ", RESYNCING); legs may have been swapped, "
                    + "replaced or written outside the mirror, and no leg recorded in sync is as recorded, so none is "
                    + "copied over the others; a kcopyd region log is never formatted, not even with format=true "
                    + "(--format): put the recorded files back at their paths (or serve the recorded disks again at "
                    + "their addresses) and apply the configuration again (restart the daemon, or mirror remove, then "
                    + "mirror create with --log-id " + id + ": the log stays and is adopted), or, if you know which "
                    + "leg holds the mirror's data, delete " + log + " yourself and create the mirror again with that "
                    + "leg first (every other leg is resynced from it)");
        }
        // Given in the other order, the paths are the log's again but neither is the recorded file.
        assertThat(refusal(settings(log, id, false, b, a), log, a, b)).hasMessageContaining("leg 1 " + a + " is not "
                + "the file this log recorded").hasMessageContaining("no leg recorded in sync is as recorded");

        // The remedy the message names: the files back at their paths, and the resync goes on from the good leg.
        swap(a, b);
        started(settings(log, id, false, a, b));
        byte[] expected = data.clone();
        System.arraycopy(newest, 0, expected, 0, newest.length);
        assertThat(Files.readAllBytes(a)).isEqualTo(expected);
        assertThat(Files.readAllBytes(b)).as("resynced from the good leg").isEqualTo(expected);
    }

    /**
     * A log whose legs an earlier kcopyd recorded by device numbers ({@code dev-D-ino-I}, as the fixture still
     * records them) is adopted while they match, and records the legs' identities anew: from then on another file
     * or disk that takes the same numbers is not taken for the leg.
     */
    @Test
    void aLogRecordingDeviceNumbersIsAdoptedAndRecordsTheIdentitiesAnew() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 31));
        Path b = file("b.img", new byte[SECTORS * 512]);
        Path log = dir.resolve("m.log");
        MirrorVolume first = fixture.mirror(log, List.of(a, b), List.of(fixture.leg(a, null), fixture.leg(b, null)));
        first.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        fixture.closeDevices();
        String header = new String(Files.readAllBytes(log), StandardCharsets.ISO_8859_1);
        assertThat(header).contains(String.valueOf(FileClaims.identityOf(a))).doesNotContain(identity(a));

        MirrorVolume adopted = started(settings(log, MirrorFixture.LOG_ID, false, a, b));

        assertThat(adopted.status().legs()).extracting(LegStatus::state).containsExactly(LegState.IN_SYNC,
                LegState.IN_SYNC);
        closeAll();
        header = new String(Files.readAllBytes(log), StandardCharsets.ISO_8859_1);
        assertThat(header).contains(identity(a), identity(b)).doesNotContain(String.valueOf(FileClaims.identityOf(a)));
        assertThat(Files.readAllBytes(b)).isEqualTo(Files.readAllBytes(a));
    }

    /** A new file at the source's path, even with the same bytes (restored from a copy), is not the recorded one. */
    @Test
    void aSourceLegReplacedByAnotherFileIsRefusedWithEveryFileUnchanged() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 4));
        Path b = file("b.img", random(SECTORS * 512, 5));
        Path log = dir.resolve("m.log");
        UUID id = stoppedMidResync(log, a, b, random(8 * 512, 6));
        String recorded = identity(a);

        replace(a, Files.readAllBytes(a));

        assertThat(refusal(settings(log, id, true, a, b), log, a, b)).hasMessageStartingWith("mirror 'm': leg 0 " + a
                + " is not the file this log recorded (recorded " + recorded + ", 4096 sectors; now " + identity(a)
                + ", 4096 sectors); legs may have been swapped, replaced or written outside the mirror");
        assertThat(recorded).isNotEqualTo(identity(a));
    }

    /**
     * H43 F2, H44 F6: a leg that is not the file the log recorded is left failed, nothing written to it
     * (whose file it is cannot be told: another mirror's leg behind a planted link, another disk behind a
     * by-id name); brought back as asked, it is resynced fully.
     */
    @Test
    void aReplacedLegIsLeftFailedUntilBroughtBackThenResyncedFully() throws Exception {
        byte[] data = random(SECTORS * 512, 7);
        Path a = file("a.img", data);
        Path b = file("b.img", random(SECTORS * 512, 8));
        Path log = dir.resolve("m.log");
        UUID id = started(settings(log, null, false, a, b)).regionLogId();
        closeAll();
        String old = identity(b);

        replace(b, random(SECTORS * 512, 9));
        String other = sha256(b);

        MirrorVolume left = started(settings(log, id, false, a, b));
        assertThat(left.status().legs().get(1).state()).isEqualTo(LegState.FAILED);
        assertThat(left.status().legs().get(1).failure()).startsWith(notAsRecorded("not the file the log recorded (recorded "
                + old + ", 4096 sectors; now " + identity(b) + ", 4096 sectors)"));
        assertThat(left.status().legs().get(1).failure()).as("not held either").endsWith("; not held open");
        assertThat(FileClaims.holderOf(b)).as("not claimed: another mirror may hold it").isEmpty();
        left.device().write(0, ByteBuffer.wrap(random(8 * 512, 25))).toCompletableFuture().get(10, TimeUnit.SECONDS);
        System.arraycopy(Files.readAllBytes(a), 0, data, 0, 8 * 512);
        closeAll();
        assertThat(sha256(b)).as("not written").isEqualTo(other);
        MirrorVolume reopened = started(settings(log, id, false, a, b));
        assertThat(reopened.status().legs().get(1).failure()).as("the log still records the file it was: a stranger again")
                .endsWith("; not opened at this start (not this mirror's, as far as its log can tell: not held open)");
        assertThat(FileClaims.holderOf(b)).isEmpty();
        closeAll();

        MirrorVolume m = open(bringingBack(log, id, List.of(b), a, b)).volume();
        LegStatus replaced = m.status().legs().get(1);
        assertThat(replaced.state()).isEqualTo(LegState.RESYNCING);
        assertThat(replaced.failure()).isEqualTo("brought back (not the file the log recorded (recorded " + old + ", 4096 "
                + "sectors; now " + identity(b) + ", 4096 sectors)); resynced fully");
        m.start();
        m.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        MirrorStatus status = m.status();
        assertThat(status.regionsResynced()).as("every region").isEqualTo(status.regions());
        assertThat(status.legs()).extracting(LegStatus::state).containsOnly(LegState.IN_SYNC);
        assertThat(status.legs().get(1).failure()).isNull();
        assertThat(Files.readAllBytes(b)).isEqualTo(data);
        closeAll();

        // The log now records the new file: the next open adopts it as it is.
        MirrorVolume again = started(settings(log, id, false, a, b));
        assertThat(again.status().regionsResynced()).isZero();

        // The same file with another size (grown behind the mirror's back) is not the recorded leg either.
        closeAll();
        Files.write(b, new byte[64 * 512], StandardOpenOption.APPEND);
        Files.write(b, random(SECTORS * 512, 10), StandardOpenOption.WRITE);
        MirrorVolume grown = open(bringingBack(log, id, List.of(b), a, b)).volume();
        assertThat(grown.status().legs().get(1).failure()).isEqualTo("brought back (not the file the log recorded (recorded "
                + identity(b) + ", 4096 sectors; now " + identity(b) + ", 4160 sectors)); resynced fully");
        grown.start();
        grown.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(Arrays.copyOf(Files.readAllBytes(b), SECTORS * 512)).isEqualTo(data);
    }

    /**
     * Legs a and b in sync, c half-synced; a and c trade names. Neither is used as a source, nor
     * written: both are left failed, b (in sync and the recorded file) serves; brought back, both are
     * resynced fully from it.
     */
    @Test
    void swappedLegsAreLeftFailedAndBroughtBackFromALegThatIsStillTheRecordedInSyncFile() throws Exception {
        byte[] data = random(SECTORS * 512, 11);
        Path a = file("a.img", data);
        Path b = file("b.img", random(SECTORS * 512, 12));
        Path c = file("c.img", random(SECTORS * 512, 13));
        Path log = dir.resolve("m.log");
        UUID id = started(settings(log, null, false, a, b)).regionLogId();
        closeAll();
        fixture.kcopyd.unbind(fixture.engine);
        open(settings(log, id, false, a, b, c)).volume().start();
        closeAll();
        fixture.kcopyd.bind(fixture.engine);

        swap(a, c);
        String aBefore = sha256(a);
        String cBefore = sha256(c);

        MirrorVolume left = open(settings(log, id, false, a, b, c)).volume();
        assertThat(left.status().legs()).extracting(LegStatus::state).containsExactly(LegState.FAILED,
                LegState.IN_SYNC, LegState.FAILED);
        assertThat(left.status().legs().get(0).failure()).startsWith("not as the log recorded it: ");
        assertThat(read(left.device())).isEqualTo(data);
        closeAll();
        assertThat(sha256(a)).isEqualTo(aBefore);
        assertThat(sha256(c)).isEqualTo(cBefore);

        MirrorVolume m = open(bringingBack(log, id, List.of(a, c), a, b, c)).volume();
        assertThat(m.status().legs()).extracting(LegStatus::state).containsExactly(LegState.RESYNCING,
                LegState.IN_SYNC, LegState.RESYNCING);
        m.start();
        m.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        for (Path leg : List.of(a, b, c)) {
            assertThat(Files.readAllBytes(leg)).as(leg.toString()).isEqualTo(data);
        }
    }

    /**
     * Putting a new disk (file) where a failed leg was does not write it by itself (H44 F6: it was
     * resynced without being asked); brought back, it is resynced fully.
     */
    @Test
    void aFailedLegReplacedByANewFileIsResyncedFullyOnceBroughtBack() throws Exception {
        byte[] data = random(SECTORS * 512, 14);
        Path a = dir.resolve("a.img");
        Path b = dir.resolve("b.img");
        Path log = dir.resolve("m.log");
        MirrorFixture.FailingLeg leg0 = new MirrorFixture.FailingLeg(fixture.leg(a, data));
        MirrorVolume first = fixture.mirror(log, List.of(a, b), List.of(leg0, fixture.leg(b, data.clone())));
        first.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        leg0.failWritesFrom = 0;
        byte[] newest = random(8 * 512, 15);
        first.device().write(0, ByteBuffer.wrap(newest)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        fixture.closeDevices();

        MirrorVolume same = open(settings(log, MirrorFixture.LOG_ID, false, a, b)).volume();
        assertThat(same.status().legs().get(0).state()).as("the same file: still failed").isEqualTo(LegState.FAILED);
        closeAll();
        replace(a, new byte[SECTORS * 512]);
        MirrorVolume left = started(settings(log, MirrorFixture.LOG_ID, false, a, b));
        assertThat(left.status().legs().get(0).state()).as("not asked: left failed").isEqualTo(LegState.FAILED);
        closeAll();
        assertThat(Files.readAllBytes(a)).isEqualTo(new byte[SECTORS * 512]);

        MirrorVolume m = started(bringingBack(log, MirrorFixture.LOG_ID, List.of(a), a, b));

        assertThat(m.status().legs()).extracting(LegStatus::state).containsOnly(LegState.IN_SYNC);
        assertThat(Files.readAllBytes(a)).startsWith(newest).isEqualTo(Files.readAllBytes(b));
    }

    /**
     * The same file with other contents, as {@code cp b.img a.img} leaves it (or another disk
     * behind the same device node after a clean reboot): its identity is unchanged, but the
     * fingerprint recorded at the clean close is not. As the only in-sync leg, it is refused.
     */
    @Test
    void aSourceLegWrittenInPlaceWhileClosedIsRefusedWithEveryFileUnchanged() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 19));
        Path b = file("b.img", random(SECTORS * 512, 20));
        Path log = dir.resolve("m.log");
        UUID id = stoppedMidResync(log, a, b, random(8 * 512, 21));
        String same = identity(a);

        Files.write(a, Files.readAllBytes(b));

        assertThat(identity(a)).as("the same inode").isEqualTo(same);
        for (boolean format : new boolean[] {false, true}) {
            assertThat(refusal(settings(log, id, format, a, b), log, a, b)).hasMessageStartingWith("mirror 'm': leg 0 "
                    + a + " is the file this log recorded, but its first and last 64 KiB changed while the mirror was "
                    + "closed (written outside the mirror, or another file or disk in its place); legs may have been "
                    + "swapped, replaced or written outside the mirror, and no leg recorded in sync is as recorded");
        }
    }

    @Test
    void aLegWrittenInPlaceWhileClosedThatIsNotNeededAsSourceIsLeftFailedThenBroughtBack() throws Exception {
        byte[] data = random(SECTORS * 512, 22);
        Path a = file("a.img", data);
        Path b = file("b.img", random(SECTORS * 512, 23));
        Path log = dir.resolve("m.log");
        UUID id = started(settings(log, null, false, a, b)).regionLogId();
        closeAll();

        try (RandomAccessFile f = new RandomAccessFile(b.toFile(), "rw")) {
            f.seek((SECTORS - 1) * 512L);
            f.write(random(512, 24));
        }

        String written = sha256(b);
        MirrorVolume left = open(settings(log, id, false, a, b)).volume();
        assertThat(left.status().legs().get(1).state()).isEqualTo(LegState.FAILED);
        assertThat(left.status().legs().get(1).failure()).isEqualTo(notAsRecorded("its content changed while the "
                + "mirror was closed") + "; not held open");
        closeAll();
        assertThat(sha256(b)).isEqualTo(written);
        // H45 F1: its identity matches again (the same inode), but it is still not opened: not held, not written.
        MirrorVolume reopened = started(settings(log, id, false, a, b));
        assertThat(reopened.status().legs().get(1).state()).isEqualTo(LegState.FAILED);
        assertThat(FileClaims.holderOf(b)).isEmpty();
        closeAll();
        assertThat(sha256(b)).isEqualTo(written);

        MirrorVolume m = open(bringingBack(log, id, List.of(b), a, b)).volume();
        assertThat(m.status().legs().get(1).state()).isEqualTo(LegState.RESYNCING);
        m.start();
        m.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(m.status().regionsResynced()).isEqualTo(m.status().regions());
        assertThat(Files.readAllBytes(b)).isEqualTo(data);
    }

    /**
     * A fingerprint is only ever compared with a leg nothing wrote since it was taken: it is
     * recorded when the mirror closes cleanly and dropped, before any write, when it opens.
     */
    @Test
    void fingerprintsAreInTheLogOnlyWhileTheMirrorIsClosedCleanly() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 25));
        Path b = file("b.img", random(SECTORS * 512, 26));
        Path log = dir.resolve("m.log");
        UUID id = started(settings(log, null, false, a, b)).regionLogId();
        assertThat(fingerprinted(log)).as("open").containsExactly(false, false);
        closeAll();
        assertThat(fingerprinted(log)).as("closed cleanly").containsExactly(true, true);

        MirrorVolume m = open(settings(log, id, false, a, b)).volume();

        assertThat(fingerprinted(log)).as("open again").containsExactly(false, false);
        m.start();
        m.device().write(0, ByteBuffer.wrap(random(512, 27))).toCompletableFuture().get(10, TimeUnit.SECONDS);
        closeAll();
        MirrorVolume again = started(settings(log, id, false, a, b));
        assertThat(again.status().regionsResynced()).as("written through the mirror: as recorded").isZero();
    }

    /** Whether each leg record of both header copies holds a fingerprint (they must agree). */
    private static List<Boolean> fingerprinted(Path log) throws IOException {
        ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(log)).order(ByteOrder.LITTLE_ENDIAN);
        List<Boolean> legs = new ArrayList<>();
        for (int i = 0; i < h.getInt(24); i++) {
            int at = RegionLog.LEGS_AT + i * RegionLog.LEG_RECORD + 532;
            assertThat(h.getInt(RegionLog.HEADER_SECTORS * 512 + at)).as("copy 2").isEqualTo(h.getInt(at));
            legs.add(h.getInt(at) == 1);
        }
        return legs;
    }

    /**
     * A version 2 log records no leg identities: adopting it would trust the paths, which is
     * what let swapped legs through. It is refused, with or without format, with what to do.
     */
    @Test
    void aVersion2LogIsRefusedWithTheRemedyAndNothingIsWritten() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 16));
        Path b = file("b.img", random(SECTORS * 512, 17));
        Path log = dir.resolve("m.log");
        UUID id = UUID.randomUUID();
        writeVersion2Log(log, id, a, b);
        String refused = "mirror 'm': " + log + " is a region log of format version 2 (mirror 'm', regionLogId " + id
                + "; legs [" + a + " IN_SYNC, " + b + " RESYNCING]), which records no leg identities, so this kcopyd "
                + "cannot check that the legs are still the files it recorded; it is not adopted, and a kcopyd region "
                + "log is never formatted, not even with format=true (--format): make sure the leg to keep (one it "
                + "records IN_SYNC) holds the mirror's data, then delete " + log + " yourself and create the mirror "
                + "again with that leg first (every other leg is resynced from it)";

        for (boolean format : new boolean[] {false, true}) {
            assertThat(refusal(settings(log, id, format, a, b), log, a, b)).hasMessage(refused);
            assertThat(refusal(settings(log, null, format, a, b), log, a, b)).hasMessage(refused);
        }
        // Copy 1 damaged: copy 2, where version 2 kept it, still makes it a region log.
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "rw")) {
            f.seek(600);
            f.write(random(64, 18));
        }
        assertThat(refusal(settings(log, id, true, a, b), log, a, b)).hasMessage(refused);
    }

    /** A version 2 log as that kcopyd wrote it: 8 KiB header copies at sectors 0 and 16, legs from byte 512. */
    private static void writeVersion2Log(Path log, UUID id, Path... legs) throws IOException {
        long regions = SECTORS / MirrorFixture.REGION;
        ByteBuffer h = ByteBuffer.allocate(16 * 512).order(ByteOrder.LITTLE_ENDIAN);
        h.putLong(0, RegionLog.MAGIC).putInt(8, 2).putInt(12, MirrorFixture.REGION).putLong(16, regions)
                .putInt(24, legs.length).putLong(32, id.getMostSignificantBits())
                .putLong(40, id.getLeastSignificantBits()).putLong(48, SECTORS).putInt(56, 1).put(60, (byte) 'm');
        for (int i = 0; i < legs.length; i++) {
            byte[] path = legs[i].toString().getBytes(StandardCharsets.UTF_8);
            int at = 512 + i * 480;
            h.putInt(at, i == 0 ? LegState.IN_SYNC.ordinal() : LegState.RESYNCING.ordinal()).putInt(at + 4, path.length)
                    .put(at + 8, path);
        }
        CRC32C crc = new CRC32C();
        crc.update(h.array());
        h.putInt(28, (int) crc.getValue());
        byte[] file = new byte[(32 + 1) * 512];
        System.arraycopy(h.array(), 0, file, 0, h.capacity());
        System.arraycopy(h.array(), 0, file, 16 * 512, h.capacity());
        Files.write(log, file);
    }
}
