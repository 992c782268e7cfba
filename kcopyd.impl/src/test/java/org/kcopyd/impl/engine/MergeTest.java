package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyJob;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.device.MemoryBlockDevice;

/**
 * Small jobs queued one behind another whose regions continue each other on the same devices
 * are copied by one read and one write per destination (see {@link ChunkScheduler}), each still
 * completing once, on its own; when that I/O fails, only the jobs whose sectors failed say so.
 * The small jobs are made to queue together deterministically: a first job holds every page of
 * the client, its read held by a {@link HoldingDevice} until they are all submitted.
 */
class MergeTest {

    /** The client's pages: 64 (256 KiB), one chunk of 512 sectors. */
    private static final int PAGES = 64;
    private static final int JOBS = 32;
    /** Each small job: 4 KiB. */
    private static final int JOB_SECTORS = 8;
    private static final long SIZE = 4096;
    private static final Duration WAIT = Duration.ofSeconds(20);

    private final List<Engine> engines = new ArrayList<>();

    @AfterEach
    void closeEngines() {
        engines.forEach(Engine::close);
    }

    private KcopydClient client() {
        Engine engine = new Engine(EngineSettings.defaults());
        engines.add(engine);
        return engine.createClient(PAGES);
    }

    private static byte[] random(long sectors, long seed) {
        byte[] b = new byte[Math.toIntExact(sectors * BlockDevice.SECTOR_SIZE)];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] content(BlockDevice d, long sector, long sectors) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(sectors * BlockDevice.SECTOR_SIZE));
        d.read(sector, b).toCompletableFuture().join();
        return b.array();
    }

    /** Starts a job that takes every page of the client and holds them until the returned device opens. */
    private static HoldingDevice holdAllPages(KcopydClient client) {
        HoldingDevice held = new HoldingDevice(new MemoryBlockDevice("held", PAGES * 8), Set.of(HoldingDevice.Op.READ), 0);
        client.copyJob(IoRegion.whole(held), List.of(IoRegion.whole(new MemoryBlockDevice("sink", PAGES * 8))),
                Set.of(), null, null);
        await().atMost(WAIT).until(() -> held.held() == 1);
        assertThat(client.statistics().pagesInUse()).isEqualTo(PAGES);
        return held;
    }

    /** Submits {@link #JOBS} small jobs, each {@code stride} sectors after the last, from {@code first} on. */
    private static List<CopyJob> smallJobs(KcopydClient client, BlockDevice src, BlockDevice[] dests, long first,
            long stride, Set<CopyFlag> flags) {
        List<CopyJob> jobs = new ArrayList<>();
        for (int i = 0; i < JOBS; i++) {
            long sector = first + i * stride;
            List<IoRegion> to = new ArrayList<>();
            for (BlockDevice d : dests) {
                to.add(IoRegion.of(d, sector, JOB_SECTORS));
            }
            jobs.add(client.copyJob(IoRegion.of(src, sector, JOB_SECTORS), to, flags, null, null));
        }
        return jobs;
    }

    private static List<CopyResult> results(List<CopyJob> jobs) throws Exception {
        List<CopyResult> results = new ArrayList<>();
        for (CopyJob job : jobs) {
            results.add(job.result().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS));
        }
        return results;
    }

    @Test
    void adjacentSmallJobsQueuedTogetherShareOneReadAndOneWritePerDestination() throws Exception {
        KcopydClient client = client();
        FaultyDevice src = new FaultyDevice("src", random(SIZE, 1));
        FaultyDevice a = new FaultyDevice("a", SIZE);
        FaultyDevice b = new FaultyDevice("b", SIZE);
        HoldingDevice held = holdAllPages(client);
        List<CopyJob> jobs = smallJobs(client, src, new BlockDevice[] {a, b}, 1000, JOB_SECTORS, Set.of());
        held.open();

        assertThat(results(jobs)).allMatch(CopyResult::isSuccess);
        assertThat(jobs).allMatch(j -> j.bytesDone() == JOB_SECTORS * BlockDevice.SECTOR_SIZE);
        long length = (long) JOBS * JOB_SECTORS;
        assertThat(src.reads).singleElement().satisfies(r -> {
            assertThat(r.sector()).isEqualTo(1000);
            assertThat(r.count()).isEqualTo(length);
        });
        for (FaultyDevice d : List.of(a, b)) {
            assertThat(d.writes).as("writes to " + d.name()).singleElement()
                    .satisfies(w -> assertThat(w.sector()).isEqualTo(1000));
            assertThat(content(d, 1000, length)).isEqualTo(content(src, 1000, length));
            assertThat(content(d, 1000 + length, SIZE - 1000 - length)).isEqualTo(new byte[Math.toIntExact(
                    (SIZE - 1000 - length) * BlockDevice.SECTOR_SIZE)]);
        }
    }

    @Test
    void jobsThatDoNotContinueEachOtherOrAskForMoreAreCopiedAlone() throws Exception {
        KcopydClient client = client();
        FaultyDevice src = new FaultyDevice("src", random(SIZE, 2));
        FaultyDevice dst = new FaultyDevice("dst", SIZE);
        HoldingDevice held = holdAllPages(client);
        // A sector between each job and the next.
        List<CopyJob> gaps = smallJobs(client, src, new BlockDevice[] {dst}, 0, JOB_SECTORS + 1, Set.of());
        // Continuing each other, but each asks for IGNORE_ERROR, whose zeros for a failed read are its own.
        List<CopyJob> ignoring = smallJobs(client, src, new BlockDevice[] {dst}, 2048, JOB_SECTORS,
                Set.of(CopyFlag.IGNORE_ERROR));
        held.open();

        assertThat(results(gaps)).allMatch(CopyResult::isSuccess);
        assertThat(results(ignoring)).allMatch(CopyResult::isSuccess);
        assertThat(src.reads).hasSize(2 * JOBS).allMatch(r -> r.count() == JOB_SECTORS);
        assertThat(dst.writes).hasSize(2 * JOBS);
        for (int i = 0; i < JOBS; i++) {
            long at = i * (JOB_SECTORS + 1L);
            assertThat(content(dst, at, JOB_SECTORS)).isEqualTo(content(src, at, JOB_SECTORS));
        }
    }

    @Test
    void jobsWithinOneDeviceAreCopiedAlone() throws Exception {
        // Merged, one job's read could cover sectors another one writes, before that write.
        KcopydClient client = client();
        byte[] initial = random(SIZE, 5);
        byte[] before = Arrays.copyOf(initial, JOBS * JOB_SECTORS * BlockDevice.SECTOR_SIZE);
        FaultyDevice disk = new FaultyDevice("disk", initial);
        HoldingDevice held = holdAllPages(client);
        List<CopyJob> jobs = new ArrayList<>();
        for (int i = 0; i < JOBS; i++) {
            long at = (long) i * JOB_SECTORS;
            jobs.add(client.copyJob(IoRegion.of(disk, at, JOB_SECTORS), List.of(IoRegion.of(disk, 2048 + at, JOB_SECTORS)),
                    Set.of(), null, null));
        }
        held.open();

        assertThat(results(jobs)).allMatch(CopyResult::isSuccess);
        assertThat(disk.reads).hasSize(JOBS).allMatch(r -> r.count() == JOB_SECTORS);
        assertThat(content(disk, 2048, (long) JOBS * JOB_SECTORS)).isEqualTo(before);
    }

    @Test
    void aFailedMergedWriteIsReportedOnlyByTheJobWhoseSectorsFailed() throws Exception {
        KcopydClient client = client();
        FaultyDevice src = new FaultyDevice("src", random(SIZE, 3));
        FaultyDevice good = new FaultyDevice("good", SIZE);
        // In the 6th job (index 5): sectors 40..47 of the run starting at 0.
        FaultyDevice bad = new FaultyDevice("bad", SIZE).failWritesAt(5 * JOB_SECTORS + 3);
        HoldingDevice held = holdAllPages(client);
        List<CopyJob> jobs = smallJobs(client, src, new BlockDevice[] {good, bad}, 0, JOB_SECTORS, Set.of());
        held.open();

        List<CopyResult> results = results(jobs);
        for (int i = 0; i < JOBS; i++) {
            CopyResult r = results.get(i);
            if (i == 5) {
                assertThat(r.readError()).isFalse();
                assertThat(r.writeErrors()).as("job 5: only the second destination failed").isEqualTo(0b10);
            } else {
                assertThat(r.isSuccess()).as("job " + i + ", a neighbour of the failed sectors").isTrue();
            }
        }
        assertThat(bad.writes.get(0).count()).as("the merged write came first").isEqualTo((long) JOBS * JOB_SECTORS);
        for (int i = 0; i < JOBS; i++) {
            long at = (long) i * JOB_SECTORS;
            assertThat(content(good, at, JOB_SECTORS)).isEqualTo(content(src, at, JOB_SECTORS));
            if (i != 5) {
                assertThat(content(bad, at, JOB_SECTORS)).as("job " + i + " on the failing destination")
                        .isEqualTo(content(src, at, JOB_SECTORS));
            }
        }
    }

    @Test
    void aJobCancelledWhileItRidesAFailedMergeIsCopiedAloneAndCountedOnce() throws Exception {
        // Alone, a cancel after a job's only chunk was handed out changes nothing: merged, the same.
        KcopydClient client = client();
        FaultyDevice data = new FaultyDevice("src", random(SIZE, 6));
        HoldingDevice src = new HoldingDevice(data, Set.of(HoldingDevice.Op.READ), 0);
        FaultyDevice a = new FaultyDevice("a", SIZE).failWritesAt(3);
        FaultyDevice b = new FaultyDevice("b", SIZE);
        HoldingDevice held = holdAllPages(client);
        CopyJob left = client.copyJob(IoRegion.of(src, 0, JOB_SECTORS),
                List.of(IoRegion.of(a, 0, JOB_SECTORS), IoRegion.of(b, 0, JOB_SECTORS)), Set.of(), null, null);
        CopyJob right = client.copyJob(IoRegion.of(src, JOB_SECTORS, JOB_SECTORS),
                List.of(IoRegion.of(a, JOB_SECTORS, JOB_SECTORS), IoRegion.of(b, JOB_SECTORS, JOB_SECTORS)), Set.of(),
                null, null);
        held.open();
        await().atMost(WAIT).until(() -> src.held() == 1);
        right.cancel();
        src.open();

        List<CopyResult> results = results(List.of(left, right));
        assertThat(a.writes.get(0).count()).as("merged").isEqualTo(2L * JOB_SECTORS);
        assertThat(results.get(0).writeErrors()).as("the left job's sector 3 on a").isEqualTo(0b01);
        assertThat(results.get(1).isSuccess()).as(results.get(1).toString()).isTrue();
        assertThat(results.get(1).cancelled()).isFalse();
        assertThat(right.bytesDone()).isEqualTo(JOB_SECTORS * BlockDevice.SECTOR_SIZE);
        for (FaultyDevice d : List.of(a, b)) {
            assertThat(content(d, JOB_SECTORS, JOB_SECTORS)).isEqualTo(content(data, JOB_SECTORS, JOB_SECTORS));
        }
        // The blocker's 256 KiB read and written once; the merged I/O not counted, its copies job by job are.
        long blocker = PAGES * 4096L;
        int job = JOB_SECTORS * BlockDevice.SECTOR_SIZE;
        assertThat(client.statistics().bytesRead()).isEqualTo(blocker + 2L * job);
        assertThat(client.statistics().bytesWritten()).as("left on b, right on a and b").isEqualTo(blocker + 3L * job);
    }

    @Test
    void aFailedMergedReadIsReportedOnlyByTheJobWhoseSectorsFailed() throws Exception {
        KcopydClient client = client();
        FaultyDevice src = new FaultyDevice("src", random(SIZE, 4)).failReadsAt(100 + 20 * JOB_SECTORS);
        FaultyDevice dst = new FaultyDevice("dst", SIZE);
        HoldingDevice held = holdAllPages(client);
        List<CopyJob> jobs = smallJobs(client, src, new BlockDevice[] {dst}, 100, JOB_SECTORS, Set.of());
        held.open();

        List<CopyResult> results = results(jobs);
        for (int i = 0; i < JOBS; i++) {
            CopyResult r = results.get(i);
            assertThat(r.readError()).as("job " + i + "'s read error").isEqualTo(i == 20);
            assertThat(r.writeErrors()).isZero();
        }
        assertThat(src.reads.get(0).count()).as("the merged read came first").isEqualTo((long) JOBS * JOB_SECTORS);
        byte[] untouched = new byte[JOB_SECTORS * BlockDevice.SECTOR_SIZE];
        for (int i = 0; i < JOBS; i++) {
            long at = 100 + (long) i * JOB_SECTORS;
            assertThat(content(dst, at, JOB_SECTORS)).as("job " + i)
                    .isEqualTo(i == 20 ? untouched : content(src, at, JOB_SECTORS));
        }
        assertThat(Arrays.equals(content(dst, 0, 100), new byte[100 * BlockDevice.SECTOR_SIZE])).isTrue();
    }
}
