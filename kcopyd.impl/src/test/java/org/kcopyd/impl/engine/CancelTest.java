package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyCallback;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyJob;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.device.MemoryBlockDevice;

/**
 * {@link CopyJob}: progress and cancel. A cancelled job stops handing out chunks, lets those in
 * flight finish, gives its pages back and completes once, cancelled, naming its incomplete
 * destinations; the bytes past the stop point are untouched (destinations pre-filled with a
 * pattern show it). Jobs are stopped mid-way by {@link HoldingDevice}, never by timing.
 */
class CancelTest {

    /** Chunks of 64 KiB: 128 sectors. */
    private static final int SUB_JOB_KIB = 64;
    private static final int CHUNK = SUB_JOB_KIB * 2;
    /** 4 MiB: 64 chunks. */
    private static final long SIZE = 8192;
    private static final byte PATTERN = 0x5A;
    private static final Duration WAIT = Duration.ofSeconds(20);

    private final List<Engine> engines = new ArrayList<>();

    @AfterEach
    void closeEngines() {
        engines.forEach(Engine::close);
    }

    /** A client whose pages hold {@code pages / 16} chunks at once. */
    private KcopydClient client(int pages) {
        Engine engine = new Engine(EngineSettings.builder().subJobKiB(SUB_JOB_KIB).subJobsPerJob(4).build());
        engines.add(engine);
        return engine.createClient(pages);
    }

    private static MemoryBlockDevice random(String name, long sectors, long seed) {
        byte[] b = new byte[Math.toIntExact(sectors * BlockDevice.SECTOR_SIZE)];
        new Random(seed).nextBytes(b);
        MemoryBlockDevice d = new MemoryBlockDevice(name, sectors);
        d.write(0, ByteBuffer.wrap(b)).toCompletableFuture().join();
        return d;
    }

    private static MemoryBlockDevice patterned(String name, long sectors) {
        byte[] b = new byte[Math.toIntExact(sectors * BlockDevice.SECTOR_SIZE)];
        Arrays.fill(b, PATTERN);
        MemoryBlockDevice d = new MemoryBlockDevice(name, sectors);
        d.write(0, ByteBuffer.wrap(b)).toCompletableFuture().join();
        return d;
    }

