package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kcopyd.snapshot.internal.SnapshotFixture.assertSameBytes;
import static org.kcopyd.snapshot.internal.SnapshotFixture.pattern;
import static org.kcopyd.snapshot.internal.SnapshotFixture.read;
import static org.kcopyd.snapshot.internal.SnapshotFixture.write;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.snapshot.SnapshotState;

class SnapshotTest {

    private static final int ORIGIN_SECTORS = 8192;
    private static final int CHUNK = 16;

    @TempDir
    Path dir;
    private final SnapshotFixture fixture = new SnapshotFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    private Origin origin(byte[] content) throws Exception {
        return fixture.origin(fixture.file(dir.resolve("origin.img"), content));
    }

    private CowStore store(String file, long sectors, int chunkSectors) throws Exception {
        return fixture.newStore(dir.resolve(file), sectors, chunkSectors, ORIGIN_SECTORS);
    }

    /**
     * Random origin writes, mirrored in {@code model}; up to 8 in flight at once, never two
     * overlapping ones (whose order, as on a disk, would be undefined).
     */
    static void randomWrites(BlockDevice target, byte[] model, int count, long seed) {
        Random r = new Random(seed);
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        java.util.BitSet busy = new java.util.BitSet();
        for (int i = 0; i < count; i++) {
            int sectors = 1 + r.nextInt(40);
            int sector = r.nextInt(ORIGIN_SECTORS - sectors);
            if (writes.size() == 8 || busy.get(sector, sector + sectors).cardinality() > 0) {
                writes.forEach(CompletableFuture::join);
                writes.clear();
                busy.clear();
            }
            busy.set(sector, sector + sectors);
            byte[] data = pattern(sectors * 512, r.nextLong());
            System.arraycopy(data, 0, model, sector * 512, data.length);
            writes.add(target.write(sector, java.nio.ByteBuffer.wrap(data)).toCompletableFuture());
        }
        writes.forEach(CompletableFuture::join);
    }

    @Test
    void theSnapshotShowsTheOriginAsItWasWhileTheOriginChanges() throws Exception {
        byte[] initial = pattern(ORIGIN_SECTORS * 512, 1);
        Origin origin = origin(initial);
        SnapshotVolume snap = origin.attach("s1", store("cow.img", 4 * ORIGIN_SECTORS, CHUNK));
        byte[] model = initial.clone();

        randomWrites(origin, model, 300, 2);

        assertSameBytes(read(snap.device()), initial, "snap.device() vs initial");
        assertSameBytes(read(origin), model, "origin vs model");
        assertThat(snap.chunksUsed()).isPositive().isLessThanOrEqualTo(ORIGIN_SECTORS / CHUNK);
    }

    @Test
    void severalSnapshotsOfOneOriginEachKeepTheirMoment() throws Exception {
        byte[] t0 = pattern(ORIGIN_SECTORS * 512, 3);
        Origin origin = origin(t0);
        SnapshotVolume a = origin.attach("a", store("a.cow", 4 * ORIGIN_SECTORS, CHUNK));
        byte[] model = t0.clone();
        randomWrites(origin, model, 100, 4);
        byte[] t1 = model.clone();
        SnapshotVolume b = origin.attach("b", store("b.cow", 4 * ORIGIN_SECTORS, 32));
        randomWrites(origin, model, 100, 5);

        assertSameBytes(read(a.device()), t0, "a.device() vs t0");
        assertSameBytes(read(b.device()), t1, "b.device() vs t1");
        assertSameBytes(read(origin), model, "origin vs model");
    }

