package org.kcopyd.impl.engine;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.ClientStatistics;
import org.kcopyd.api.CopyCallback;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.IoRegion;
import org.kcopyd.impl.engine.RandomJobs.Batch;
import org.kcopyd.impl.engine.RandomJobs.JobSpec;
import org.kcopyd.impl.engine.RandomJobs.Placement;

/**
 * Seeded random jobs against the engine, in batches: each batch is one engine with random
 * settings and one to three clients of random page counts, running up to 40 random copy and
 * zero jobs at once over memory and fault-injecting devices (see {@link RandomJobs} for what is
 * drawn, {@link CopyOracle} for what is checked per job). After each batch: every client's
 * pages are back and its counters add up; after the engine closes, no thread of it is left and
 * no job completed a second time.
 *
 * <p>{@code -Dkcopyd.randomJobs=N} sets how many jobs to run (default 5000); each run starts
 * from a fresh seed unless {@code -Dkcopyd.seed=S} gives one. A failure names the batch's seed:
 * {@code -Dkcopyd.seed=S} alone replays exactly that batch. See TESTING.md.
 */
class RandomCopyTest {

    private static final int DEFAULT_JOBS = 5000;
    private static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void randomJobsKeepEveryInvariant() throws Exception {
        Long given = Long.getLong("kcopyd.seed");
        Integer jobs = Integer.getInteger("kcopyd.randomJobs");
        long seed = given != null ? given : new SecureRandom().nextLong();
        long wanted = jobs != null ? jobs : given != null ? 1 : DEFAULT_JOBS;
        long started = System.nanoTime();
        long done = 0;
        int batches = 0;
        for (long batchSeed = seed; done < wanted; batchSeed = RandomJobs.next(batchSeed)) {
            Batch batch = RandomJobs.batch(batchSeed);
            run(batch, "run from seed " + seed + ", batch " + batches);
            done += batch.jobs().size();
            batches++;
        }
        System.out.printf(Locale.ROOT, "RandomCopyTest: %d jobs in %d batches from seed %d passed in %.1f s%n", done,
                batches, seed, (System.nanoTime() - started) / 1e9);
    }