    private static byte[] content(BlockDevice d) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(d.sizeInSectors() * BlockDevice.SECTOR_SIZE));
        d.read(0, b).toCompletableFuture().join();
        return b.array();
    }

    private static CopyResult result(CopyJob job) throws Exception {
        return job.result().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    private static void flush(KcopydClient client) throws Exception {
        client.flush().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    private static byte[] sector(byte[] content, int s) {
        return Arrays.copyOfRange(content, s * BlockDevice.SECTOR_SIZE, (s + 1) * BlockDevice.SECTOR_SIZE);
    }

    /**
     * Every sector in {@code changed} holds {@code expected}'s content, every other sector
     * {@code before}'s.
     */
    private static void assertOnly(byte[] actual, BitSet changed, byte[] expected, byte[] before, String what) {
        int sectors = actual.length / BlockDevice.SECTOR_SIZE;
        for (int s = 0; s < sectors; s++) {
            byte[] want = changed.get(s) ? sector(expected, s) : sector(before, s);
            assertThat(sector(actual, s)).as("%s sector %d (%s)", what, s, changed.get(s) ? "copied" : "untouched")
                    .isEqualTo(want);
        }
    }

    /** Counts the callback's calls and keeps its last arguments. */
    private static final class Calls implements CopyCallback<Object> {
        final AtomicInteger count = new AtomicInteger();
        volatile boolean readError;
        final AtomicLong writeErrors = new AtomicLong();

        @Override
        public void completed(boolean readError, long writeErrors, Object context) {
            this.readError = readError;
            this.writeErrors.set(writeErrors);
            count.incrementAndGet();
        }
    }

    @ParameterizedTest(name = "{0} destinations")
    @ValueSource(ints = {1, 3})
    void aCancelMidCopyStopsHandingOutChunksAndLeavesTheRestUntouched(int destinations) throws Exception {
        KcopydClient client = client(64);
        MemoryBlockDevice source = random("src", SIZE, 1);
        HoldingDevice src = new HoldingDevice(source, Set.of(HoldingDevice.Op.READ), 2);
        List<MemoryBlockDevice> dsts = new ArrayList<>();
        List<IoRegion> regions = new ArrayList<>();
        for (int i = 0; i < destinations; i++) {
            dsts.add(patterned("dst" + i, SIZE));
            regions.add(IoRegion.whole(dsts.get(i)));
        }
        byte[] before = content(dsts.get(0));
        Calls calls = new Calls();

        CopyJob job = client.copyJob(IoRegion.whole(src), regions, Set.of(), calls, null);
        assertThat(job.bytesTotal()).isEqualTo(SIZE * BlockDevice.SECTOR_SIZE);
        await().atMost(WAIT).until(() -> src.held() > 0);
        assertThat(job.isDone()).isFalse();
        assertThat(job.cancel()).as("the first cancel moves the job to cancelling").isTrue();
        assertThat(job.isCancelRequested()).isTrue();
        assertThat(job.cancel()).as("a second cancel changes nothing").isFalse();
        src.open();

        CopyResult r = result(job);
        flush(client);
        long all = (1L << destinations) - 1;
        assertThat(r.cancelled()).isTrue();
        assertThat(r.incompleteDestinations()).isEqualTo(all);
        assertThat(r.readError()).isFalse();
        assertThat(r.writeErrors()).as("nothing failed").isZero();
        assertThat(r.isSuccess()).isFalse();
        assertThat(job.isDone()).isTrue();
        assertThat(calls.count.get()).as("one callback").isEqualTo(1);
        assertThat(calls.writeErrors.get()).as("the callback is told the incomplete destinations").isEqualTo(all);
        assertThat(calls.readError).isFalse();

        BitSet read = src.readSectors();
        assertThat(read.cardinality() % CHUNK).isZero();
        assertThat(read.cardinality()).as("chunks read before the stop: the first 2 and those in flight")
                .isGreaterThanOrEqualTo(3 * CHUNK).isLessThan((int) SIZE / 2);
        assertThat(job.bytesDone()).as("every chunk handed out was written everywhere")
                .isEqualTo((long) read.cardinality() * BlockDevice.SECTOR_SIZE).isLessThan(job.bytesTotal());
        byte[] expected = content(source);
        for (int i = 0; i < destinations; i++) {
            assertOnly(content(dsts.get(i)), read, expected, before, "dst" + i);
        }
        assertThat(client.statistics().pagesInUse()).isZero();
        assertThat(client.statistics().jobsInFlight()).isZero();
        assertThat(job.cancel()).as("cancel after completion").isFalse();
        assertThat(result(job)).isSameAs(r);
    }

    @Test
    void aCancelledJobStillWaitingForPagesCompletesAtOnceWithNothingWritten() throws Exception {
        // One chunk's pages: the first job's held chunk holds them all, the second job waits.
        KcopydClient client = client(16);
        HoldingDevice gate = new HoldingDevice(random("a", SIZE, 2), Set.of(HoldingDevice.Op.READ), 0);
        MemoryBlockDevice destA = new MemoryBlockDevice("destA", SIZE);
        CopyJob first = client.copyJob(IoRegion.whole(gate), List.of(IoRegion.whole(destA)), Set.of(), null, null);
        await().atMost(WAIT).until(() -> gate.held() == 1);
        assertThat(client.statistics().pagesInUse()).isEqualTo(16);

        HoldingDevice destB = new HoldingDevice(patterned("destB", SIZE), Set.of(), 0);
        HoldingDevice srcB = new HoldingDevice(random("b", SIZE, 3), Set.of(), 0);
        Calls calls = new Calls();
        CopyJob second = client.copyJob(IoRegion.whole(srcB), List.of(IoRegion.whole(destB)),
                EnumSet.of(CopyFlag.FLUSH), calls, null);
        assertThat(client.statistics().jobsWaiting()).isEqualTo(1);
        assertThat(second.cancel()).isTrue();

        CopyResult r = result(second);
        assertThat(first.isDone()).as("completed while the first job still holds every page").isFalse();
        assertThat(r.cancelled()).isTrue();
        assertThat(r.incompleteDestinations()).isEqualTo(1);
        assertThat(second.bytesDone()).isZero();
        assertThat(srcB.readSectors().isEmpty()).as("nothing read").isTrue();
        assertThat(destB.writeRequests()).as("nothing written").isZero();
        assertThat(content(destB)).containsOnly(PATTERN);
        assertThat(calls.count.get()).isEqualTo(1);
        assertThat(calls.writeErrors.get()).isEqualTo(1);
        assertThat(client.statistics().jobsWaiting()).isZero();

        gate.open();
        CopyResult a = result(first);
        assertThat(a.isSuccess()).isTrue();
        assertThat(a.cancelled()).isFalse();
        assertThat(first.bytesDone()).isEqualTo(first.bytesTotal());
        assertThat(client.statistics().pagesInUse()).isZero();
    }

    @Test
    void aCancelAfterCompletionReturnsFalseAndChangesNothing() throws Exception {
        KcopydClient client = client(64);
        MemoryBlockDevice source = random("src", SIZE, 4);
        MemoryBlockDevice dest = patterned("dst", SIZE);
        Calls calls = new Calls();
        CopyJob job = client.copyJob(IoRegion.whole(source), List.of(IoRegion.whole(dest)), Set.of(), calls, null);
        CopyResult r = result(job);

        assertThat(job.cancel()).isFalse();
        assertThat(job.isCancelRequested()).isFalse();
        flush(client);
        assertThat(result(job)).isSameAs(r);
        assertThat(r.isSuccess()).isTrue();
        assertThat(r.cancelled()).isFalse();
        assertThat(r.incompleteDestinations()).isZero();
        assertThat(job.bytesDone()).isEqualTo(job.bytesTotal());
        assertThat(calls.count.get()).isEqualTo(1);
        assertThat(calls.writeErrors.get()).isZero();
        assertThat(content(dest)).isEqualTo(content(source));
        assertThat(client.statistics().jobsCompleted()).isEqualTo(1);
        assertThat(client.statistics().jobsFailed()).isZero();
    }

    @Test
    void aCancelledSparseCopyCountsItsHolesAsDoneAndLeavesTheRestUntouched() throws Exception {
        KcopydClient client = client(64);
        Random random = new Random(5);
        // A hole in the first quarter, data after it; the destination held data everywhere.
        long hole = SIZE / 4;
        HoleyDevice source = new HoleyDevice("src", SIZE).data(hole, SIZE - hole, random);
        HoleyDevice dest = new HoleyDevice("dst", SIZE).filledRandom(random);
        byte[] before = dest.bytes();
        // The holes are punched; the second data write and every later one are held.
        HoldingDevice held = new HoldingDevice(dest, Set.of(HoldingDevice.Op.WRITE), 1);

        CopyJob job = client.copyJob(IoRegion.whole(source), List.of(IoRegion.whole(held)),
                EnumSet.of(CopyFlag.SPARSE), null, null);
        await().atMost(WAIT).until(() -> held.held() > 0);
        // The hole's chunks are never held: they end, and count as done, while the data waits.
        await().atMost(WAIT).until(() -> job.bytesDone() >= hole * BlockDevice.SECTOR_SIZE);
        assertThat(job.isDone()).isFalse();
        assertThat(job.cancel()).isTrue();
        held.open();

        CopyResult r = result(job);
        assertThat(r.cancelled()).isTrue();
        assertThat(r.incompleteDestinations()).isEqualTo(1);
        BitSet written = held.writtenSectors();
        assertThat(written.nextClearBit(0)).as("the hole, punched, and the data up to the stop")
                .isGreaterThan((int) hole);
        assertThat(job.bytesDone()).as("holes and data chunks alike")
                .isEqualTo((long) written.cardinality() * BlockDevice.SECTOR_SIZE).isLessThan(job.bytesTotal());
        assertOnly(dest.bytes(), written, source.bytes(), before, "dst");
        assertThat(source.holeSectorsRead.get()).as("the hole was not read").isZero();
        assertThat(client.statistics().pagesInUse()).isZero();
    }

    @Test
    void aCancelledWriteSeqJobDropsTheChunksWaitingForTheirTurnAndFreesTheirPages() throws Exception {
        KcopydClient client = client(64);
        MemoryBlockDevice source = random("src", SIZE, 10);
        MemoryBlockDevice dest = patterned("dst", SIZE);
        byte[] before = content(dest);
        // The first chunk is written, the second's write is held: the chunks read after it wait their turn.
        HoldingDevice held = new HoldingDevice(dest, Set.of(HoldingDevice.Op.WRITE), 1);
        CopyJob job = client.copyJob(IoRegion.whole(source), List.of(IoRegion.whole(held)),
                EnumSet.of(CopyFlag.WRITE_SEQ), null, null);
        await().atMost(WAIT).until(() -> held.held() == 1 && client.statistics().pagesInUse() == 64);
        assertThat(job.cancel()).isTrue();
        held.open();

        CopyResult r = result(job);
        assertThat(r.cancelled()).isTrue();
        assertThat(r.incompleteDestinations()).isEqualTo(1);
        BitSet written = held.writtenSectors();
        assertThat(written.cardinality()).as("only the written chunk and the held one").isEqualTo(2 * CHUNK);
        assertThat(written.nextClearBit(0)).isEqualTo(2 * CHUNK);
        assertThat(job.bytesDone()).isEqualTo(2L * CHUNK * BlockDevice.SECTOR_SIZE);
        assertOnly(content(dest), written, content(source), before, "dst");
        assertThat(client.statistics().pagesInUse()).isZero();
    }

    @Test
    void aCancelledZeroJobStopsLikeACopy() throws Exception {
        KcopydClient client = client(64);
        MemoryBlockDevice dest = patterned("dst", SIZE);
        byte[] before = content(dest);
        HoldingDevice held = new HoldingDevice(dest, Set.of(HoldingDevice.Op.WRITE, HoldingDevice.Op.WRITE_ZEROES), 2);
        Calls calls = new Calls();

        CopyJob job = client.zeroJob(List.of(IoRegion.whole(held)), Set.of(), calls, null);
        assertThat(job.bytesTotal()).as("the destination region's length").isEqualTo(SIZE * BlockDevice.SECTOR_SIZE);
        await().atMost(WAIT).until(() -> held.held() > 0);
        assertThat(job.cancel()).isTrue();
        held.open();

        CopyResult r = result(job);
        flush(client);
        assertThat(r.cancelled()).isTrue();
        assertThat(r.incompleteDestinations()).isEqualTo(1);
        assertThat(calls.count.get()).isEqualTo(1);
        assertThat(calls.readError).isFalse();
        BitSet written = held.writtenSectors();
        assertThat(job.bytesDone()).isEqualTo((long) written.cardinality() * BlockDevice.SECTOR_SIZE)
                .isLessThan(job.bytesTotal()).isPositive();
        assertOnly(content(dest), written, new byte[before.length], before, "dst");
    }

    @Test
    void progressIsMonotonicAndEndsAtTheTotal() throws Exception {
        KcopydClient client = client(64);
        long sectors = 4 * SIZE;
        FaultyDevice source = new FaultyDevice("src", sectors).jitter(6, 300);
        FaultyDevice dest = new FaultyDevice("dst", sectors);
        AtomicLong atCallback = new AtomicLong(-1);
        CopyJob[] self = new CopyJob[1];
        Object lock = new Object();
        CopyJob job;
        synchronized (lock) {
            job = client.copyJob(IoRegion.whole(source), List.of(IoRegion.whole(dest)), Set.of(), (re, we, c) -> {
                synchronized (lock) {
                    atCallback.set(self[0].bytesDone());
                }
            }, null);
            self[0] = job;
        }
        List<Long> samples = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!job.isDone() && System.nanoTime() < deadline) {
            samples.add(job.bytesDone());
            Thread.onSpinWait();
        }
        CopyResult r = result(job);
        samples.add(job.bytesDone());

        assertThat(r.isSuccess()).isTrue();
        assertThat(samples).isSorted();
        assertThat(samples).allSatisfy(v -> assertThat(v).isBetween(0L, job.bytesTotal()));
        assertThat(samples.get(samples.size() - 1)).isEqualTo(sectors * BlockDevice.SECTOR_SIZE);
        assertThat(atCallback.get()).as("done when the callback runs").isEqualTo(job.bytesTotal());

        CopyJob zero = client.zeroJob(List.of(IoRegion.of(dest, 0, SIZE)), Set.of(), null, null);
        assertThat(result(zero).isSuccess()).isTrue();
        assertThat(zero.bytesDone()).isEqualTo(zero.bytesTotal()).isEqualTo(SIZE * BlockDevice.SECTOR_SIZE);
    }

    @Test
    void aCancelRacingTheEndGivesOneConsistentOutcome() throws Exception {
        KcopydClient client = client(64);
        int jobs = 100;
        long jobSectors = 2L * CHUNK;
        MemoryBlockDevice source = random("src", jobs * jobSectors, 7);
        MemoryBlockDevice dest = patterned("dst", jobs * jobSectors);
        byte[] before = content(dest);
        byte[] expected = content(source);
        Calls calls = new Calls();
        List<CopyJob> handles = new ArrayList<>();
        boolean[] cancelTaken = new boolean[jobs];
        Random random = new Random(8);
        for (int i = 0; i < jobs; i++) {
            CopyJob job = client.copyJob(IoRegion.of(source, i * jobSectors, jobSectors),
                    List.of(IoRegion.of(dest, i * jobSectors, jobSectors)), Set.of(), calls, null);
            handles.add(job);
            if (i % 2 == 1) {
                // Half the cancels come once the first chunk is done, near the job's end.
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (job.bytesDone() == 0 && !job.isDone() && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
            }
            for (int spin = random.nextInt(2000); spin > 0; spin--) {
                Thread.onSpinWait();
            }
            cancelTaken[i] = job.cancel();
        }
        flush(client);
        byte[] after = content(dest);
        for (int i = 0; i < jobs; i++) {
            CopyJob job = handles.get(i);
            CopyResult r = result(job);
            int from = Math.toIntExact(i * jobSectors * BlockDevice.SECTOR_SIZE);
            int to = Math.toIntExact((i + 1) * jobSectors * BlockDevice.SECTOR_SIZE);
            byte[] got = Arrays.copyOfRange(after, from, to);
            if (r.cancelled()) {
                assertThat(cancelTaken[i]).isTrue();
                assertThat(r.incompleteDestinations()).isEqualTo(1);
                assertThat(job.bytesDone()).isLessThan(job.bytesTotal());
                // Each chunk is either copied whole or untouched, and the done bytes say how many were copied.
                int copied = 0;
                for (int c = 0; c < 2; c++) {
                    int cf = c * CHUNK * BlockDevice.SECTOR_SIZE;
                    int ct = cf + CHUNK * BlockDevice.SECTOR_SIZE;
                    byte[] piece = Arrays.copyOfRange(got, cf, ct);
                    if (Arrays.equals(piece, Arrays.copyOfRange(expected, from + cf, from + ct))) {
                        copied++;
                    } else {
                        assertThat(piece).as("job %d chunk %d untouched", i, c)
                                .isEqualTo(Arrays.copyOfRange(before, from + cf, from + ct));
                    }
                }
                assertThat(job.bytesDone()).isEqualTo((long) copied * CHUNK * BlockDevice.SECTOR_SIZE);
            } else {
                assertThat(r.isSuccess()).as("job %d", i).isTrue();
                assertThat(r.incompleteDestinations()).isZero();
                assertThat(job.bytesDone()).isEqualTo(job.bytesTotal());
                assertThat(got).isEqualTo(Arrays.copyOfRange(expected, from, to));
            }
        }
        assertThat(calls.count.get()).as("one callback per job").isEqualTo(jobs);
        assertThat(client.statistics().jobsCompleted()).isEqualTo(jobs);
        assertThat(client.statistics().pagesInUse()).isZero();
    }

    @Test
    void closeWaitsForACancelledJobsChunksInFlight() throws Exception {
        KcopydClient client = client(64);
        HoldingDevice src = new HoldingDevice(random("src", SIZE, 9), Set.of(HoldingDevice.Op.READ), 0);
        MemoryBlockDevice dest = patterned("dst", SIZE);
        Calls calls = new Calls();
        CopyJob job = client.copyJob(IoRegion.whole(src), List.of(IoRegion.whole(dest)), Set.of(), calls, null);
        await().atMost(WAIT).until(() -> src.held() > 0);
        assertThat(job.cancel()).isTrue();

        Thread closer = new Thread(client::close, "closer");
        closer.start();
        await().atMost(WAIT).until(() -> closer.getState() == Thread.State.WAITING);
        assertThatThrownBy(() -> client.copyJob(IoRegion.whole(src), List.of(IoRegion.whole(dest)), Set.of(),
                null, null)).isInstanceOf(IllegalStateException.class).hasMessageContaining("is closed");
        assertThat(job.isDone()).as("its chunks in flight still hold their pages").isFalse();

        src.open();
        closer.join(WAIT.toMillis());
        assertThat(closer.isAlive()).isFalse();
        CopyResult r = result(job);
        assertThat(r.cancelled()).isTrue();
        assertThat(r.incompleteDestinations()).isEqualTo(1);
        assertThat(calls.count.get()).isEqualTo(1);
        assertThat(job.bytesDone()).isEqualTo((long) src.readSectors().cardinality() * BlockDevice.SECTOR_SIZE)
                .isPositive();
        assertThat(client.statistics().pagesInUse()).isZero();
    }
}
