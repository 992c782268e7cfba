package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kcopyd.snapshot.internal.SnapshotFixture.pattern;
import static org.kcopyd.snapshot.internal.SnapshotFixture.settings;
import static org.kcopyd.snapshot.internal.SnapshotFixture.sha256;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.UUID;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.FileClaims;
import org.kcopyd.device.KcopydHeaders;
import org.kcopyd.snapshot.internal.CowStore.CowHeader;

/**
 * An existing file is adopted as a COW store only when its header is the store the
 * configuration names; a store is made only where nothing exists, or, when format is asked for,
 * over a file that holds no kcopyd COW store: a kcopyd COW store is never formatted. Every
 * refusal leaves the file exactly as it was, and unclaimed.
 */
class CowStoreAdoptionTest {

    private static final long ORIGIN_SECTORS = 8192;
    private static final long COW_BYTES = 16384L * 512;

    @TempDir
    Path dir;
    private final SnapshotFixture fixture = new SnapshotFixture();
    private final CowStoreOpener opener = new CowStoreOpener(SnapshotFixture.FILES);

    private BlockDevice origin;

    @BeforeEach
    void makeOrigin() throws IOException {
        origin = fixture.file(dir.resolve("origin.img"), pattern((int) ORIGIN_SECTORS * 512, 9));
    }

    @AfterEach
    void close() {
        fixture.close();
    }

    private CowStore open(Path cow, UUID id, boolean format) throws IOException {
        CowStore store = opener.open(settings("s1", dir.resolve("origin.img"), cow, id, format), origin);
        fixture.track(store.device());
        return store;
    }

    /** Makes a store of 16-sector chunks holding origin chunks 3 and 7, closed again. */
    private UUID storeWithChunks(Path cow) throws IOException {
        CowStore store = open(cow, null, false);
        store.commit(3, store.allocate());
        store.commit(7, store.allocate());
        store.device().close();
        return store.id();
    }

