package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.IoRegion;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * The pages and io stages on their own, driven by hand as the worker drives them: no thread and
 * no device I/O runs, the test returns each dispatched sub-job itself.
 */
class ChunkSchedulerTest {

    private static final int SUB_JOB_KIB = 512;
    private static final int CHUNK_SECTORS = SUB_JOB_KIB * 2;
    private static final int CHUNK_PAGES = SUB_JOB_KIB / 4;

    private final List<Runnable> dispatched = new ArrayList<>();
    private final List<String> told = new ArrayList<>();
    private final List<Job> jobs = new ArrayList<>();
    private final ZeroBuffer zeros = new ZeroBuffer(SUB_JOB_KIB * 1024);
    private PagePool pool;

    private final SubJob.Owner owner = new SubJob.Owner() {
        @Override
        public boolean onWorker() {
            return false;
        }

        @Override
        public void execute(Runnable task) {
            dispatched.add(task);
        }

        @Override
        public void done(SubJob subJob) {
            throw new AssertionError("no I/O runs in this test");
        }

        @Override
        public void countRead(int bytes) {
        }

        @Override
        public void countWritten(int bytes) {
        }

        @Override
        public void offloadFailed(Job job, int dest, Throwable cause) {
            throw new AssertionError("no offload runs in this test");
        }
    };

    private final ChunkScheduler.Listener listener = new ChunkScheduler.Listener() {
        @Override
        public void started(Job job) {
            told.add("started " + jobs.indexOf(job));
        }

        @Override
        public void ioDone(Job job) {
            told.add("ioDone " + jobs.indexOf(job));
        }
    };

    @AfterEach
    void releasePool() {
        if (pool != null && pool.inUse() == 0) {
            pool.release();
        }
    }

    private ChunkScheduler scheduler(int pages, IoThrottle throttle) {
        pool = new PagePool(pages);
        return new ChunkScheduler(pool, zeros, throttle, owner, SUB_JOB_KIB, 8, listener);
    }

    private Job copy(long sectors) {
        FaultyDevice src = new FaultyDevice("src", sectors);
        FaultyDevice dst = new FaultyDevice("dst", sectors);
        Job job = new Job(Job.Kind.COPY, IoRegion.whole(src), new IoRegion[] {IoRegion.whole(dst)}, false, false,
                false, null);
        jobs.add(job);
        return job;
    }

    private static BlockDevice offloading(String name, long sectors) {
        return new ForwardingDevice(new FaultyDevice(name, 8)) {
            @Override
            public long sizeInSectors() {
                return sectors;
            }

            @Override
            public boolean canOffloadTo(BlockDevice destination) {
                return true;
            }

            @Override
            public boolean offloadBeatsPagesTo(BlockDevice destination) {
                return true;
            }
        };
    }

    private SubJob lastDispatched() {
        return (SubJob) dispatched.get(dispatched.size() - 1);
    }

    @Test
    void aSubJobWithoutPagesStaysAtTheHeadSoTheOldestJobProgresses() {
        ChunkScheduler scheduler = scheduler(CHUNK_PAGES, new IoThrottle("unlimited"));
        Job first = copy(2L * CHUNK_SECTORS);
        Job second = copy(CHUNK_SECTORS);
        scheduler.add(first);
        scheduler.add(second);

        assertThat(scheduler.dispatch()).as("no timer: only returning pages let the head go").isZero();
        assertThat(dispatched).hasSize(1);
        SubJob a = lastDispatched();
        assertThat(a.job).isSameAs(first);
        assertThat(a.offset).isZero();
        assertThat(pool.inUse()).isEqualTo(CHUNK_PAGES);
        assertThat(scheduler.dispatch()).isZero();
        assertThat(dispatched).as("nothing overtakes the head waiting for pages").hasSize(1);
        assertThat(told).containsExactly("started 0");

        scheduler.returned(a);
        assertThat(pool.inUse()).isZero();
        scheduler.dispatch();
        assertThat(dispatched).hasSize(2);
        SubJob b = lastDispatched();
        assertThat(b).as("the first job's other sub-job, which waited at the head").isNotSameAs(a);
        assertThat(b.job).isSameAs(first);
        assertThat(b.offset).isEqualTo(CHUNK_SECTORS);

        scheduler.returned(b);
        scheduler.dispatch();
        assertThat(dispatched).hasSize(3);
        SubJob c = lastDispatched();
        assertThat(c.job).isSameAs(second);
        assertThat(told).as("the first job's last queued sub-job found nothing left and retired")
                .containsExactly("started 0", "started 1", "ioDone 0");

        scheduler.returned(c);
        assertThat(told).containsExactly("started 0", "started 1", "ioDone 0", "ioDone 1");
        assertThat(pool.inUse()).isZero();
    }

    @Test
    void anAdvisedOffloadHasAtMost256MiBInFlightSharedByItsSubJobs() {
        ChunkScheduler scheduler = scheduler(CHUNK_PAGES, new IoThrottle("unlimited"));
        long sectors = 8L << 20;
        // Devices of 4 GiB that only say their size and advise offload: no I/O runs here.
        Job job = new Job(Job.Kind.COPY, IoRegion.whole(offloading("src", sectors)),
                new IoRegion[] {IoRegion.whole(offloading("dst", sectors))}, false, false, false, false, false,
                Offload.AUTO, null, null);
        jobs.add(job);
        scheduler.add(job);

        scheduler.dispatch();

        assertThat(dispatched).as("every sub-job has a chunk: they take no pages").hasSize(8);
        long inFlight = 0;
        for (Runnable r : dispatched) {
            SubJob subJob = (SubJob) r;
            assertThat(subJob.offloadOnly).isTrue();
            inFlight += subJob.sectors;
        }
        assertThat(inFlight).as("sectors in flight: 256 MiB, not 8 chunks of 256 MiB")
                .isEqualTo(ChunkScheduler.ADVISED_OFFLOAD_IN_FLIGHT);
        assertThat(pool.inUse()).isZero();
    }

    @Test
    void aThrottledHeadGivesItsPagesBackAndSaysWhenToWake() {
        IoThrottle throttle = new IoThrottle("slow");
        throttle.setBytesPerSecond(4096);
        ChunkScheduler scheduler = scheduler(2 * CHUNK_PAGES, throttle);
        scheduler.add(copy(2L * CHUNK_SECTORS));

        long before = System.nanoTime();
        long wakeAt = scheduler.dispatch();

        assertThat(dispatched).as("the first chunk books the bandwidth, the second must wait").hasSize(1);
        assertThat(wakeAt - before).isPositive().isLessThanOrEqualTo(IoThrottle.MAX_DELAY_NANOS + (System.nanoTime()
                - before));
        assertThat(pool.inUse()).as("only the dispatched chunk holds pages").isEqualTo(CHUNK_PAGES);

        scheduler.returned(lastDispatched());
        assertThat(pool.inUse()).isZero();
    }
}