    @Test
    void snapshotsAreWritableWithoutTouchingTheOrigin() throws Exception {
        byte[] initial = pattern(ORIGIN_SECTORS * 512, 6);
        Origin origin = origin(initial);
        SnapshotVolume snap = origin.attach("w", store("cow.img", 4 * ORIGIN_SECTORS, CHUNK));
        byte[] expected = initial.clone();
        byte[] partial = pattern(3 * 512, 7);
        byte[] whole = pattern(CHUNK * 512, 8);
        long bytesReadBefore = fixture.client.statistics().bytesRead();

        write(snap.device(), 5, partial);
        long afterPartial = fixture.client.statistics().bytesRead();
        write(snap.device(), 10 * CHUNK, whole);
        System.arraycopy(partial, 0, expected, 5 * 512, partial.length);
        System.arraycopy(whole, 0, expected, 10 * CHUNK * 512, whole.length);

        assertThat(afterPartial - bytesReadBefore).as("a partial write copies its chunk").isEqualTo(CHUNK * 512);
        assertThat(fixture.client.statistics().bytesRead()).as("a whole-chunk write copies nothing")
                .isEqualTo(afterPartial);
        assertSameBytes(read(snap.device()), expected, "snap.device() vs expected");
        assertSameBytes(read(origin), initial, "origin vs initial");
    }

    @Test
    void aSnapshotSurvivesReopening() throws Exception {
        byte[] initial = pattern(ORIGIN_SECTORS * 512, 9);
        Origin origin = origin(initial);
        CowStore store = store("cow.img", 4 * ORIGIN_SECTORS, CHUNK);
        origin.attach("p", store);
        byte[] model = initial.clone();
        randomWrites(origin, model, 200, 10);
        origin.device().close();
        store.device().close();

        Origin reopened = fixture.origin(fixture.open(dir.resolve("origin.img")));
        CowStore again = fixture.reopenStore(dir.resolve("cow.img"));
        SnapshotVolume snapshot = reopened.attach("p", again);

        assertThat(again.id()).isEqualTo(store.id());
        assertSameBytes(read(snapshot.device()), initial, "the reopened snapshot vs initial");
        assertSameBytes(read(reopened), model, "reopened vs model");
    }

    @Test
    void aFullCowStoreInvalidatesTheSnapshotButNotTheOrigin() throws Exception {
        byte[] initial = pattern(ORIGIN_SECTORS * 512, 11);
        Origin origin = origin(initial);
        // 40 chunks: header, one metadata chunk, 38 data chunks.
        SnapshotVolume snap = origin.attach("small", store("cow.img", 40 * CHUNK, CHUNK));
        assertThat(snap.chunksCapacity()).isEqualTo(38);
        byte[] model = initial.clone();

        randomWrites(origin, model, 200, 12);

        assertThat(snap.state()).isEqualTo(SnapshotState.INVALID);
        assertThat(snap.invalidReason()).get().asString().contains("COW store full: all 38 chunks are used");
        assertSameBytes(read(origin), model, "origin vs model");
        assertThatThrownBy(() -> read(snap.device())).isInstanceOf(CompletionException.class)
                .hasMessageContaining("snapshot 'small' is invalid: COW store full");
    }

    @Test
    void mergeRollsTheOriginBackWhileItStaysWritable() throws Exception {
        byte[] initial = pattern(ORIGIN_SECTORS * 512, 13);
        Origin origin = origin(initial);
        SnapshotVolume snap = origin.attach("m", store("cow.img", 4 * ORIGIN_SECTORS, CHUNK));
        byte[] model = initial.clone();
        randomWrites(origin, model, 300, 14);
        byte[] snapWrite = pattern(40 * 512, 15);
        write(snap.device(), 1000, snapWrite);
        byte[] target = initial.clone();
        System.arraycopy(snapWrite, 0, target, 1000 * 512, snapWrite.length);

        CompletableFuture<Void> merge = snap.merge().toCompletableFuture();
        assertSameBytes(read(origin), target, "the origin shows the snapshot from the start of the merge");
        byte[] during = pattern(8 * 512, 16);
        write(origin, 2000, during);
        System.arraycopy(during, 0, target, 2000 * 512, during.length);
        merge.get(30, TimeUnit.SECONDS);

        assertSameBytes(read(origin), target, "origin vs target");
        assertThat(snap.state()).isEqualTo(SnapshotState.ACTIVE);
        assertThat(snap.chunksUsed()).isZero();
        assertSameBytes(read(snap.device()), target, "a fresh snapshot of the merged origin");
    }

