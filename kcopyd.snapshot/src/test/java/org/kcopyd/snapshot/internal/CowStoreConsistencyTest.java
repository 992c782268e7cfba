package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kcopyd.snapshot.internal.SnapshotFixture.pattern;
import static org.kcopyd.snapshot.internal.SnapshotFixture.read;
import static org.kcopyd.snapshot.internal.SnapshotFixture.sha256;
import static org.kcopyd.snapshot.internal.SnapshotFixture.write;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.kcopyd.snapshot.SnapshotState;
import org.kcopyd.snapshot.internal.CowStore.CowHeader;

/**
 * Every COW entry is checked when the store is opened: an inconsistent store makes the snapshot
 * invalid with the reason, and nothing is merged or written.
 */
class CowStoreConsistencyTest {

    private static final int ORIGIN_SECTORS = 8192;
    private static final int CHUNK = 16;
    /** Chunks in the COW store: 4 times the origin. */
    private static final long COW_CHUNKS = 4L * ORIGIN_SECTORS / CHUNK;
    /** Entries per metadata area: 16 sectors of 16-byte entries. */
    private static final int PER_AREA = CHUNK * 512 / 16;

    @TempDir
    Path dir;
    private final SnapshotFixture fixture = new SnapshotFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    /**
     * A snapshot whose origin was then overwritten in chunks 0..3 (so slots 0..3 hold origin chunks
     * 0..3, in COW chunks 2..5), closed; then entry {@code slot} of area 0 is set to (old, new).
     */
    private byte[] snapshotWithEntry(int slot, long oldChunk, long newChunk) throws Exception {
        byte[] initial = pattern(ORIGIN_SECTORS * 512, 1);
        Origin origin = fixture.origin(fixture.file(dir.resolve("origin.img"), initial));
        CowStore store = fixture.newStore(dir.resolve("s.cow"), 4L * ORIGIN_SECTORS, CHUNK, ORIGIN_SECTORS);
        origin.attach("s", store);
        write(origin, 0, pattern(4 * CHUNK * 512, 2));
        assertThat(store.heldChunks()).containsExactlyInAnyOrder(0L, 1L, 2L, 3L);
        origin.device().close();
        store.device().close();
        setEntry(slot, oldChunk, newChunk);
        return initial;
    }

