package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;

/**
 * {@link CopyFlag#SPARSE} and {@link CopyFlag#SPARSE_ALWAYS} copies: holes and zeros first, last,
 * everywhere, nowhere and unaligned to the chunks, to a new (all-hole) destination, to destinations
 * that held random data with and without a write-zeroes command, in one job; each ends byte-identical
 * to the source, holes are not read, zeros do not become data in a new destination.
 */
class SparseCopyTest {

    /** Chunks of 256 KiB: 512 sectors. The source is 6000 sectors, not a whole number of chunks. */
    private static final int SUB_JOB_KIB = 256;
    private static final int CHUNK = SUB_JOB_KIB * 2;
    private static final long SIZE = 6000;
    private static final Duration WAIT = Duration.ofSeconds(20);

    private final List<Engine> engines = new ArrayList<>();

    @AfterEach
    void closeEngines() {
        engines.forEach(Engine::close);
    }

    private KcopydClient client() {
        Engine e = new Engine(EngineSettings.builder().subJobKiB(SUB_JOB_KIB).subJobsPerJob(4).build());
        engines.add(e);
        return e.createClient(1024);
    }

    private static CopyResult await(CompletionStage<CopyResult> stage) throws Exception {
        return stage.toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** A piece of a source layout: data, a hole, or zeros written as data. */
    record Piece(long sector, long count, char kind) {
    }

    static Stream<Arguments> layouts() {
        return Stream.of(
                Arguments.of("no holes", List.of(new Piece(0, SIZE, 'D'))),
                Arguments.of("all hole", List.of(new Piece(0, SIZE, 'H'))),
                Arguments.of("all zeros written", List.of(new Piece(0, SIZE, 'Z'))),
                Arguments.of("hole first", List.of(new Piece(0, 1500, 'H'), new Piece(1500, SIZE - 1500, 'D'))),
                Arguments.of("hole last", List.of(new Piece(0, 4500, 'D'), new Piece(4500, SIZE - 4500, 'H'))),
                Arguments.of("zeros first", List.of(new Piece(0, 1100, 'Z'), new Piece(1100, SIZE - 1100, 'D'))),
                Arguments.of("zeros last", List.of(new Piece(0, 3000, 'D'), new Piece(3000, SIZE - 3000, 'Z'))),
                Arguments.of("unaligned", List.of(new Piece(0, 37, 'D'), new Piece(37, 663, 'H'),
                        new Piece(700, 601, 'D'), new Piece(1301, 1599, 'Z'), new Piece(2900, 1, 'D'),
                        new Piece(2901, 5, 'H'), new Piece(2906, 3, 'Z'), new Piece(2909, 91, 'D'),
                        new Piece(3000, 2999, 'H'), new Piece(5999, 1, 'D'))));
    }

    static Stream<Arguments> layoutsAndModes() {
        return layouts().flatMap(a -> Stream.of(
                Arguments.of(a.get()[0], a.get()[1], CopyFlag.SPARSE),
                Arguments.of(a.get()[0], a.get()[1], CopyFlag.SPARSE_ALWAYS)));
    }

    private static HoleyDevice source(List<Piece> layout, long seed) {
        HoleyDevice src = new HoleyDevice("src", SIZE);
        Random random = new Random(seed);
        for (Piece p : layout) {
            if (p.kind() == 'D') {
                src.data(p.sector(), p.count(), random);
            } else if (p.kind() == 'Z') {
                src.writtenZeros(p.sector(), p.count());
            }
        }
        return src;
    }

    @ParameterizedTest(name = "{0}, {2}")
    @MethodSource("layoutsAndModes")
    void everyDestinationEndsByteIdenticalAndNewOnesStaySparse(String name, List<Piece> layout, CopyFlag mode)
            throws Exception {
        HoleyDevice src = source(layout, 1);
        src.store.jitter(7, 200);
        HoleyDevice fresh = new HoleyDevice("fresh", SIZE);
        HoleyDevice heldData = new HoleyDevice("held-data", SIZE).filledRandom(new Random(2));
        HoleyDevice heldDataNoZeroing = new HoleyDevice("held-data-no-zeroing", SIZE).filledRandom(new Random(3));
        heldDataNoZeroing.store.zeroCommand = false;
        heldData.store.jitter(11, 200);

        CopyResult r = await(client().copy(IoRegion.whole(src),
                List.of(IoRegion.whole(fresh), IoRegion.whole(heldData), IoRegion.whole(heldDataNoZeroing)),
                EnumSet.of(mode)));

        assertThat(r.isSuccess()).as(r.toString()).isTrue();
        assertThat(fresh.bytes()).isEqualTo(src.bytes());
        assertThat(heldData.bytes()).isEqualTo(src.bytes());
        assertThat(heldDataNoZeroing.bytes()).isEqualTo(src.bytes());
        assertThat(heldDataNoZeroing.sectorsPunched.get()).isZero();
        assertThat(fresh.sectorsPunched.get()).as("a new destination already reads as zeros").isZero();
        if (mode == CopyFlag.SPARSE_ALWAYS) {
            assertThat(src.holeSectorsRead.get()).as("holes are not read").isZero();
            // Only 4 KiB blocks with data become data, in the new destination and the punched one alike.
            for (HoleyDevice d : List.of(fresh, heldData)) {
                for (long s = 0; s < SIZE; s++) {
                    if (d.isAllocated(s)) {
                        assertThat(blockHasData(src, s)).as("%s sector %d is allocated", d.name(), s).isTrue();
                    }
                }
            }
        }
        // Either mode: a zero run covering whole chunks leaves them unallocated.
        for (long chunk = 0; chunk + CHUNK <= SIZE; chunk += CHUNK) {
            if (allZero(src, chunk, CHUNK)) {
                for (HoleyDevice d : List.of(fresh, heldData)) {
                    for (long s = chunk; s < chunk + CHUNK; s++) {
                        assertThat(d.isAllocated(s)).as("%s sector %d of a zero chunk", d.name(), s).isFalse();
                    }
                }
            }
        }
    }

    private static boolean blockHasData(HoleyDevice src, long sector) {
        long block = sector / 8 * 8;
        return !allZero(src, block, Math.min(8, SIZE - block));
    }

    private static boolean allZero(HoleyDevice d, long sector, long count) {
        for (byte b : d.store.bytes(sector, count)) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layouts")
    void withoutSparseTheCopyIsAsBefore(String name, List<Piece> layout) throws Exception {
        HoleyDevice src = source(layout, 4);
        HoleyDevice fresh = new HoleyDevice("fresh", SIZE);

        CopyResult r = await(client().copy(IoRegion.whole(src), List.of(IoRegion.whole(fresh)), Set.of()));

        assertThat(r.isSuccess()).isTrue();
        assertThat(fresh.bytes()).isEqualTo(src.bytes());
        assertThat(fresh.allocatedSectors()).as("every sector written").isEqualTo(SIZE);
        assertThat(src.extentCalls.get()).isZero();
        assertThat(fresh.extentCalls.get()).isZero();
    }

    @Test
    void aSourceThatDoesNotKnowItsHolesIsReadWholeAndItsZerosStillFound() throws Exception {
        HoleyDevice src = source(List.of(new Piece(0, 2048, 'D'), new Piece(2048, SIZE - 2048, 'H')), 5);
        src.answersExtents = false;
        HoleyDevice fresh = new HoleyDevice("fresh", SIZE);

        CopyResult r = await(client().copy(IoRegion.whole(src), List.of(IoRegion.whole(fresh)),
                Set.of(CopyFlag.SPARSE)));

        assertThat(r.isSuccess()).isTrue();
        assertThat(fresh.bytes()).isEqualTo(src.bytes());
        assertThat(src.holeSectorsRead.get()).isEqualTo(SIZE - 2048);
        assertThat(fresh.allocatedSectors()).isEqualTo(2048);
    }

    @Test
    void brokenFailedOrPartialExtentAnswersAreTakenAsDataAndTheCopyIsExact() throws Exception {
        for (int variant = 0; variant < 3; variant++) {
            HoleyDevice src = source(List.of(new Piece(0, 100, 'D'), new Piece(100, 2000, 'H'),
                    new Piece(2100, 900, 'D'), new Piece(3000, SIZE - 3000, 'H')), 6 + variant);
            HoleyDevice dst = new HoleyDevice("held-data", SIZE).filledRandom(new Random(9));
            src.badExtents = variant == 0;
            src.failExtents = variant == 1;
            src.maxRuns = variant == 2 ? 1 : Integer.MAX_VALUE;
            dst.badExtents = variant == 0;
            dst.failExtents = variant == 1;
            dst.maxRuns = variant == 2 ? 1 : Integer.MAX_VALUE;

            CopyResult r = await(client().copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)),
                    Set.of(CopyFlag.SPARSE_ALWAYS)));

            assertThat(r.isSuccess()).as("variant %d", variant).isTrue();
            assertThat(dst.bytes()).as("variant %d", variant).isEqualTo(src.bytes());
        }
    }

    @Test
    void regionsAtOffsetsCopyExactly() throws Exception {
        HoleyDevice src = source(List.of(new Piece(0, 333, 'H'), new Piece(333, 1000, 'D'), new Piece(1333, 3000, 'Z'),
                new Piece(4333, SIZE - 4333, 'D')), 10);
        HoleyDevice dst = new HoleyDevice("held-data", SIZE + 700).filledRandom(new Random(11));
        byte[] before = dst.bytes();

        CopyResult r = await(client().copy(IoRegion.of(src, 13, 5000), List.of(IoRegion.of(dst, 651, 5000)),
                Set.of(CopyFlag.SPARSE)));

        assertThat(r.isSuccess()).isTrue();
        byte[] after = dst.bytes();
        byte[] expected = before.clone();
        System.arraycopy(src.bytes(), 13 * 512, expected, 651 * 512, 5000 * 512);
        assertThat(after).isEqualTo(expected);
    }

    @Test
    void aFailedReadStopsTheJobOrUnderIgnoreErrorBecomesZeros() throws Exception {
        HoleyDevice src = source(List.of(new Piece(0, SIZE, 'D')), 12);
        src.store.failReadsAt(1000);
        HoleyDevice dst = new HoleyDevice("held-data", SIZE).filledRandom(new Random(13));

        CopyResult failed = await(client().copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)),
                Set.of(CopyFlag.SPARSE)));
        assertThat(failed.readError()).isTrue();
        assertThat(failed.readFailure()).get().asString().contains("injected read error");

        CopyResult ignored = await(client().copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)),
                Set.of(CopyFlag.SPARSE, CopyFlag.IGNORE_ERROR)));
        assertThat(ignored.readError()).isTrue();
        long chunk = 1000 / CHUNK * CHUNK;
        byte[] expected = src.bytes();
        java.util.Arrays.fill(expected, (int) chunk * 512, (int) (chunk + CHUNK) * 512, (byte) 0);
        assertThat(dst.bytes()).isEqualTo(expected);
    }

    @Test
    void aFailedWriteOrPunchSetsThatDestinationsBitOnly() throws Exception {
        HoleyDevice src = source(List.of(new Piece(0, 2000, 'D'), new Piece(2000, SIZE - 2000, 'H')), 14);
        HoleyDevice good = new HoleyDevice("good", SIZE).filledRandom(new Random(15));
        HoleyDevice badPunch = new HoleyDevice("bad-punch", SIZE).filledRandom(new Random(16));
        badPunch.store.failWritesAt(4000);

        CopyResult r = await(client().copy(IoRegion.whole(src), List.of(IoRegion.whole(good),
                IoRegion.whole(badPunch)), Set.of(CopyFlag.SPARSE)));

        assertThat(r.writeErrors()).isEqualTo(0b10L);
        assertThat(r.writeFailure(1)).get().asString().contains("injected write error at sector");
        assertThat(r.readError()).isFalse();
    }

    @Test
    void aSequentialDestinationGetsEveryWriteInOrder() throws Exception {
        HoleyDevice src = source(List.of(new Piece(0, 1000, 'D'), new Piece(1000, SIZE - 1000, 'H')), 17);
        HoleyDevice seq = new HoleyDevice("seq", SIZE);
        seq.store.sequentialOnly = true;

        CopyResult r = await(client().copy(IoRegion.whole(src), List.of(IoRegion.whole(seq)), Set.of(CopyFlag.SPARSE)));

        assertThat(r.isSuccess()).isTrue();
        assertThat(seq.bytes()).isEqualTo(src.bytes());
        assertThat(seq.allocatedSectors()).isEqualTo(SIZE);
        assertThat(src.extentCalls.get()).as("WRITE_SEQ turns sparse off").isZero();
    }

    @Test
    void aSparseCopyStuckOnItsSourcesExtentsIsAbortedAtCloseReportingEachDestinationFailedOnce() {
        Engine engine = new Engine(EngineSettings.builder().subJobKiB(SUB_JOB_KIB).build());
        KcopydClient client = engine.createClient(1024);
        HoleyDevice src = source(List.of(new Piece(0, SIZE, 'H')), 18);
        src.extentsGate = new CompletableFuture<>();
        HoleyDevice dst = new HoleyDevice("dst", SIZE);
        CompletableFuture<CopyResult> job = client.copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)),
                Set.of(CopyFlag.SPARSE)).toCompletableFuture();

        boolean clean = engine.close(Duration.ofMillis(300));

        assertThat(clean).isFalse();
        CopyResult r = job.getNow(null);
        assertThat(r).isNotNull();
        assertThat(r.writeErrors()).isEqualTo(1L);
        assertThat(r.writeFailure(0)).get().asString().contains("was closed before the job completed");
        src.extentsGate.complete(null);
        assertThat(((Client) client).workerThread().isAlive()).isFalse();
    }

    @Test
    void randomLayoutsRegionsAndDestinationsCopyExactly() throws Exception {
        KcopydClient client = client();
        for (long seed = 100; seed < 160; seed++) {
            Random random = new Random(seed);
            HoleyDevice src = new HoleyDevice("src", SIZE);
            long pos = 0;
            while (pos < SIZE) {
                long len = Math.min(SIZE - pos, 1 + random.nextInt(random.nextBoolean() ? 16 : 900));
                int kind = random.nextInt(3);
                if (kind == 0) {
                    src.data(pos, len, random);
                } else if (kind == 1) {
                    src.writtenZeros(pos, len);
                }
                pos += len;
            }
            src.maxRuns = 1 + random.nextInt(4);
            src.store.jitter(seed, 100);
            long start = random.nextInt(500);
            long count = 1 + random.nextInt((int) (SIZE - start - 1));
            HoleyDevice fresh = new HoleyDevice("fresh", SIZE);
            HoleyDevice held = new HoleyDevice("held", SIZE).filledRandom(random);
            held.store.zeroCommand = random.nextBoolean();
            long at = random.nextInt((int) (SIZE - count + 1));
            byte[] heldBefore = held.bytes();
            Set<CopyFlag> flags = random.nextBoolean() ? Set.of(CopyFlag.SPARSE) : Set.of(CopyFlag.SPARSE_ALWAYS);

            CopyResult r = await(client.copy(IoRegion.of(src, start, count),
                    List.of(IoRegion.of(fresh, at, count), IoRegion.of(held, at, count)), flags));

            assertThat(r.isSuccess()).as("seed %d: %s", seed, r).isTrue();
            byte[] piece = java.util.Arrays.copyOfRange(src.bytes(), (int) start * 512, (int) (start + count) * 512);
            assertThat(fresh.store.bytes(at, count)).as("seed %d", seed).isEqualTo(piece);
            byte[] expectedHeld = heldBefore.clone();
            System.arraycopy(piece, 0, expectedHeld, (int) at * 512, piece.length);
            assertThat(held.bytes()).as("seed %d: the held destination, inside and outside the region", seed)
                    .isEqualTo(expectedHeld);
        }
    }

    @Test
    void aLargeHoleIsAskedAboutOnceAndHandedOutInLargeChunks() throws Exception {
        long size = 65536;
        HoleyDevice src = new HoleyDevice("src", size).data(0, 100, new Random(19)).data(size - 8, 8, new Random(20));
        HoleyDevice fresh = new HoleyDevice("fresh", size);
        HoleyDevice held = new HoleyDevice("held", size).filledRandom(new Random(21));
        HoleyDevice heldNoZeroing = new HoleyDevice("held-no-zeroing", size).filledRandom(new Random(22));
        heldNoZeroing.store.zeroCommand = false;

        CopyResult r = await(client().copy(IoRegion.whole(src), List.of(IoRegion.whole(fresh), IoRegion.whole(held)),
                Set.of(CopyFlag.SPARSE)));
        CopyResult r2 = await(client().copy(IoRegion.whole(src), List.of(IoRegion.whole(heldNoZeroing)),
                Set.of(CopyFlag.SPARSE)));

        assertThat(r.isSuccess()).as(r.toString()).isTrue();
        assertThat(r2.isSuccess()).as(r2.toString()).isTrue();
        for (HoleyDevice d : List.of(fresh, held, heldNoZeroing)) {
            assertThat(d.bytes()).as(d.name()).isEqualTo(src.bytes());
        }
        // 128 chunks of 256 KiB: the first few ask, the hole after them goes out whole.
        assertThat(src.extentCalls.get()).isLessThan(16);
        assertThat(src.holeSectorsRead.get()).isLessThan(CHUNK * 8);
        assertThat(fresh.writeCalls.get() + fresh.zeroCalls.get()).isLessThan(16);
        assertThat(held.zeroCalls.get()).isLessThan(16);
        assertThat(held.allocatedSectors()).isLessThan(CHUNK * 8);
        assertThat(heldNoZeroing.sectorsPunched.get()).isZero();
    }

    /**
     * Issue 13: data ending a few sectors before a chunk's end, then a long hole (or long zeros
     * written as data), as in the sparse benchmarks' images. The hole's piece in that chunk is
     * shorter than {@link CopyFlag#SPARSE_MIN_RUN} but the hole is not: a new destination gets
     * no page the source's content does not need, in either mode.
     */
    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("longZeroRunsCutByChunks")
    void aLongZeroRunCutShortByAChunksEdgeAllocatesNothingInANewDestination(char kind, CopyFlag mode)
            throws Exception {
        // Chunks of 512 sectors; each data run ends 12 to 100 sectors before a chunk's end.
        HoleyDevice src = source(List.of(new Piece(0, 500, 'D'), new Piece(500, 1012, kind),
                new Piece(1512, 500, 'D'), new Piece(2012, 1400, kind), new Piece(3412, 100, 'D'),
                new Piece(3512, SIZE - 3512, kind)), 24);
        HoleyDevice fresh = new HoleyDevice("fresh", SIZE);

        CopyResult r = await(client().copy(IoRegion.whole(src), List.of(IoRegion.whole(fresh)), EnumSet.of(mode)));

        assertThat(r.isSuccess()).as(r.toString()).isTrue();
        assertThat(fresh.bytes()).isEqualTo(src.bytes());
        // Data runs of whole 4 KiB blocks but 500 = 62.5 blocks: the block holding sector 500 has data.
        long blocksWithData = 0;
        for (long s = 0; s < SIZE; s += 8) {
            if (blockHasData(src, s)) {
                blocksWithData += Math.min(8, SIZE - s);
            }
        }
        assertThat(fresh.allocatedSectors()).as("sectors allocated in the new destination")
                .isEqualTo(kind == 'H' ? 500 + 500 + 100 : blocksWithData);
    }

    static Stream<Arguments> longZeroRunsCutByChunks() {
        return Stream.of(Arguments.of('H', CopyFlag.SPARSE), Arguments.of('Z', CopyFlag.SPARSE),
                Arguments.of('H', CopyFlag.SPARSE_ALWAYS), Arguments.of('Z', CopyFlag.SPARSE_ALWAYS));
    }

    @Test
    void aDenseSourceIsAskedAboutOnce() throws Exception {
        HoleyDevice src = source(List.of(new Piece(0, SIZE, 'D')), 23);
        HoleyDevice fresh = new HoleyDevice("fresh", SIZE);

        CopyResult r = await(client().copy(IoRegion.whole(src), List.of(IoRegion.whole(fresh)), Set.of(CopyFlag.SPARSE)));

        assertThat(r.isSuccess()).isTrue();
        assertThat(fresh.bytes()).isEqualTo(src.bytes());
        assertThat(src.extentCalls.get()).as("one answer covers the region").isLessThanOrEqualTo(4);
        assertThat(fresh.extentCalls.get()).as("no zeros, nothing asked").isZero();
    }
}
