package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;

/** Admission, close and release of threads and buffers. */
class LifecycleTest {

    private static Set<String> kcopydThreads() {
        Set<String> names = new java.util.HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("kcopyd-") && t.isAlive()) {
                names.add(t.getName());
            }
        }
        return names;
    }

    @Test
    void submissionsWaitAtTheAdmissionBoundAndFailFastWithNoWait() throws Exception {
        Engine engine = new Engine(EngineSettings.builder().maxQueuedJobs(2).build());
        try {
            KcopydClient client = engine.createClient(16);
            GatedDevice gate = new GatedDevice(64);
            FaultyDevice dst = new FaultyDevice("dst", 64);
            client.copy(IoRegion.of(gate, 0, 8), List.of(IoRegion.of(dst, 0, 8)), Set.of());
            client.copy(IoRegion.of(gate, 8, 8), List.of(IoRegion.of(dst, 8, 8)), Set.of());

            assertThatThrownBy(() -> client.copy(IoRegion.of(gate, 16, 8), List.of(IoRegion.of(dst, 16, 8)),
                    EnumSet.of(CopyFlag.NO_WAIT))).isInstanceOf(RejectedExecutionException.class)
                    .hasMessageContaining("has 2 jobs outstanding, the admission limit is 2");

            AtomicReference<CompletableFuture<CopyResult>> third = new AtomicReference<>();
            Thread submitter = new Thread(() -> third.set(client.copy(IoRegion.of(gate, 16, 8),
                    List.of(IoRegion.of(dst, 16, 8)), Set.of()).toCompletableFuture()));
            submitter.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> submitter.getState() == Thread.State.WAITING);
            assertThat(third.get()).as("blocked at the bound").isNull();
            assertThat(client.statistics().jobsInFlight()).isEqualTo(2);

            gate.open();
            submitter.join(10_000);
            assertThat(third.get().get(10, TimeUnit.SECONDS).isSuccess()).isTrue();
        } finally {
            engine.close();
        }
    }

    @Test
    void aCallbackAtTheBoundIsRefusedInsteadOfDeadlocking() throws Exception {
        Engine engine = new Engine(EngineSettings.builder().maxQueuedJobs(1).build());
        try {
            KcopydClient client = engine.createClient(16);
            GatedDevice gate = new GatedDevice(64);
            FaultyDevice dst = new FaultyDevice("dst", 64);
            AtomicReference<Throwable> inCallback = new AtomicReference<>();
            CountDownLatch callbackRan = new CountDownLatch(1);
            PreparedHolder holder = new PreparedHolder();
            holder.prepared = client.prepareCallback((re, we, ctx) -> {
                try {
                    // The prepared completion's slot is free now; the copy takes it, the next must be refused.
                    client.copy(IoRegion.of(gate, 0, 8), List.of(IoRegion.of(dst, 0, 8)), Set.of());
                    client.copy(IoRegion.of(gate, 8, 8), List.of(IoRegion.of(dst, 8, 8)), Set.of());
                } catch (Throwable t) {
                    inCallback.set(t);
                }
                callbackRan.countDown();
            }, null);
            holder.prepared.complete(false, 0);

            assertThat(callbackRan.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(inCallback.get()).isInstanceOf(RejectedExecutionException.class);
            gate.open();
        } finally {
            engine.close();
        }
    }

    private static final class PreparedHolder {
        org.kcopyd.api.PreparedCompletion prepared;
    }

    @Test
    void admissionBoundHoldsUnderAFloodOfSmallJobs() throws Exception {
        Engine engine = new Engine(EngineSettings.builder().maxQueuedJobs(64).build());
        try {
            KcopydClient client = engine.createClient(64);
            FaultyDevice src = new FaultyDevice("src", 1024);
            FaultyDevice dst = new FaultyDevice("dst", 1024);
            AtomicInteger maxInFlight = new AtomicInteger();
            for (int i = 0; i < 20_000; i++) {
                long s = (i % 128) * 8L;
                client.copy(IoRegion.of(src, s, 8), List.of(IoRegion.of(dst, s, 8)), Set.of());
                maxInFlight.accumulateAndGet((int) client.statistics().jobsInFlight(), Math::max);
            }
            client.flush().toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertThat(maxInFlight.get()).isLessThanOrEqualTo(64);
            assertThat(client.statistics().jobsCompleted()).isEqualTo(20_000);
        } finally {
            engine.close();
        }
    }

    @Test
    void reconfiguringTheAdmissionBoundAppliesToExistingClients() throws Exception {
        Engine engine = new Engine(EngineSettings.builder().maxQueuedJobs(1).build());
        try {
            KcopydClient client = engine.createClient(16);
            GatedDevice gate = new GatedDevice(64);
            FaultyDevice dst = new FaultyDevice("dst", 64);
            client.copy(IoRegion.of(gate, 0, 8), List.of(IoRegion.of(dst, 0, 8)), Set.of());
            assertThatThrownBy(() -> client.copy(IoRegion.of(gate, 8, 8), List.of(IoRegion.of(dst, 8, 8)),
                    EnumSet.of(CopyFlag.NO_WAIT))).isInstanceOf(RejectedExecutionException.class);

            engine.reconfigure(engine.settings().toBuilder().maxQueuedJobs(4).build());

            client.copy(IoRegion.of(gate, 8, 8), List.of(IoRegion.of(dst, 8, 8)), EnumSet.of(CopyFlag.NO_WAIT));
            assertThat(client.statistics().jobsInFlight()).isEqualTo(2);
            gate.open();
        } finally {
            engine.close();
        }
    }

    @Test
    void closeLetsAcceptedJobsFinishAndReportThenRefusesNewOnes() throws Exception {
        Engine engine = new Engine(EngineSettings.defaults());
        KcopydClient client = engine.createClient(16);
        GatedDevice gate = new GatedDevice(256);
        FaultyDevice dst = new FaultyDevice("dst", 256);
        AtomicInteger callbacks = new AtomicInteger();
        List<CompletableFuture<CopyResult>> jobs = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            jobs.add(client.copy(IoRegion.of(gate, i * 8L, 8), List.of(IoRegion.of(dst, i * 8L, 8)), Set.of(),
                    (re, we, ctx) -> callbacks.incrementAndGet(), null).toCompletableFuture());
        }
        Thread closer = new Thread(client::close);
        closer.start();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThatThrownBy(
                () -> client.copy(IoRegion.of(gate, 100, 8), List.of(IoRegion.of(dst, 100, 8)), Set.of()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("is closed"));
        assertThat(closer.isAlive()).as("close waits for accepted jobs").isTrue();

        gate.open();
        closer.join(10_000);

        assertThat(closer.isAlive()).isFalse();
        assertThat(callbacks.get()).isEqualTo(10);
        for (CompletableFuture<CopyResult> job : jobs) {
            assertThat(job.getNow(null)).isNotNull().matches(CopyResult::isSuccess);
        }
        assertThat(((Client) client).workerThread().isAlive()).isFalse();
        engine.close();
    }

    @Test
    void closeFromACallbackDoesNotDeadlock() throws Exception {
        Engine engine = new Engine(EngineSettings.defaults());
        try {
            KcopydClient client = engine.createClient(16);
            FaultyDevice src = new FaultyDevice("src", 64);
            FaultyDevice dst = new FaultyDevice("dst", 64);
            client.copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)), Set.of(), (re, we, ctx) -> client.close(),
                    null).toCompletableFuture().get(10, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(10)).until(((Client) client)::isTerminated);
        } finally {
            engine.close();
        }
    }

    @Test
    void closingTheEngineLeavesNoThreadAndReleasesEveryBuffer() throws Exception {
        assertThat(DirectMemory.canFree()).isTrue();
        BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
        Set<String> before = kcopydThreads();
        long memoryBefore = direct.getMemoryUsed();
        long buffersBefore = direct.getCount();

        Engine engine = new Engine(EngineSettings.builder().subJobKiB(64).build());
        List<KcopydClient> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            clients.add(engine.createClient(4096));
            // Each size gets its own zero buffer; the clients made with one keep it until they end.
            engine.reconfigure(EngineSettings.builder().subJobKiB(128 << i).build());
        }
        assertThat(direct.getMemoryUsed() - memoryBefore).isGreaterThanOrEqualTo(4L * 4096 * 4096);
        FaultyDevice src = new FaultyDevice("src", 4096);
        FaultyDevice dst = new FaultyDevice("dst", 4096);
        for (KcopydClient c : clients) {
            c.copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)), Set.of());
        }
        assertThat(kcopydThreads()).hasSizeGreaterThan(before.size());

        engine.close();

        assertThat(kcopydThreads()).isEqualTo(before);
        // Pages and zero buffers (the current one and those replaced by reconfiguration) alike.
        assertThat(direct.getMemoryUsed()).isLessThanOrEqualTo(memoryBefore);
        assertThat(direct.getCount()).isLessThanOrEqualTo(buffersBefore);
        assertThatThrownBy(engine::createClient).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is closed");
    }

    @Test
    void closingPastTheTimeoutAbortsJobsOnAHungDeviceReportingEachOnceAsFailed() throws Exception {
        Engine engine = new Engine(EngineSettings.defaults());
        KcopydClient client = engine.createClient(16);
        GatedDevice neverAnswers = new GatedDevice(64);
        FaultyDevice a = new FaultyDevice("a", 64);
        FaultyDevice b = new FaultyDevice("b", 64);
        AtomicInteger callbacks = new AtomicInteger();
        AtomicReference<Long> bits = new AtomicReference<>();
        CompletableFuture<CopyResult> job = client.copy(IoRegion.of(neverAnswers, 0, 8),
                List.of(IoRegion.of(a, 0, 8), IoRegion.of(b, 0, 8)), Set.of(), (re, we, ctx) -> {
                    callbacks.incrementAndGet();
                    bits.set(we);
                }, null).toCompletableFuture();
        var prepared = client.prepareCallback((re, we, ctx) -> callbacks.incrementAndGet(), null);

        boolean clean = engine.close(Duration.ofMillis(300));

        assertThat(clean).isFalse();
        CopyResult r = job.getNow(null);
        assertThat(r).isNotNull();
        assertThat(r.writeErrors()).isEqualTo(0b11L);
        assertThat(r.writeFailure(0)).get().asString().contains("was closed before the job completed");
        assertThat(prepared.result().toCompletableFuture().getNow(null).readError()).isTrue();
        assertThat(prepared.complete(false, 0)).as("already delivered by the abort").isFalse();
        neverAnswers.open();
        assertThat(callbacks.get()).isEqualTo(2);
        assertThat(bits.get()).isEqualTo(0b11L);
        assertThat(((Client) client).workerThread().isAlive()).isFalse();
    }

    @Test
    void jobsAllocateNoBufferMemoryBeyondTheClientsPages() throws Exception {
        BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
        Engine engine = new Engine(EngineSettings.builder().subJobKiB(64).build());
        try {
            KcopydClient client = engine.createClient(64);
            FaultyDevice src = new FaultyDevice("src", 8192);
            FaultyDevice dst = new FaultyDevice("dst", 8192);
            client.copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)), Set.of()).toCompletableFuture().join();
            long before = direct.getMemoryUsed();
            long buffersBefore = direct.getCount();
            for (int i = 0; i < 5_000; i++) {
                long s = (i % 64) * 128L;
                client.copy(IoRegion.of(src, s, 128), List.of(IoRegion.of(dst, s, 128)), Set.of());
            }
            client.zero(List.of(IoRegion.whole(dst)), Set.of(), null, null);
            client.flush().toCompletableFuture().get(30, TimeUnit.SECONDS);

            // Not equal: the collector may free other tests' buffers meanwhile; never more.
            assertThat(direct.getMemoryUsed()).isLessThanOrEqualTo(before);
            assertThat(direct.getCount()).isLessThanOrEqualTo(buffersBefore);
        } finally {
            engine.close();
        }
    }

    @Test
    void aCallbackThatThrowsDoesNotStopTheClient() throws Exception {
        Engine engine = new Engine(EngineSettings.defaults());
        try {
            KcopydClient client = engine.createClient(16);
            FaultyDevice src = new FaultyDevice("src", 64);
            FaultyDevice dst = new FaultyDevice("dst", 64);
            CopyResult first = client.copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)), Set.of(), (re, we, ctx) -> {
                throw new IllegalStateException("callback bug");
            }, null).toCompletableFuture().get(10, TimeUnit.SECONDS);
            CopyResult second = client.copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)), Set.of())
                    .toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertThat(first.isSuccess()).isTrue();
            assertThat(second.isSuccess()).isTrue();
        } finally {
            engine.close();
        }
    }
}