    private static void run(Batch batch, String origin) throws Exception {
        Engine engine = new Engine(batch.settings());
        List<JobRun> runs = new ArrayList<>();
        Client[] clients = new Client[batch.pages().length];
        boolean clean;
        try {
            for (int i = 0; i < clients.length; i++) {
                clients[i] = (Client) engine.createClient(batch.pages()[i]);
            }
            for (JobSpec spec : batch.jobs()) {
                runs.add(new JobRun(runs.size(), spec, clients[spec.client()]));
            }
            for (JobRun run : runs) {
                try {
                    run.submit();
                } catch (RuntimeException e) {
                    throw failure(batch, origin, run, List.of("submission threw " + e));
                }
            }
            awaitBarriers(batch, origin, clients, runs);
            for (JobRun run : runs) {
                List<String> problems = run.check(batch, clients);
                if (!problems.isEmpty()) {
                    throw failure(batch, origin, run, problems);
                }
            }
            for (int i = 0; i < clients.length; i++) {
                checkStatistics(batch, origin, i, clients[i], runs);
            }
        } finally {
            clean = engine.close(WAIT);
        }
        List<String> problems = new ArrayList<>();
        if (!clean) {
            problems.add("the engine did not close cleanly within " + WAIT);
        }
        String engineId = clients[0].name().substring(0, clients[0].name().lastIndexOf("-c"));
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            String name = t.getName();
            if (t.isAlive() && (name.startsWith("kcopyd-io-" + engineId + "-") || name.startsWith("kcopyd-" + engineId
                    + "-c"))) {
                problems.add("thread " + name + " is still alive after the engine closed");
            }
        }
        if (engine.pagesReserved() != 0) {
            problems.add(engine.pagesReserved() + " pages are still reserved after the engine closed");
        }
        for (JobRun run : runs) {
            if (run.calls.get() != 1) {
                problems.add("job " + run.index + "'s callback ran " + run.calls.get() + " times by the end");
            }
        }
        if (!problems.isEmpty()) {
            throw failure(batch, origin, null, problems);
        }
    }

    private static void awaitBarriers(Batch batch, String origin, Client[] clients, List<JobRun> runs)
            throws Exception {
        CompletableFuture<?>[] barriers = new CompletableFuture<?>[clients.length];
        for (int i = 0; i < clients.length; i++) {
            barriers[i] = clients[i].flush().toCompletableFuture();
        }
        try {
            CompletableFuture.allOf(barriers).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            List<String> stuck = new ArrayList<>();
            for (JobRun run : runs) {
                if (run.calls.get() == 0) {
                    stuck.add("job " + run.index + " did not complete within " + WAIT + ": " + run.spec);
                }
            }
            stuck.add("client statistics: " + List.of(clients).stream().map(c -> c.statistics().toString()).toList());
            throw failure(batch, origin, null, stuck);
        }
    }

    private static void checkStatistics(Batch batch, String origin, int client, Client c, List<JobRun> runs) {
        long jobs = runs.stream().filter(r -> r.spec.client() == client).count();
        long failed = runs.stream().filter(r -> r.spec.client() == client && !r.future.join().isSuccess()).count();
        ClientStatistics s = c.statistics();
        if (s.jobsSubmitted() != jobs || s.jobsCompleted() != jobs || s.jobsFailed() != failed
                || s.jobsInFlight() != 0 || s.jobsWaiting() != 0 || s.pagesInUse() != 0) {
            throw failure(batch, origin, null, List.of("client " + client + " ran " + jobs + " jobs (" + failed
                    + " failed) and is idle, but its statistics say " + s));
        }
    }

    private static AssertionError failure(Batch batch, String origin, JobRun run, List<String> problems) {
        StringBuilder b = new StringBuilder("RandomCopyTest: ");
        b.append(run == null ? "a batch" : "job " + run.index + " of a batch").append(" broke the engine's invariants")
                .append("\n  replay: mvn -o test -pl kcopyd.impl -Dtest=RandomCopyTest -Dkcopyd.seed=")
                .append(batch.seed()).append("\n  ").append(batch).append(" (").append(origin).append(')');
        if (run != null) {
            b.append("\n  job ").append(run.index).append(": ").append(run.spec);
            if (run.future != null && run.future.isDone()) {
                b.append("\n  result: ").append(run.future.join());
            }
        }
        for (String p : problems) {
            b.append("\n  - ").append(p);
        }
        return new AssertionError(b.toString());
    }

    /** One job of a batch: its devices, their content before, and what its completion reported. */
    private static final class JobRun {
        final int index;
        final JobSpec spec;
        final Client client;
        final BlockDevice[] devices;
        final byte[][] before;
        final AtomicInteger calls = new AtomicInteger();
        volatile boolean callbackReadError;
        volatile long callbackWriteErrors;
        volatile String callbackThread;
        volatile int[] flushesAtCallback;
        CompletableFuture<CopyResult> future;

        JobRun(int index, JobSpec spec, Client client) {
            this.index = index;
            this.spec = spec;
            this.client = client;
            int n = spec.devices().size();
            this.devices = new BlockDevice[n];
            this.before = new byte[n][];
            for (int d = 0; d < n; d++) {
                before[d] = spec.devices().get(d).content();
                devices[d] = spec.devices().get(d).create("j" + index + "d" + d, before[d]);
            }
        }

        void submit() {
            List<IoRegion> dests = new ArrayList<>();
            for (Placement p : spec.dests()) {
                dests.add(IoRegion.of(devices[p.device()], p.sector(), spec.count()));
            }
            CopyCallback<Object> callback = (readError, writeErrors, context) -> {
                int[] flushes = new int[devices.length];
                for (int d = 0; d < devices.length; d++) {
                    flushes[d] = devices[d] instanceof FaultyDevice f ? f.flushes.get() : 0;
                }
                flushesAtCallback = flushes;
                callbackReadError = readError;
                callbackWriteErrors = writeErrors;
                callbackThread = Thread.currentThread().getName();
                calls.incrementAndGet();
            };
            if (spec.isZero()) {
                future = client.zero(dests, spec.flags(), callback, null).toCompletableFuture();
            } else {
                Placement s = spec.source();
                future = client.copy(IoRegion.of(devices[s.device()], s.sector(), spec.count()), dests, spec.flags(),
                        callback, null).toCompletableFuture();
            }
        }

        List<String> check(Batch batch, Client[] clients) {
            int subJobKiB = batch.settings().subJobKiB();
            long chunk = spec.isZero() ? subJobKiB * 2L
                    : Math.min(subJobKiB / 4, batch.pages()[spec.client()]) * (long) (PagePool.PAGE / 512);
            CopyResult result = future.isDone() ? future.join() : null;
            return CopyOracle.check(spec, devices, before, chunk, new CopyOracle.Outcome(result, calls.get(),
                    callbackReadError, callbackWriteErrors, callbackThread, flushesAtCallback),
                    "kcopyd-" + clients[spec.client()].name());
        }
    }
}
