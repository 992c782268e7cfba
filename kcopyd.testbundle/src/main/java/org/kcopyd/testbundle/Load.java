package org.kcopyd.testbundle;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;

/**
 * Copies continuously from its own thread through whichever client the consumer holds at the
 * moment, keeping up to {@code inFlight} jobs outstanding. Each job copies a random range of the
 * source to the same range of the target, so whatever order jobs land in, the target only ever
 * receives the source's bytes. Every accepted job is tracked until it completes: its callback
 * must run exactly once and agree with its stage, and a failure must carry its reason.
 */
final class Load {

    /** One accepted job. */
    private static final class Job {
        final int id;
        final long sector;
        final long count;
        final AtomicInteger callbacks = new AtomicInteger();
        volatile boolean callbackReadError;
        volatile long callbackWriteErrors;
        volatile CopyResult result;
        volatile Throwable exception;
        volatile boolean done;

        Job(int id, long sector, long count) {
            this.id = id;
            this.sector = sector;
            this.count = count;
        }
    }

    private final BlockDevice source;
    private final BlockDevice target;
    private final int maxSectors;
    private final Random random;
    private final Supplier<KcopydClient> client;
    private final int permits;
    private final Semaphore inFlight;
    private final Map<Integer, Job> accepted = new ConcurrentHashMap<>();
    private final Map<String, Integer> refusals = new ConcurrentHashMap<>();
    private final Collection<String> problems = new ConcurrentLinkedQueue<>();
    private final AtomicInteger refused = new AtomicInteger();
    private final AtomicInteger completed = new AtomicInteger();
    private final Thread thread;
    private volatile boolean stopping;
    private int nextId;

    /**
     * @param client the consumer's current client, waiting a little for one while none is bound;
     *               null when there is none yet
     */
    Load(BlockDevice source, BlockDevice target, int inFlight, int maxSectors, long seed,
            Supplier<KcopydClient> client) {
        if (maxSectors < 1 || maxSectors >= Math.min(source.sizeInSectors(), target.sizeInSectors())) {
            throw new IllegalArgumentException("maxSectors " + maxSectors + " does not fit the devices");
        }
        this.source = source;
        this.target = target;
        this.maxSectors = maxSectors;
        this.random = new Random(seed);
        this.client = client;
        this.permits = inFlight;
        this.inFlight = new Semaphore(inFlight);
        this.thread = new Thread(this::run, "probe-load");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    private void run() {
        try {
            while (!stopping) {
                if (!inFlight.tryAcquire(50, TimeUnit.MILLISECONDS)) {
                    continue;
                }
                KcopydClient c = client.get();
                if (c == null) {
                    inFlight.release();
                    continue;
                }
                submit(c);
            }
        } catch (InterruptedException e) {
            problems.add("the load thread was interrupted");
        } catch (RuntimeException | Error e) {
            problems.add("the load thread failed: " + e);
        }
    }

    private void submit(KcopydClient c) {
        long size = Math.min(source.sizeInSectors(), target.sizeInSectors());
        long count = 1 + random.nextInt(maxSectors);
        long sector = (long) (random.nextDouble() * (size - count));
        Job job = new Job(nextId++, sector, count);
        try {
            c.copy(IoRegion.of(source, sector, count), List.of(IoRegion.of(target, sector, count)), Set.of(),
                    (readError, writeErrors, j) -> {
                        j.callbackReadError = readError;
                        j.callbackWriteErrors = writeErrors;
                        j.callbacks.incrementAndGet();
                    }, job)
                    .whenComplete((result, exception) -> {
                        job.result = result;
                        job.exception = exception;
                        job.done = true;
                        completed.incrementAndGet();
                        inFlight.release();
                    });
            accepted.put(job.id, job);
        } catch (IllegalStateException | RejectedExecutionException e) {
            // The client closed between our reading it and submitting: not accepted, nothing owed.
            refused.incrementAndGet();
            String reason = e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage())
                    .replaceAll("'[^']*'", "'…'");
            refusals.merge(reason, 1, Integer::sum);
            if (!(e instanceof IllegalStateException) || !reason.endsWith(" is closed")) {
                problems.add("submission refused other than for a closed client: " + e);
            }
            inFlight.release();
        } catch (RuntimeException e) {
            problems.add("job " + job.id + " (" + count + " sectors at " + sector + ") refused: " + e);
            inFlight.release();
        }
    }

    /** @return accepted jobs whose stage has completed, so far */
    int completed() {
        return completed.get();
    }

    /** @return what the load has done so far; jobs still running count as pending */
    LoadReport report() {
        int succeeded = 0;
        int failed = 0;
        int pending = 0;
        List<String> found = new ArrayList<>(problems);
        List<long[]> regions = new ArrayList<>();
        for (Job job : accepted.values()) {
            if (!job.done) {
                pending++;
                continue;
            }
            CopyResult r = job.result;
            if (job.exception != null) {
                found.add("job " + job.id + ": its stage completed exceptionally: " + job.exception);
                continue;
            }
            if (job.callbacks.get() != 1) {
                found.add("job " + job.id + ": its callback ran " + job.callbacks.get() + " times");
            } else if (job.callbackReadError != r.readError() || job.callbackWriteErrors != r.writeErrors()) {
                found.add("job " + job.id + ": callback (read error " + job.callbackReadError + ", write errors "
                        + job.callbackWriteErrors + ") and stage (" + r + ") disagree");
            }
            if (r.isSuccess()) {
                succeeded++;
                regions.add(new long[] {job.sector, job.count});
            } else {
                failed++;
                if (!hasReason(r)) {
                    found.add("job " + job.id + ": failed without a reason: " + r);
                }
            }
        }
        List<String> refusalList = new ArrayList<>();
        refusals.forEach((reason, n) -> refusalList.add(n + " x " + reason));
        return new LoadReport(accepted.size(), succeeded, failed, pending, refused.get(), refusalList, found, regions);
    }

    private static boolean hasReason(CopyResult r) {
        if (r.readError() && r.readFailure().map(t -> t.getMessage() == null || t.getMessage().isBlank())
                .orElse(true)) {
            return false;
        }
        for (int i = 0; i < r.destinations(); i++) {
            if (r.destinationFailed(i) && r.writeFailure(i).map(t -> t.getMessage() == null
                    || t.getMessage().isBlank()).orElse(true)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Stops submitting and waits for every accepted job to complete.
     *
     * @return the final report; a job that did not complete in time is a problem
     */
    LoadReport stop(long timeoutMillis) throws InterruptedException {
        stopping = true;
        thread.join(timeoutMillis);
        if (thread.isAlive()) {
            problems.add("the load thread did not stop within " + timeoutMillis + " ms");
        } else if (inFlight.tryAcquire(permits, timeoutMillis, TimeUnit.MILLISECONDS)) {
            // Each job outstanding holds a permit until its stage completes: all back, all done.
            inFlight.release(permits);
        }
        for (Job job : accepted.values()) {
            if (!job.done) {
                problems.add("job " + job.id + " (" + job.count + " sectors at " + job.sector + ") never completed");
            }
        }
        return report();
    }
}
