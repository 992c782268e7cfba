package org.kcopyd.mirror.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.kcopyd.mirror.internal.MirrorFixture.random;
import static org.kcopyd.mirror.internal.MirrorFixture.read;
import static org.kcopyd.mirror.internal.MirrorFixture.sha256;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.FileClaim;
import org.kcopyd.device.FileClaims;
import org.kcopyd.device.KcopydHeaders;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.MirrorStatus;

/**
 * Opening a mirror claims every file it writes and adopts an existing region log only when it is
 * this mirror's: everything else is refused with the reason, and no file is written (each
 * refusal compares the SHA-256 of every file involved before and after).
 */
class OpenedMirrorTest {

    private static final int SECTORS = 4096;

    @TempDir
    Path dir;
    private final MirrorFixture fixture = new MirrorFixture();
    private final List<OpenedMirror> opened = new ArrayList<>();
    private final Map<String, OpenedMirror.Lease> services = new HashMap<>();

    @AfterEach
    void close() throws IOException {
        opened.forEach(OpenedMirror::close);
        fixture.close();
    }

    private Path file(String name, byte[] content) throws IOException {
        return Files.write(dir.resolve(name), content);
    }

    private static MirrorSettings settings(Path log, UUID id, boolean format, Object... legs) {
        List<String> names = java.util.Arrays.stream(legs).map(Object::toString).toList();
        return new MirrorSettings("m", names, MirrorFixture.REGION, log, id, format, List.of(), 0, 100);
    }

    private OpenedMirror open(MirrorSettings s) throws IOException {
        OpenedMirror m = OpenedMirror.open(s, services::get, fixture.clients(), fixture.backoff());
        opened.add(m);
        return m;
    }

    private void closeAll() {
        opened.forEach(OpenedMirror::close);
        opened.clear();
    }

    /** The refusal of {@code s}, after checking that it wrote none of {@code files}. */
    private Throwable refusal(MirrorSettings s, Path... files) throws IOException {
        Map<Path, String> before = new LinkedHashMap<>();
        for (Path f : files) {
            before.put(f, sha256(f));
        }
        Throwable t = catchThrowable(() -> open(s));
        assertThat(t).as("refused").isNotNull();
        for (Path f : files) {
            assertThat(sha256(f)).as(f + " untouched").isEqualTo(before.get(f));
        }
        for (String leg : s.legs()) {
            if (!leg.startsWith("service:") && Files.exists(Path.of(leg))) {
                assertThat(FileClaims.holderOf(Path.of(leg))).as("nothing left claimed").isEmpty();
            }
        }
        return t;
    }

    private static MirrorVolume started(OpenedMirror m) throws Exception {
        m.volume().start();
        m.volume().whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        return m.volume();
    }

    @Test
    void aNewMirrorMakesItsLogWhereNoFileExistsAndClaimsEveryFileForItsRole() throws Exception {
        byte[] data = random(SECTORS * 512, 1);
        Path a = file("a.img", data);
        Path b = file("b.img", new byte[SECTORS * 512]);
        Path log = dir.resolve("m.log");

        MirrorVolume mirror = started(open(settings(log, null, false, a, b)));

        assertThat(FileClaims.holderOf(a)).map(FileClaim::purpose).contains("leg 0 of mirror m");
        assertThat(FileClaims.holderOf(b)).map(FileClaim::purpose).contains("leg 1 of mirror m");
        assertThat(FileClaims.holderOf(log)).map(FileClaim::purpose).contains("the region log of mirror m");
        assertThat(mirror.regionLogId()).isNotNull();
        assertThat(Files.readAllBytes(b)).isEqualTo(data);

        closeAll();
        assertThat(FileClaims.holderOf(a)).isEmpty();
        assertThat(FileClaims.holderOf(log)).isEmpty();
    }