    private void setEntry(int slot, long oldChunk, long newChunk) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("s.cow").toFile(), "rw")) {
            f.seek(CHUNK * 512L + slot * 16L);
            f.write(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(oldChunk).putLong(newChunk).array());
        }
    }

    static Stream<Arguments> inconsistencies() {
        long originChunks = ORIGIN_SECTORS / CHUNK;
        return Stream.of(
                Arguments.of("a COW chunk past the store", 1, 1L, COW_CHUNKS + 5, "points past the store's "
                        + COW_CHUNKS + " chunks"),
                Arguments.of("a negative COW chunk", 1, 1L, -3L, "points past the store's"),
                Arguments.of("the first metadata chunk", 1, 1L, 1L, "points at a metadata chunk"),
                Arguments.of("the second metadata chunk", 1, 1L, 1L + PER_AREA + 1, "points at a metadata chunk"),
                Arguments.of("another slot's data chunk", 1, 1L, 5L, "points at another slot's chunk (its own is 3)"),
                Arguments.of("an origin chunk past the origin", 1, originChunks, 3L,
                        "names an origin chunk past the origin's " + originChunks + " chunks"),
                Arguments.of("an origin chunk held twice", 2, 1L, 4L, "holds origin chunk 1 again (entry 1 holds it too)"),
                Arguments.of("an origin chunk without a COW chunk", 1, 9L, 0L, "has no COW chunk"),
                Arguments.of("an entry in a free slot of the wrong chunk", 6, 40L, 7L,
                        "points at another slot's chunk (its own is 8)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("inconsistencies")
    void anInconsistentEntryInvalidatesTheSnapshotAndNothingIsMerged(String what, int slot, long oldChunk,
            long newChunk, String reason) throws Exception {
        snapshotWithEntry(slot, oldChunk, newChunk);
        String originBefore = sha256(dir.resolve("origin.img"));
        String cowBefore = sha256(dir.resolve("s.cow"));

        Origin origin = fixture.origin(fixture.open(dir.resolve("origin.img")));
        SnapshotVolume snapshot = origin.attach("s", fixture.reopenStore(dir.resolve("s.cow")));

        assertThat(snapshot.state()).isEqualTo(SnapshotState.INVALID);
        assertThat(snapshot.invalidReason()).get().asString().contains("is inconsistent: entry " + slot, reason);
        assertThat(snapshot.chunksUsed()).isZero();
        assertThatThrownBy(snapshot::merge).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("snapshot 's' is invalid and cannot be merged").hasMessageContaining(reason);
        assertThatThrownBy(() -> read(snapshot.device())).isInstanceOf(CompletionException.class)
                .hasMessageContaining(reason);
        assertThat(sha256(dir.resolve("origin.img"))).as("nothing merged").isEqualTo(originBefore);
        assertThat(sha256(dir.resolve("s.cow"))).as("the inconsistent store is left as found").isEqualTo(cowBefore);
    }

    @Test
    void anInterruptedMergeOfAnInconsistentStoreDoesNotResume() throws Exception {
        snapshotWithEntry(1, 1L, COW_CHUNKS + 5);
        try (var device = SnapshotFixture.FILES.open(dir.resolve("s.cow"), "a test file",
                org.kcopyd.api.DeviceOption.READ_WRITE)) {
            CowHeader h = CowStore.readHeader(device);
            // The header of a store whose merge had begun.
            ByteBuffer merging = new CowHeader(true, true, h.chunkSectors(), h.originSectors(), h.id(), h.areas(), null,
                    h.originId(), h.originPath(), null).encode();
            device.write(0, merging).toCompletableFuture().join();
        }
        String originBefore = sha256(dir.resolve("origin.img"));

        Origin origin = fixture.origin(fixture.open(dir.resolve("origin.img")));
        SnapshotVolume snapshot = origin.attach("s", fixture.reopenStore(dir.resolve("s.cow")));

        assertThat(snapshot.state()).isEqualTo(SnapshotState.INVALID);
        assertThat(read(origin)).as("the origin reads as itself, not half merged").isEqualTo(
                Files.readAllBytes(dir.resolve("origin.img")));
        assertThat(sha256(dir.resolve("origin.img"))).isEqualTo(originBefore);
    }

    @Test
    void aHeaderCountingMoreAreasThanTheStoreHoldsInvalidatesIt() throws Exception {
        snapshotWithEntry(0, 0L, 2L);
        try (var device = SnapshotFixture.FILES.open(dir.resolve("s.cow"), "a test file",
                org.kcopyd.api.DeviceOption.READ_WRITE)) {
            CowHeader h = CowStore.readHeader(device);
            device.write(0, new CowHeader(true, false, h.chunkSectors(), h.originSectors(), h.id(), 1000, null,
                    h.originId(), h.originPath(), null).encode()).toCompletableFuture().join();
        }

        Origin origin = fixture.origin(fixture.open(dir.resolve("origin.img")));
        SnapshotVolume snapshot = origin.attach("s", fixture.reopenStore(dir.resolve("s.cow")));

        assertThat(snapshot.invalidReason()).get().asString()
                .contains("its header counts 1000 metadata areas in use, the store has room for 4");
    }

    @Test
    void aConsistentStoreWithHolesOpensValidAndMerges() throws Exception {
        // A slot allocated but never committed (a copy cut short by a crash) is a hole, not an inconsistency.
        byte[] initial = snapshotWithEntry(1, 0L, 0L);
        byte[] expected = Files.readAllBytes(dir.resolve("origin.img"));
        System.arraycopy(initial, 0, expected, 0, CHUNK * 512);
        System.arraycopy(initial, 2 * CHUNK * 512, expected, 2 * CHUNK * 512, 2 * CHUNK * 512);
        Origin origin = fixture.origin(fixture.open(dir.resolve("origin.img")));
        SnapshotVolume snapshot = origin.attach("s", fixture.reopenStore(dir.resolve("s.cow")));

        assertThat(snapshot.state()).isEqualTo(SnapshotState.ACTIVE);
        assertThat(snapshot.store.heldChunks()).containsExactlyInAnyOrder(0L, 2L, 3L);
        snapshot.merge().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(read(origin)).as("chunks 0, 2 and 3 merged back; chunk 1 was never held").isEqualTo(expected);
    }
}
