package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.IoRegion;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * A chunk of a non-blocking source is started on the client's worker; when its read completes at
 * once, its writes are handed to the I/O threads. While the engine shuts its I/O threads down, the
 * client runs a refused task on the worker itself: the writes then run there, once, instead of
 * being handed on again and again (which would never end, or end in a StackOverflowError).
 */
class WorkerWritesTest {

    private static final int SUB_JOB_KIB = 64;

    /** A memory source that says its calls never block; its reads complete at once. */
    private static final class NonBlocking extends ForwardingDevice {
        NonBlocking(BlockDevice inner) {
            super(inner);
        }

        @Override
        public boolean isNonBlocking() {
            return true;
        }

        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            return inner.read(sector, dst);
        }
    }

    @Test
    void writesHandedOnFromTheWorkerRunThereOnceWhenTheIoThreadsRefuseThem() {
        AtomicInteger handedOn = new AtomicInteger();
        List<SubJob> done = new ArrayList<>();
        SubJob.Owner shuttingDown = new SubJob.Owner() {
            @Override
            public boolean onWorker() {
                return true;
            }

            @Override
            public void execute(Runnable task) {
                // As Client.execute does when the I/O threads refuse the task: it runs here, on the worker.
                handedOn.incrementAndGet();
                task.run();
            }

            @Override
            public void done(SubJob subJob) {
                done.add(subJob);
            }

            @Override
            public void countRead(int bytes) {
            }

            @Override
            public void countWritten(int bytes) {
            }

            @Override
            public void offloadFailed(Job job, int dest, Throwable cause) {
                throw new AssertionError("no offload here");
            }
        };
        PagePool pool = new PagePool(SUB_JOB_KIB / 4);
        ChunkScheduler scheduler = new ChunkScheduler(pool, new ZeroBuffer(SUB_JOB_KIB * 1024),
                new IoThrottle("unlimited"), shuttingDown, SUB_JOB_KIB, 1, new ChunkScheduler.Listener() {
                    @Override
                    public void started(Job job) {
                    }

                    @Override
                    public void ioDone(Job job) {
                    }
                });
        MemoryBlockDevice data = new MemoryBlockDevice("src", SUB_JOB_KIB * 2);
        byte[] bytes = new byte[SUB_JOB_KIB * 1024];
        java.util.Arrays.fill(bytes, (byte) 0x5a);
        data.write(0, ByteBuffer.wrap(bytes)).toCompletableFuture().join();
        MemoryBlockDevice dst = new MemoryBlockDevice("dst", SUB_JOB_KIB * 2);
        Job job = new Job(Job.Kind.COPY, IoRegion.whole(new NonBlocking(data)), new IoRegion[] {IoRegion.whole(dst)},
                false, false, false, null);

        scheduler.add(job);
        scheduler.dispatch();

        assertThat(done).as("the chunk read, written and handed back once").hasSize(1);
        assertThat(handedOn.get()).as("the writes were handed on once, not again from the task itself").isEqualTo(1);
        ByteBuffer written = ByteBuffer.allocate(bytes.length);
        dst.read(0, written).toCompletableFuture().join();
        assertThat(written.array()).isEqualTo(bytes);
    }
}