    @Test
    void aSnapshotHoldingNoChunksMergesAtOnce() throws Exception {
        byte[] initial = pattern(ORIGIN_SECTORS * 512, 19);
        Origin origin = origin(initial);
        SnapshotVolume snap = origin.attach("empty", store("cow.img", 4 * ORIGIN_SECTORS, CHUNK));

        CompletableFuture<Void> merge = snap.merge().toCompletableFuture();

        assertThat(merge).isCompleted();
        assertThat(snap.state()).isEqualTo(SnapshotState.ACTIVE);
        assertThat(snap.store.isMerging()).isFalse();
        assertSameBytes(read(origin), initial, "origin vs initial");
        // And it is a snapshot as before: the next origin write is copied first.
        write(origin, 0, pattern(512, 20));
        assertSameBytes(read(snap.device()), initial, "snap.device() vs initial");
    }

    @Test
    void anInterruptedMergeOfAnEmptiedStoreFinishesWhenReopened() throws Exception {
        // A process killed after the last chunk was merged but before the merge was marked ended.
        byte[] initial = pattern(ORIGIN_SECTORS * 512, 21);
        Origin origin = origin(initial);
        CowStore store = store("cow.img", 4 * ORIGIN_SECTORS, CHUNK);
        store.setMerging(true);
        origin.device().close();
        store.device().close();

        Origin reopened = fixture.origin(fixture.open(dir.resolve("origin.img")));
        CowStore again = fixture.reopenStore(dir.resolve("cow.img"));
        SnapshotVolume snap = reopened.attach("empty", again);

        assertThat(snap.state()).isEqualTo(SnapshotState.ACTIVE);
        assertThat(CowStore.readHeader(again.device()).merging()).as("the end of the merge is recorded").isFalse();
    }

    @Test
    void whileItMergesTheSnapshotDeviceRefusesReadsInsteadOfShowingTheOriginsLaterWrites() throws Exception {
        // Found by H23: a daemon copy of snapshot:s during its merge 'completed' holding an origin write made
        // meanwhile (merged chunks are read from the origin, which the merge leaves writable).
        byte[] initial = pattern(ORIGIN_SECTORS * 512, 23);
        CowStore store = store("cow.img", 4 * ORIGIN_SECTORS, CHUNK);
        store.commit(3, store.allocate());
        store.setMerging(true);
        // No engine bound: the resumed merge cannot copy, so it is still running when read.
        Origin origin = new Origin(fixture.file(dir.resolve("origin.img"), initial),
                new org.kcopyd.api.ClientBinding(f -> f.createClient()), java.time.Duration.ofSeconds(30), 64);
        SnapshotVolume snap = origin.attach("mg", store);
        assertThat(snap.state()).isEqualTo(SnapshotState.MERGING);

        assertThatThrownBy(() -> read(snap.device())).isInstanceOf(CompletionException.class)
                .hasMessageContaining("snapshot 'mg' is merging into its origin and cannot be read: merged chunks are "
                        + "the origin's now, which takes writes; read the origin");
        assertThat(snap.state()).isEqualTo(SnapshotState.MERGING);
    }

    @Test
    void withoutAClientOriginWritesNeedingACopyAreRefusedAndTheSnapshotStaysIntact() throws Exception {
        byte[] initial = pattern(ORIGIN_SECTORS * 512, 17);
        Origin origin = new Origin(fixture.file(dir.resolve("origin.img"), initial),
                new org.kcopyd.api.ClientBinding(f -> f.createClient()), java.time.Duration.ofMillis(200), 64);
        SnapshotVolume snap = origin.attach("n", store("cow.img", 4 * ORIGIN_SECTORS, CHUNK));

        assertThatThrownBy(() -> write(origin, 0, pattern(512, 18))).hasMessageContaining(
                "origin write to " + dir.resolve("origin.img") + " refused: chunk 0 could not be copied")
                .hasMessageContaining("no KcopydClientFactory service became available within 200 ms");

        assertThat(snap.state()).isEqualTo(SnapshotState.ACTIVE);
        assertSameBytes(read(origin), initial, "origin vs initial");
        assertSameBytes(read(snap.device()), initial, "snap.device() vs initial");
    }
}