    @Test
    void theRegionLogMayNotBeALegUnderAnySpelling() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 2));
        Path b = file("b.img", random(SECTORS * 512, 3));
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), a);

        for (Path log : List.of(a, dir.resolve("sub/../a.img"), link)) {
            Files.createDirectories(dir.resolve("sub"));
            Throwable t = refusal(settings(log, null, false, a, b), a, b);
            assertThat(t).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("mirror 'm': region log " + log + " cannot be used: ")
                    .hasMessageContaining("is leg 0 of mirror m");
            // Even when asked to format: a leg is never a region log.
            assertThat(refusal(settings(log, null, true, a, b), a, b)).hasMessageContaining("is leg 0 of mirror m");
        }
    }

    @Test
    void aLegThatIsNotWholeSectorsIsRefused() throws Exception {
        // Found by H23: two 1000000-byte legs were reported in sync, and differed in their last 64 bytes.
        Path a = file("a.img", random(1_000_000, 21));
        Path b = file("b.img", random(1_000_000, 22));
        Path log = dir.resolve("m.log");

        Throwable t = refusal(settings(log, null, false, a, b), a, b);

        assertThat(t).isInstanceOf(IllegalArgumentException.class).hasMessage("mirror 'm': leg 0 " + a + " is 1000000 "
                + "bytes, not a whole number of 512-byte sectors: its last 64 bytes would lie outside the mirror, never "
                + "mirrored, while its legs were said to be in sync; nothing was opened or written: make every leg whole "
                + "sectors (truncate -s 1000448 " + a + " pads it with zeros)");
        assertThat(log).as("no region log made").doesNotExist();
    }

    @Test
    void theSameLegTwiceIsRefusedUnderAnySpelling() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 4));
        Files.createDirectories(dir.resolve("sub"));
        Path symlink = Files.createSymbolicLink(dir.resolve("symlink.img"), a);
        Path hardLink = Files.createLink(dir.resolve("hardlink.img"), a);
        Path log = dir.resolve("m.log");

        for (Path again : List.of(dir.resolve("sub/../a.img"), dir.resolve("./a.img"), symlink, hardLink)) {
            Throwable t = refusal(settings(log, null, false, a, again), a);
            assertThat(t).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("mirror 'm': leg 1 " + again + " cannot be used: ")
                    .hasMessageContaining("is leg 0 of mirror m");
            assertThat(log).as("no log made for a refused mirror").doesNotExist();
        }
    }

    @Test
    void theSameDeviceServiceTwiceIsRefused() throws Exception {
        AtomicInteger released = new AtomicInteger();
        MemoryBlockDevice remote = new MemoryBlockDevice("remote", SECTORS);
        // One service registered under two names (a multi-valued kcopyd.device.name).
        services.put("x", new OpenedMirror.Lease(remote, 7L, released::incrementAndGet));
        services.put("y", new OpenedMirror.Lease(remote, 7L, released::incrementAndGet));
        Path log = dir.resolve("m.log");

        Throwable t = catchThrowable(() -> open(settings(log, null, false, "service:x", "service:y")));

        assertThat(t).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("mirror 'm': leg 1 'service:y' is the device service of leg 0 already");
        assertThat(released).as("both services given back").hasValue(2);
        assertThat(log).doesNotExist();
    }

    @Test
    void anUnrelatedFileIsNeitherAdoptedNorWrittenUnlessFormatIsAsked() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 5));
        Path b = file("b.img", random(SECTORS * 512, 6));
        for (byte[] content : List.of(random(64 * 1024, 7), new byte[64 * 1024], random(100, 8), new byte[0])) {
            Path notes = file("notes.bin", content);

            Throwable t = refusal(settings(notes, null, false, a, b), notes, a, b);

            assertThat(t).isInstanceOf(IllegalArgumentException.class).hasMessage("mirror 'm': " + notes
                    + " is not a kcopyd region log (it has no region log header); refusing to use it (format=true "
                    + "overwrites it with a new log that resyncs every leg from leg 0)");
        }
    }

    /** H48-6: a log cut short was said to hold no region log header; it is a damaged log, and nothing is written. */
    @Test
    void aLogCutShortIsRefusedAsADamagedLog() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 12));
        Path b = file("b.img", random(SECTORS * 512, 13));
        Path log = dir.resolve("m.log");
        UUID id = started(open(settings(log, null, true, a, b))).regionLogId();
        closeAll();
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(log,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(4096);
        }

        Throwable t = refusal(settings(log, id, false, a, b), log, a, b);

        assertThat(t).isInstanceOf(IllegalArgumentException.class).hasMessage("mirror 'm': " + log + " has a damaged "
                + "region log header (copy 1: cut short: the file has 4096 bytes, fewer than a region log's header and "
                + "bitmap take; copy 2: not read); refusing to use it (format=true overwrites it with a new log that "
                + "resyncs every leg from leg 0)");
    }

    @Test
    void formatMakesANewLogOverAnExistingFileWhichTheNextOpenAdoptsByItsIdentity() throws Exception {
        byte[] data = random(SECTORS * 512, 9);
        Path a = file("a.img", data);
        Path b = file("b.img", random(SECTORS * 512, 10));
        Path notes = file("notes.bin", random(64 * 1024, 11));

        UUID id = started(open(settings(notes, null, true, a, b))).regionLogId();
        assertThat(Files.readAllBytes(b)).as("leg 0 copied to leg 1").isEqualTo(data);
        closeAll();

        MirrorVolume again = started(open(settings(notes, id, false, a, b)));
        assertThat(again.regionLogId()).isEqualTo(id);
        assertThat(again.status().regionsResynced()).as("adopted: nothing to resync").isZero();
        closeAll();

        // format=true with the log's own identity adopts it: format is for a file that is not a region log.
        MirrorVolume third = started(open(settings(notes, id, true, a, b)));
        assertThat(third.regionLogId()).isEqualTo(id);
        assertThat(third.status().regionsResynced()).isZero();
        closeAll();

        // Without its identity, or with another, format=true is refused: a region log is never formatted.
        assertThat(refusal(settings(notes, null, true, a, b), notes, a, b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(notes + " is the region log of mirror 'm' (regionLogId " + id + "; regions of 64 "
                        + "sectors, a mirror of 4096 sectors, legs [" + a + " IN_SYNC, " + b + " IN_SYNC]), and the "
                        + "configuration names no regionLogId, so it is not adopted; a kcopyd region log is never "
                        + "formatted, not even with format=true (--format): set regionLogId=" + id + " (--log-id " + id
                        + ") to adopt it, or delete " + notes + " yourself to start afresh");
        UUID other = UUID.randomUUID();
        assertThat(refusal(settings(notes, other, true, a, b), notes, a, b))
                .hasMessageContaining("the configuration names regionLogId " + other + ", so it is not adopted");
    }

    @Test
    void formatOverwritesAnyFileThatHoldsNoKcopydRegionLog() throws Exception {
        byte[] data = random(SECTORS * 512, 30);
        Path a = file("a.img", data);
        Path b = file("b.img", random(SECTORS * 512, 31));
        Path log = dir.resolve("m.log");
        started(open(settings(log, null, false, a, b)));
        closeAll();
        damage(log, 0);
        damage(log, RegionLog.HEADER_SECTORS * 512L);
        ByteBuffer v1 = ByteBuffer.allocate(64 * 1024).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putLong(0, RegionLog.MAGIC).putInt(8, 1).putLong(RegionLog.HEADER_SECTORS * 512, RegionLog.MAGIC)
                .putInt(RegionLog.HEADER_SECTORS * 512 + 8, 1);
        Path older = file("v1.log", v1.array());

        for (Path file : List.of(log, older, file("zeros.log", new byte[64 * 1024]))) {
            Files.write(b, random(SECTORS * 512, 32));
            UUID id = UUID.randomUUID();
            MirrorVolume mirror = started(open(settings(file, id, true, a, b)));
            assertThat(mirror.regionLogId()).as(file.toString()).isEqualTo(id);
            assertThat(Files.readAllBytes(b)).as("every leg resynchronised from leg 0").isEqualTo(data);
            closeAll();
        }
    }

    @Test
    void aKcopydRegionLogThisKcopydCannotReadIsNeverFormatted() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 33));
        Path b = file("b.img", random(SECTORS * 512, 34));
        ByteBuffer v4 = ByteBuffer.allocate(64 * 1024).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putLong(0, RegionLog.MAGIC).putInt(8, RegionLog.VERSION + 1);
        Path newer = file("v4.log", v4.array());

        assertThat(refusal(settings(newer, null, true, a, b), newer, a, b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("mirror 'm': " + newer + " is not adopted: it holds a kcopyd region log this kcopyd cannot "
                        + "read (copy 1: version 4, newer than this kcopyd reads (version 3); copy 2: no region log "
                        + "header); a kcopyd region log is never formatted, not even with format=true (--format): delete "
                        + newer + " yourself to start afresh (a new log resyncs every other leg from leg 0: "
                        + "first make sure leg 0 holds the data)");

        Path log = dir.resolve("m.log");
        UUID id = started(open(settings(log, null, false, a, b))).regionLogId();
        closeAll();
        rewriteHeaders(log, h -> h.putInt(12, 100));
        assertThat(refusal(settings(log, id, true, a, b), log, a, b)).hasMessageContaining("inconsistent geometry under "
                + "a correct checksum").hasMessageContaining("regionLogId " + id).hasMessageContaining("never formatted");
    }

    /** Changes both header copies and gives them a correct checksum again, as a kcopyd would have written them. */
    private static void rewriteHeaders(Path log, java.util.function.Consumer<ByteBuffer> change) throws IOException {
        int bytes = RegionLog.HEADER_SECTORS * 512;
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(log,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            for (long at : new long[] {0, bytes}) {
                ByteBuffer h = ByteBuffer.allocate(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                ch.read(h, at);
                change.accept(h);
                h.putInt(28, 0);
                java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                crc.update(h.array());
                h.putInt(28, (int) crc.getValue());
                ch.write(h.clear(), at);
            }
        }
    }

    /** A file of {@link #SECTORS} random sectors starting with a COW store header (magic, version 3, identity). */
    private Path cowStore(String name, UUID id) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(random(SECTORS * 512, 40)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, KcopydHeaders.COW_STORE_MAGIC).putInt(8, 3).putLong(32, id.getMostSignificantBits())
                .putLong(40, id.getLeastSignificantBits());
        return file(name, b.array());
    }

    @Test
    void aSnapshotsCowStoreIsNeverFormattedAsARegionLog() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 41));
        Path b = file("b.img", random(SECTORS * 512, 42));
        UUID storeId = UUID.randomUUID();
        Path cow = cowStore("s64.cow", storeId);

        for (boolean format : new boolean[] {true, false}) {
            assertThat(refusal(settings(cow, null, format, a, b), cow, a, b)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("mirror 'm': " + cow + " holds a kcopyd COW store (cowStoreId " + storeId + "), not a "
                            + "region log; a kcopyd COW store is never made a region log, not even with format=true "
                            + "(--format), so nothing was written: name another file for the region log, or, if that "
                            + "store is no longer wanted, delete " + cow + " yourself (or zero its first sector)");
        }
    }

    @Test
    void aKcopydStoreOrLogIsNeverALegOfANewMirror() throws Exception {
        // Found by a hostile tester: a removed snapshot's store, made leg 1, was overwritten by the full resync.
        byte[] data = random(SECTORS * 512, 43);
        Path a = file("a.img", data);
        UUID storeId = UUID.randomUUID();
        Path cow = cowStore("s64.cow", storeId);
        Path log = dir.resolve("m.log");

        for (boolean format : new boolean[] {false, true}) {
            assertThat(refusal(settings(log, null, format, a, cow), a, cow)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("mirror 'm': leg 1 " + cow + " holds a kcopyd COW store (cowStoreId " + storeId + "); a "
                            + "kcopyd COW store or region log is never a mirror leg (the resync would overwrite it), so "
                            + "nothing was written: name another file, or, if that store is no longer wanted, delete "
                            + cow + " yourself (or zero its first sector)");
            assertThat(log).as("the log just made is removed").doesNotExist();
        }

        // A removed mirror's log as leg 0 (the source of every resync), known by either header copy.
        Path c = file("c.img", random(SECTORS * 512, 44));
        Path d = file("d.img", random(SECTORS * 512, 45));
        Path oldLog = dir.resolve("old.log");
        UUID oldId = started(open(new MirrorSettings("old", List.of(c.toString(), d.toString()), MirrorFixture.REGION,
                oldLog, null, false, List.of(), 0, 100))).regionLogId();
        closeAll();
        Path b = file("b.img", new byte[SECTORS * 512]);
        assertThat(refusal(settings(log, null, false, oldLog, b), oldLog, b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("mirror 'm': leg 0 " + oldLog + " holds the region log of mirror 'old' (regionLogId "
                        + oldId + "); a kcopyd COW store or region log is never a mirror leg (leg 0 is copied over the "
                        + "other legs and written by the mirror), so nothing was written: name another file, or, if "
                        + "that log is no longer wanted, delete " + oldLog + " yourself (or zero its first 64 sectors, "
                        + "its two header copies)");
        zero(oldLog, 0);
        assertThat(refusal(settings(log, null, true, a, oldLog), oldLog, a)).hasMessageStartingWith("mirror 'm': leg 1 "
                + oldLog + " holds the region log of mirror 'old' (regionLogId " + oldId + ")");
        assertThat(log).doesNotExist();
    }

    @Test
    void aKcopydStoreIsNeverALegThatReplacesAnotherButARecordedLegKeepsItsPlace() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 46));
        Path b = file("b.img", random(SECTORS * 512, 47));
        Path log = dir.resolve("m.log");
        // A snapshot may keep its COW store on a mirror: the legs, recorded as they are, keep their place.
        MirrorVolume mirror = started(open(settings(log, null, false, a, b)));
        UUID id = mirror.regionLogId();
        ByteBuffer header = ByteBuffer.allocate(512).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putLong(0, KcopydHeaders.COW_STORE_MAGIC).putInt(8, 3);
        mirror.device().write(0, header).toCompletableFuture().get(10, TimeUnit.SECONDS);
        closeAll();
        started(open(settings(log, id, false, a, b)));
        closeAll();

        // Leg 1 replaced by a removed snapshot's store: refused, the store, leg 0 and the log as they were.
        UUID storeId = UUID.randomUUID();
        Path cow = cowStore("s64.cow", storeId);
        for (boolean format : new boolean[] {false, true}) {
            assertThat(refusal(settings(log, id, format, a, cow), log, a, cow)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("mirror 'm': leg 1 " + cow + " holds a kcopyd COW store (cowStoreId "
                            + storeId + "); a kcopyd COW store or region log is never a mirror leg")
                    .hasMessageContaining("nothing was written");
        }
        assertThat(started(open(settings(log, id, false, a, b))).regionLogId()).isEqualTo(id);
    }

    @Test
    void anExistingLogIsAdoptedOnlyWhenTheConfigurationNamesItsIdentity() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 12));
        Path b = file("b.img", random(SECTORS * 512, 13));
        Path log = dir.resolve("m.log");
        UUID id = started(open(settings(log, null, false, a, b))).regionLogId();
        closeAll();

        assertThat(refusal(settings(log, null, false, a, b), log, a, b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(log + " is the region log of mirror 'm' (regionLogId " + id)
                .hasMessageContaining("and the configuration names no regionLogId, so it is not adopted")
                .hasMessageContaining("set regionLogId=" + id + " (--log-id " + id + ") to adopt it");
        UUID other = UUID.randomUUID();
        assertThat(refusal(settings(log, other, false, a, b), log, a, b))
                .hasMessageContaining("and the configuration names regionLogId " + other);

        assertThat(started(open(settings(log, id, false, a, b))).regionLogId()).isEqualTo(id);
    }

    @Test
    void aConfiguredIdentityWhoseLogIsMissingIsRefusedRatherThanStartingANewLog() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 14));
        Path b = file("b.img", random(SECTORS * 512, 15));
        Path log = dir.resolve("moved.log");

        Throwable t = refusal(settings(log, UUID.randomUUID(), false, a, b), a, b);

        assertThat(t).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no region log at " + log)
                .hasMessageContaining("refusing to start a new log, which would copy leg 0 over the other legs");
        assertThat(log).doesNotExist();
    }

    @Test
    void aLogOfAnotherGeometryIsRefused() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 16));
        Path b = file("b.img", random(SECTORS * 512, 17));
        Path log = dir.resolve("m.log");
        UUID id = started(open(settings(log, null, false, a, b))).regionLogId();
        closeAll();

        for (boolean format : new boolean[] {false, true}) {
            MirrorSettings larger = new MirrorSettings("m", List.of(a.toString(), b.toString()), 128, log, id, format,
                    List.of(), 0, 100);
            assertThat(refusal(larger, log, a, b)).hasMessage("mirror 'm': region log " + log + " has regions of 64 "
                    + "sectors, the configuration 128; a kcopyd region log is never formatted, not even with format=true "
                    + "(--format): give the mirror the legs and region size the log records, or delete " + log
                    + " yourself to start afresh (a new log resyncs every other leg from leg 0: "
                    + "first make sure leg 0 holds the data)");
        }

        Files.write(a, new byte[512 * 64], java.nio.file.StandardOpenOption.APPEND);
        Files.write(b, new byte[512 * 64], java.nio.file.StandardOpenOption.APPEND);
        for (boolean format : new boolean[] {false, true}) {
            assertThat(refusal(settings(log, id, format, a, b), log, a, b)).hasMessageContaining("describes a mirror of "
                    + "4096 sectors, the legs now give 4160 (a leg changed size); a kcopyd region log is never formatted");
        }
    }

    @Test
    void aLogInWhichNoConfiguredLegIsInSyncIsRefused() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 18));
        Path b = file("b.img", random(SECTORS * 512, 19));
        Path c = file("c.img", random(SECTORS * 512, 20));
        Path d = file("d.img", random(SECTORS * 512, 21));
        Path log = dir.resolve("m.log");
        UUID id = started(open(settings(log, null, false, a, b))).regionLogId();
        closeAll();

        for (boolean format : new boolean[] {false, true}) {
            Throwable t = refusal(settings(log, id, format, c, d), log, a, b, c, d);

            assertThat(t).hasMessageContaining("no leg of mirror 'm' is in sync according to its region log " + log)
                    .hasMessageContaining("refusing to guess which leg holds the data; a kcopyd region log is never "
                            + "formatted");
        }
    }

    /**
     * The case: leg 0 failed and leg 1 alone holds the newest data; the log's header is
     * damaged. Treating the log as new would copy stale leg 0 over leg 1.
     */
    @Test
    void aDamagedHeaderIsRefusedAndTheOnlyGoodLegIsNotOverwritten() throws Exception {
        byte[] data = random(SECTORS * 512, 22);
        Path a = dir.resolve("a.img");
        Path b = dir.resolve("b.img");
        Path log = dir.resolve("m.log");
        byte[] newest = staleLegZero(a, b, log, data);

        damage(log, 0);
        damage(log, RegionLog.HEADER_SECTORS * 512L);
        Throwable t = refusal(settings(log, MirrorFixture.LOG_ID, false, a, b), log, a, b);

        assertThat(t).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(log
                + " has a damaged region log header (copy 1: checksum mismatch; copy 2: checksum mismatch)");
        assertThat(Files.readAllBytes(b)).startsWith(newest);

        zero(log, 0);
        zero(log, RegionLog.HEADER_SECTORS * 512L);
        assertThat(refusal(settings(log, MirrorFixture.LOG_ID, false, a, b), log, a, b))
                .hasMessageContaining(log + " is not a kcopyd region log");
    }

    @Test
    void aHeaderWithOneDamagedCopyIsReadFromTheOther() throws Exception {
        byte[] data = random(SECTORS * 512, 23);
        Path a = dir.resolve("a.img");
        Path b = dir.resolve("b.img");
        Path log = dir.resolve("m.log");
        byte[] newest = staleLegZero(a, b, log, data);
        damage(log, 0);

        // One intact copy makes it a region log: never formatted, adopted only by its identity.
        assertThat(refusal(settings(log, null, true, a, b), log, a, b)).hasMessageContaining(log + " is the region log "
                + "of mirror 'm' (regionLogId " + MirrorFixture.LOG_ID).hasMessageContaining("never formatted");
        MirrorVolume mirror = started(open(settings(log, MirrorFixture.LOG_ID, true, a, b)));

        MirrorStatus status = mirror.status();
        assertThat(status.legs().get(0).state()).as("leg 0's failure survived").isEqualTo(LegState.FAILED);
        assertThat(status.legs().get(1).state()).isEqualTo(LegState.IN_SYNC);
        assertThat(read(mirror.device())).startsWith(newest);
        assertThat(Files.readAllBytes(b)).startsWith(newest);
    }

    /** Leaves leg 0 failed and stale, leg 1 holding {@code newest} at sector 0. */
    private byte[] staleLegZero(Path a, Path b, Path log, byte[] data) throws Exception {
        MirrorFixture.FailingLeg leg0 = new MirrorFixture.FailingLeg(fixture.leg(a, data));
        MirrorVolume mirror = fixture.mirror(log, List.of(a, b), List.of(leg0, fixture.leg(b, data.clone())));
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        leg0.failWritesFrom = 0;
        byte[] newest = random(8 * 512, 24);
        mirror.device().write(0, ByteBuffer.wrap(newest)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(mirror.status().legs().get(0).state()).isEqualTo(LegState.FAILED);
        fixture.closeDevices();
        return newest;
    }

    private static void damage(Path file, long at) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at + 600);
            f.write(random(64, at));
        }
    }

    private static void zero(Path file, long at) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            f.write(new byte[RegionLog.HEADER_SECTORS * 512]);
        }
    }

    @Test
    void aLegPathWithACommaStaysOneLeg() throws Exception {
        byte[] data = random(SECTORS * 512, 25);
        Path comma = file("x,y.img", data);
        Path b = file("b.img", new byte[SECTORS * 512]);

        MirrorVolume mirror = started(open(settings(dir.resolve("m.log"), null, false, comma, b)));

        assertThat(mirror.status().legs()).extracting(l -> l.path()).containsExactly(comma.toString(), b.toString());
        assertThat(Files.readAllBytes(b)).isEqualTo(data);
        assertThat(dir.resolve("x")).doesNotExist();
        assertThat(dir.resolve("y.img")).doesNotExist();
    }

    @Test
    void aMissingLegIsRefusedAndNoLogIsLeftBehind() throws Exception {
        Path a = file("a.img", random(SECTORS * 512, 26));
        Path log = dir.resolve("m.log");

        Throwable t = refusal(settings(log, null, false, a, dir.resolve("missing.img")), a);

        assertThat(t).isInstanceOf(IOException.class)
                .hasMessage("mirror 'm': leg 1 " + dir.resolve("missing.img") + " cannot be used: no such file "
                        + dir.resolve("missing.img"));
        assertThat(log).doesNotExist();
        Throwable noDirectory = refusal(settings(dir.resolve("nodir/m.log"), null, false, a,
                file("b.img", new byte[SECTORS * 512])), a);
        assertThat(noDirectory).hasMessage("mirror 'm': cannot create region log " + dir.resolve("nodir/m.log")
                + ": no such directory " + dir.resolve("nodir"));
    }

    @Test
    void aReadOnlyServiceLegIsRefused() throws Exception {
        BlockDevice readOnly = new MemoryBlockDevice("ro", SECTORS).readOnlyView();
        services.put("ro", new OpenedMirror.Lease(readOnly, 1L, () -> { }));
        Path a = file("a.img", random(SECTORS * 512, 27));

        assertThat(refusal(settings(dir.resolve("m.log"), null, false, a, "service:ro"), a))
                .hasMessage("mirror 'm': leg 1 'service:ro' is read-only");
    }
}