    /** Asserts that opening is refused with a message containing every fragment, and that nothing changed. */
    private void assertRefused(Path cow, UUID id, boolean format, String... fragments) throws IOException {
        boolean existed = Files.exists(cow);
        String before = existed ? sha256(cow) : null;
        assertThatThrownBy(() -> open(cow, id, format)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContainingAll(fragments);
        if (existed) {
            assertThat(sha256(cow)).as("the refused file is untouched").isEqualTo(before);
            assertThat(FileClaims.holderOf(cow)).as("and no longer claimed").isEmpty();
        } else {
            assertThat(cow).as("nothing is created").doesNotExist();
        }
    }

    @Test
    void aNewStoreIsMadeWhereNothingExists() throws Exception {
        Path cow = dir.resolve("new.cow");

        CowStore store = open(cow, null, false);

        assertThat(Files.size(cow)).isEqualTo(COW_BYTES);
        CowHeader header = CowStore.readHeader(store.device());
        assertThat(header.mismatch(store.id(), 16, ORIGIN_SECTORS)).isNull();
        assertThat(store.used()).isZero();
        assertThat(FileClaims.holderOf(cow)).get().asString().isEqualTo(cow + " is the COW store of snapshot s1");
    }

    @Test
    void anExistingFileOfZerosIsNotAdopted() throws Exception {
        Path cow = Files.write(dir.resolve("zeros.bin"), new byte[(int) COW_BYTES]);

        assertRefused(cow, null, false, cow.toString(), "exists and the configuration names no cowStoreId",
                "its first sector is zeros", "format=true");
        assertRefused(cow, UUID.randomUUID(), false, cow.toString(), "is not its COW store",
                "no kcopyd COW store header");
    }

    @Test
    void anUnrelatedFileIsNotAdopted() throws Exception {
        Path cow = Files.write(dir.resolve("notes.bin"), pattern(100_000, 1));

        assertRefused(cow, null, false, "notes.bin", "no kcopyd magic number");
        assertRefused(cow, UUID.randomUUID(), false, "notes.bin", "no kcopyd magic number");
    }

    @Test
    void aStoreIsAdoptedOnlyWhenTheConfigurationNamesItsIdentity() throws Exception {
        Path cow = dir.resolve("s1.cow");
        UUID id = storeWithChunks(cow);

        assertRefused(cow, null, false, cow + " is kcopyd COW store " + id + " (origin of 8192 sectors, chunks of 16 "
                + "sectors), and the configuration names no cowStoreId, so it is not adopted", "set cowStoreId=" + id
                + " (--cow-store-id " + id + ") to reopen it, or delete " + cow + " yourself to start afresh");
        UUID other = UUID.randomUUID();
        assertRefused(cow, other, false, cow + " is kcopyd COW store " + id, "the configuration names cowStoreId "
                + other + ", so it is not adopted");

        CowStore adopted = open(cow, id, false);
        assertThat(adopted.id()).isEqualTo(id);
        assertThat(adopted.heldChunks()).containsExactlyInAnyOrder(3L, 7L);
    }

    @Test
    void aStoreOfAnotherShapeIsNotAdoptedNorFormatted() throws Exception {
        Path cow = dir.resolve("s1.cow");
        UUID id = storeWithChunks(cow);
        String before = sha256(cow);
        Path smaller = dir.resolve("smaller.img");
        BlockDevice smallerDevice = fixture.file(smaller, new byte[4096 * 512]);

        for (boolean format : new boolean[] {false, true}) {
            assertThatThrownBy(() -> opener.open(new SnapshotSettings("s1", dir.resolve("origin.img"), cow, 32, 16384,
                    64, SnapshotFixture.WAIT, id, format, null), origin)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(cow + " is its COW store " + id + ", but it was made with chunks of 16 "
                            + "sectors, not the configured 32, so it is not adopted; a kcopyd COW store is never "
                            + "formatted");
            assertThatThrownBy(() -> opener.open(settings("s1", smaller, cow, id, format), smallerDevice))
                    .hasMessageContaining("it belongs to an origin of 8192 sectors, not 4096");
        }

        assertThat(sha256(cow)).isEqualTo(before);
        assertThat(FileClaims.holderOf(cow)).isEmpty();
    }

    @Test
    void aDamagedOrForeignVersionHeaderIsNotAdopted() throws Exception {
        Path cow = dir.resolve("s1.cow");
        UUID id = storeWithChunks(cow);
        try (RandomAccessFile f = new RandomAccessFile(cow.toFile(), "rw")) {
            f.seek(24);
            f.write(0x55);
        }
        assertRefused(cow, id, false, "damaged (checksum mismatch)");

        ByteBuffer v1 = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN).putLong(0, CowHeader.MAGIC)
                .putInt(8, 1);
        Files.write(cow, v1.array());
        assertRefused(cow, id, false, "a kcopyd COW store of version 1; this bundle reads versions 2 to 3");
    }

    @Test
    void aMissingStoreThatTheConfigurationNamesIsNotMadeAnew() throws Exception {
        UUID id = UUID.randomUUID();
        Path cow = dir.resolve("gone.cow");

        assertRefused(cow, id, false, "its COW store " + cow + " (" + id + ") does not exist");
    }

    @Test
    void aSymbolicLinkToNothingIsNotFollowedToMakeAFile() throws Exception {
        Path target = dir.resolve("target.cow");
        Path link = Files.createSymbolicLink(dir.resolve("link.cow"), target);

        assertThatThrownBy(() -> open(link, null, false)).hasMessageContaining("is a symbolic link to nothing");
        assertThatThrownBy(() -> open(link, null, true)).hasMessageContaining("is a symbolic link to nothing");
        assertThat(target).doesNotExist();
    }

    @Test
    void formatOverwritesAnExistingFileOnlyWhenAskedAndThenOnlyOnce() throws Exception {
        Path cow = Files.write(dir.resolve("zeros.bin"), new byte[(int) COW_BYTES]);
        UUID id = UUID.randomUUID();

        CowStore made = open(cow, id, true);
        made.commit(5, made.allocate());
        made.device().close();
        assertThat(made.id()).isEqualTo(id);

        // Asked again (a restart with the same configuration): the store is the one named, adopted as it is.
        CowStore again = open(cow, id, true);
        assertThat(again.heldChunks()).containsExactly(5L);
        again.device().close();

        // Without its identity, or with another, format is refused: the store is not formatted again.
        assertRefused(cow, null, true, cow + " is kcopyd COW store " + id, "configuration names no cowStoreId",
                "a kcopyd COW store is never formatted, not even with format=true (--format): set cowStoreId=" + id
                + " (--cow-store-id " + id + ") to reopen it, or delete " + cow + " yourself to start afresh");
        UUID other = UUID.randomUUID();
        assertRefused(cow, other, true, cow + " is kcopyd COW store " + id, "configuration names cowStoreId " + other,
                "never formatted");
        CowStore still = open(cow, id, false);
        assertThat(still.heldChunks()).containsExactly(5L);
    }

    @Test
    void formatOverwritesAnyFileThatHoldsNoKcopydCowStore() throws Exception {
        Path cow = dir.resolve("s1.cow");
        storeWithChunks(cow);
        try (RandomAccessFile f = new RandomAccessFile(cow.toFile(), "rw")) {
            f.seek(24);
            f.write(0x55);
        }
        ByteBuffer v1 = ByteBuffer.allocate((int) COW_BYTES).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(0, CowHeader.MAGIC).putInt(8, 1);
        Path older = Files.write(dir.resolve("v1.cow"), v1.array());
        Path garbage = Files.write(dir.resolve("garbage.bin"), pattern((int) COW_BYTES, 3));

        for (Path file : new Path[] {cow, older, garbage}) {
            UUID id = UUID.randomUUID();
            CowStore fresh = open(file, id, true);
            assertThat(fresh.id()).as(file.toString()).isEqualTo(id);
            assertThat(fresh.used()).isZero();
            fresh.device().close();
            assertThat(open(file, id, false).id()).isEqualTo(id);
        }
    }

    /**
     * A file of {@code sectors} holding a mirror's region log header at sectors 0 and 32 as
     * kcopyd.mirror writes it (magic, version 3, identity, mirror name; recognised by its magic
     * number, so the rest of each copy does not matter here).
     */
    private Path regionLog(String name, long sectors, UUID id, boolean copy1) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) sectors * 512).order(ByteOrder.LITTLE_ENDIAN);
        for (int sector : copy1 ? new int[] {0, 32} : new int[] {32}) {
            int at = sector * 512;
            b.putLong(at, KcopydHeaders.REGION_LOG_MAGIC).putInt(at + 8, 3).putLong(at + 32, id.getMostSignificantBits())
                    .putLong(at + 40, id.getLeastSignificantBits()).putInt(at + 56, 2).put(at + 60, new byte[] {'m', '1'});
        }
        return Files.write(dir.resolve(name), b.array());
    }

    @Test
    void aMirrorsRegionLogIsNeverFormattedAsAStore() throws Exception {
        // Found by a hostile tester: snapshot create --format over a removed mirror's log (65 sectors: room for 4
        // chunks) wrote a COW store header over its copy 1; copy 2 survived, half store, half log.
        UUID logId = UUID.randomUUID();
        Path log = regionLog("m1.log", 65, logId, true);
        // Copy 1 damaged or overwritten: copy 2 still makes it a log.
        Path copy2 = regionLog("copy2.log", 65, logId, false);

        for (Path file : new Path[] {log, copy2}) {
            for (boolean format : new boolean[] {true, false}) {
                assertRefused(file, null, format, "snapshot 's1': " + file + " holds the region log of mirror 'm1' "
                        + "(regionLogId " + logId + "), not a COW store; a kcopyd region log is never made a COW store, "
                        + "not even with format=true (--format), so nothing was written: name another file for the COW "
                        + "store, or, if that log is no longer wanted, delete " + file + " yourself (or zero its first "
                        + "64 sectors, its two header copies)");
                assertRefused(file, UUID.randomUUID(), format, file + " holds the region log of mirror 'm1'");
            }
        }
    }

    @Test
    void aKcopydCowStoreThisBundleCannotReadIsNeverFormatted() throws Exception {
        Path cow = dir.resolve("s1.cow");
        UUID id = storeWithChunks(cow);
        ByteBuffer header = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(cow, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.read(header, 0);
            // Fields that make no sense under a correct checksum: written by kcopyd, not by accident.
            header.putInt(56, 100_000);
            CRC32C crc = new CRC32C();
            crc.update(header.array(), 0, 508);
            header.putInt(508, (int) crc.getValue());
            ch.write(header.clear(), 0);
        }

        assertRefused(cow, null, true, cow + " is not adopted: its kcopyd COW store header (identity " + id
                + ") has a correct checksum but a reason length of 100000", "never formatted", "delete " + cow
                + " yourself to start afresh");
        assertRefused(cow, id, true, "has a correct checksum but a reason length of 100000");

        Path newer = Files.write(dir.resolve("v4.cow"), ByteBuffer.allocate((int) COW_BYTES)
                .order(ByteOrder.LITTLE_ENDIAN).putLong(0, CowHeader.MAGIC).putInt(8, 4).array());
        assertRefused(newer, null, true, newer + " is not adopted: it holds a kcopyd COW store of version 4, newer "
                + "than this bundle reads (versions 2 to 3)", "never formatted");
    }

    @Test
    void formatLeavesNoOldEntriesBehindInAnyArea() throws Exception {
        Path cow = dir.resolve("s1.cow");
        CowStore old = open(cow, null, false);
        // Fill the first area (512 entries of 16-sector chunks) and start the second.
        for (long c = 0; c < 600; c++) {
            old.commit(c, old.allocate());
        }
        old.device().close();
        // Only a file that holds no valid store is formatted: the old store's header is damaged, its entries are not.
        try (RandomAccessFile f = new RandomAccessFile(cow.toFile(), "rw")) {
            f.seek(100);
            f.write(0x55);
        }

        CowStore fresh = open(cow, null, true);
        fresh.commit(9, fresh.allocate());
        fresh.device().close();

        BlockDevice device = fixture.open(cow);
        CowStore reopened = CowStore.adopt(device, CowStore.readHeader(device));
        assertThat(reopened.isValid()).isTrue();
        assertThat(reopened.heldChunks()).containsExactly(9L);
    }

    @Test
    void aStoreTruncatedToLessThanASectorIsNotCalledEmpty() throws Exception {
        // Found by H23: a store cut to its first 100 bytes was refused as 'it is empty'.
        Path cow = dir.resolve("cut.cow");
        UUID id = storeWithChunks(cow);
        try (FileChannel ch = FileChannel.open(cow, StandardOpenOption.WRITE)) {
            ch.truncate(100);
        }

        assertRefused(cow, id, false, cow + " is not its COW store " + id + ": it is shorter than one sector of 512 "
                + "bytes, so it holds no COW store header");
    }

    @Test
    void aFileTooSmallIsRefusedEvenWithFormat() throws Exception {
        Path cow = Files.write(dir.resolve("small.bin"), pattern(2 * 16 * 512, 2));

        assertRefused(cow, null, true, "holds 2 chunks of 16 sectors; at least 3 are needed");
    }

    @Test
    void aStoreInAMissingDirectoryIsRefusedSayingWhy() {
        Path cow = dir.resolve("nodir").resolve("s1.cow");

        assertThatThrownBy(() -> open(cow, null, false)).hasMessage("snapshot 's1': cannot create its COW store " + cow
                + ": no such directory " + dir.resolve("nodir"));
        assertThat(dir.resolve("nodir")).doesNotExist();
    }

    @Test
    void aDirectoryIsRefused() throws Exception {
        Path cow = Files.createDirectory(dir.resolve("adir"));

        assertThatThrownBy(() -> open(cow, null, true)).hasMessageContaining("is a directory");
        assertThat(cow).isEmptyDirectory();
    }
}
