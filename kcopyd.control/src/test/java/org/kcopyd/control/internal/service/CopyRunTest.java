package org.kcopyd.control.internal.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.CopyJob;
import org.kcopyd.api.CopyResult;
import org.kcopyd.control.JobView;

/**
 * A copy or zero job made of engine jobs: progress summed, cancel passed to each, the outcome's
 * state and destinations mapped from the results in the request's order, and the cleanup run
 * once whatever the outcome.
 */
class CopyRunTest {

    private static final Instant T0 = Instant.parse("2026-11-27T08:00:00Z");

    /** An engine job the test completes. */
    private static final class Engine implements CopyJob {
        final long total;
        final AtomicLong done = new AtomicLong();
        final AtomicBoolean cancelled = new AtomicBoolean();
        final CompletableFuture<CopyResult> result = new CompletableFuture<>();

        Engine(long total) {
            this.total = total;
        }

        @Override
        public long bytesTotal() {
            return total;
        }

        @Override
        public long bytesDone() {
            return done.get();
        }

        @Override
        public boolean cancel() {
            return cancelled.compareAndSet(false, true);
        }

        @Override
        public boolean isCancelRequested() {
            return cancelled.get();
        }

        @Override
        public boolean isDone() {
            return result.isDone();
        }

        @Override
        public CompletionStage<CopyResult> result() {
            return result;
        }
    }

    private final AtomicInteger cleanups = new AtomicInteger();

    private CopyRun run(List<CopyRun.Part> parts, List<String> names) {
        return run(parts, names, i -> null);
    }

    private CopyRun run(List<CopyRun.Part> parts, List<String> names, java.util.function.IntFunction<String> lostName) {
        CopyRun run = new CopyRun("7", "copy", "a -> b", T0, System::nanoTime, parts, names, lostName, List.of(),
                List.of());
        run.whenDone(() -> T0.plusSeconds(3), cleanups::incrementAndGet, Runnable::run);
        return run;
    }

    @Test
    void aCancelledCopyIsCancelledItsDestinationIncompleteAndCleanedUpOnce() {
        Engine e = new Engine(4096);
        CopyRun run = run(List.of(new CopyRun.Part(e, new int[] {0, 1})), List.of("/b", "snapshot:s1"));
        e.done.set(1024);
        JobView running = run.view();
        assertThat(running.state()).isEqualTo("running");
        assertThat(running.bytesDone()).isEqualTo(1024);
        assertThat(running.result()).isNull();

        run.cancel();
        assertThat(e.cancelled).isTrue();
        assertThat(run.view().state()).isEqualTo("cancelling");
        assertThat(cleanups).hasValue(0);
        e.result.complete(CopyResult.of(2, null, new Throwable[2], true, 0b11));

        JobView ended = run.view();
        assertThat(ended.state()).isEqualTo("cancelled");
        assertThat(ended.endedAt()).isEqualTo(T0.plusSeconds(3));
        assertThat(ended.bytesDone()).isEqualTo(1024);
        assertThat(ended.result().destinations()).containsExactly(new JobView.Destination("/b", false, null),
                new JobView.Destination("snapshot:s1", false, null));
        assertThat(cleanups).hasValue(1);
        run.cancel();
        assertThat(run.view().state()).isEqualTo("cancelled");
    }

    @Test
    void aCompleteDestinationWhoseNameLostTheFileFailsAndTheOthersStayComplete() {
        Engine e = new Engine(4096);
        List<Integer> asked = new java.util.ArrayList<>();
        CopyRun run = run(List.of(new CopyRun.Part(e, new int[] {0, 1, 2})), List.of("/a", "/b", "/c"), i -> {
            asked.add(i);
            return i == 1 ? "it was removed while kcopyd wrote it" : null;
        });
        Throwable[] writeErrors = new Throwable[3];
        writeErrors[2] = new IOException("EIO");
        e.result.complete(CopyResult.of(3, null, writeErrors));

        JobView ended = run.view();
        assertThat(ended.state()).isEqualTo("failed");
        assertThat(ended.result().destinations()).containsExactly(new JobView.Destination("/a", true, null),
                new JobView.Destination("/b", false, "it was removed while kcopyd wrote it; what was written is not "
                        + "at that name"),
                new JobView.Destination("/c", false, "EIO"));
        assertThat(asked).as("only complete destinations are asked").containsExactly(0, 1);
    }

    @Test
    void aCancelAfterTheLastChunkCompletesNormally() {
        Engine e = new Engine(4096);
        CopyRun run = run(List.of(new CopyRun.Part(e, new int[] {0})), List.of("/b"));
        run.cancel();
        e.done.set(4096);
        e.result.complete(CopyResult.of(1, null, new Throwable[1]));
        assertThat(run.view().state()).isEqualTo("completed");
        assertThat(run.view().result().destinations()).containsExactly(new JobView.Destination("/b", true, null));
    }

    @Test
    void zeroPartsAreMappedBackToTheRequestOrderAndAWriteErrorFails() {
        Engine small = new Engine(1024);
        Engine large = new Engine(8192);
        // Destinations 0 and 2 have one size, 1 another: two engine jobs.
        CopyRun run = run(List.of(new CopyRun.Part(small, new int[] {0, 2}), new CopyRun.Part(large, new int[] {1})),
                List.of("/a", "/b", "/c"));
        assertThat(run.bytesTotal()).isEqualTo(1024 + 8192);
        small.done.set(1024);
        large.done.set(512);
        assertThat(run.view().bytesDone()).isEqualTo(1536);
        small.result.complete(CopyResult.of(2, null, null, new IOException("no space left on /c")));
        assertThat(run.view().state()).as("one part still runs").isEqualTo("running");
        assertThat(cleanups).hasValue(0);
        large.result.complete(CopyResult.of(1, null, new Throwable[1]));
        JobView ended = run.view();
        assertThat(ended.state()).isEqualTo("failed");
        assertThat(ended.result().destinations()).containsExactly(new JobView.Destination("/a", true, null),
                new JobView.Destination("/b", true, null), new JobView.Destination("/c", false, "no space left on /c"));
        assertThat(cleanups).hasValue(1);
    }

    @Test
    void aReadErrorIsReportedAndEveryDestinationIncomplete() {
        Engine e = new Engine(4096);
        CopyRun run = run(List.of(new CopyRun.Part(e, new int[] {0})), List.of("/b"));
        e.result.complete(CopyResult.of(1, new IOException("bad sector 8"), new Throwable[1]));
        assertThat(run.view().state()).isEqualTo("failed");
        assertThat(run.view().result().readError()).isEqualTo("bad sector 8");
        assertThat(run.view().result().destinations().get(0).complete()).isFalse();
    }

    @Test
    void theEndIsHandledOnTheExecutorGiven() {
        Engine e = new Engine(512);
        java.util.concurrent.ExecutorService ends = java.util.concurrent.Executors.newSingleThreadExecutor(
                r -> new Thread(r, "ends-test"));
        try {
            AtomicReferenceThread seen = new AtomicReferenceThread();
            CopyRun run = new CopyRun("8", "zero", "zero /b", T0, System::nanoTime,
                    List.of(new CopyRun.Part(e, new int[] {0})), List.of("/b"), i -> null, List.of(),
                    List.of());
            run.whenDone(() -> T0, () -> seen.name = Thread.currentThread().getName(), ends);
            e.result.complete(CopyResult.of(1, null, new Throwable[1]));
            await().atMost(Duration.ofSeconds(10)).until(() -> seen.name != null);
            assertThat(seen.name).isEqualTo("ends-test");
            assertThat(run.view().state()).isEqualTo("completed");
        } finally {
            ends.shutdown();
        }
    }

    private static final class AtomicReferenceThread {
        volatile String name;
    }
}
