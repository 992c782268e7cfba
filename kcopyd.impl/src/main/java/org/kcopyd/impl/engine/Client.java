package org.kcopyd.impl.engine;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

import org.kcopyd.api.ClientStatistics;
import org.kcopyd.api.CopyCallback;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyJob;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.PreparedCompletion;

/**
 * A kcopyd client: its pages, its admission gate and its worker thread.
 *
 * <p>The worker owns every job's state, as dm-kcopyd's per-client worker does. Submitters and
 * I/O threads only post {@link WorkerEvent}s to its inbox. Each round, the worker takes every
 * event, then delivers completed jobs' callbacks in order (complete), then lets its
 * {@link ChunkScheduler} give chunks to sub-jobs waiting for pages (pages), which go to the I/O
 * threads (io).
 */
final class Client implements KcopydClient {

    private final Consumer<Client> closedCallback;
    private final System.Logger log;
    private final String name;
    private final PagePool pool;
    private final Executor io;
    private final Admission admission;
    private final int maxDestinations;

    private final SubJob.Owner subJobOwner = new SubJobOwner();
    private final Job.Canceller canceller = job -> post(new WorkerEvent.CancelRequested(job));
    private final ConcurrentLinkedQueue<WorkerEvent> inbox = new ConcurrentLinkedQueue<>();
    private final Thread worker;
    private volatile boolean parked;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();

    // Worker-thread state.
    private final ChunkScheduler scheduler;
    private final ArrayDeque<Job> completeQueue = new ArrayDeque<>();
    private final ArrayDeque<Job> liveJobs = new ArrayDeque<>();
    private final ArrayDeque<Barrier> barriers = new ArrayDeque<>();
    private long nextSeq;
    private boolean closing;

    // Statistics, read from any thread.
    private final LongAdder submitted = new LongAdder();
    private final AtomicLong waiting = new AtomicLong();
    private final LongAdder completed = new LongAdder();
    private final LongAdder failedJobs = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();

    /**
     * Starts the client's worker.
     *
     * @param closedCallback told once, on the worker thread, when the worker ends (its pages
     *                       released, or left to the garbage collector after an abort), before
     *                       the client's flush barriers and close() return
     * @param log            where the client writes its notices: its engine's
     */
    Client(Consumer<Client> closedCallback, System.Logger log, String name, int pages, IoThrottle throttle, Executor io,
            ZeroBuffer zeros, int subJobKiB, int subJobsPerJob, int maxDestinations, int maxQueuedJobs) {
        this.closedCallback = closedCallback;
        this.log = log;
        this.name = name;
        this.pool = new PagePool(pages);
        this.io = io;
        this.admission = new Admission(name, maxQueuedJobs);
        this.maxDestinations = maxDestinations;
        this.scheduler = new ChunkScheduler(pool, zeros, throttle, subJobOwner, subJobKiB, subJobsPerJob,
                new SchedulerListener());
        this.worker = new Thread(this::runWorker, "kcopyd-" + name);
        this.worker.setDaemon(true);
        this.worker.start();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int pages() {
        return pool.pages();
    }

    Admission admission() {
        return admission;
    }

    boolean isTerminated() {
        return terminated.isDone();
    }

    Thread workerThread() {
        return worker;
    }

    // ---- submission (any thread) ----

    @Override
    public <C> CopyJob copyJob(IoRegion from, List<IoRegion> dests, Set<CopyFlag> flags,
            CopyCallback<? super C> callback, C context) {
        if (from == null) {
            throw new IllegalArgumentException("source region is null");
        }
        IoRegion[] targets = JobValidator.destinations(dests, maxDestinations, from.count());
        JobValidator.check(from, targets);
        return submit(Job.Kind.COPY, from, targets, flags, callback, context);
    }

    @Override
    public <C> CopyJob zeroJob(List<IoRegion> dests, Set<CopyFlag> flags,
            CopyCallback<? super C> callback, C context) {
        IoRegion[] targets = JobValidator.destinations(dests, maxDestinations, -1);
        JobValidator.check(null, targets);
        return submit(Job.Kind.ZERO, null, targets, flags, callback, context);
    }

    private <C> Job submit(Job.Kind kind, IoRegion from, IoRegion[] targets,
            Set<CopyFlag> flags, CopyCallback<? super C> callback, C context) {
        Objects.requireNonNull(flags, "flags is null (pass an empty set)");
        Offload offload = Offload.of(flags);
        boolean writeSeq = flags.contains(CopyFlag.WRITE_SEQ);
        for (IoRegion target : targets) {
            writeSeq |= target.device().requiresSequentialWrites();
        }
        Job job = new Job(kind, from, targets, flags.contains(CopyFlag.IGNORE_ERROR), writeSeq,
                flags.contains(CopyFlag.FLUSH), flags.contains(CopyFlag.SPARSE), flags.contains(CopyFlag.SPARSE_ALWAYS),
                offload,
                notifier(callback, context), canceller);
        admit(flags.contains(CopyFlag.NO_WAIT));
        waiting.incrementAndGet();
        post(job);
        return job;
    }

    @Override
    public <C> PreparedCompletion prepareCallback(CopyCallback<? super C> callback, C context) {
        Job job = new Job(Job.Kind.PREPARED, null, new IoRegion[0], false, false, false, notifier(callback, context));
        admit(false);
        post(job);
        return new Prepared(job);
    }

    private static <C> Consumer<CopyResult> notifier(CopyCallback<? super C> callback, C context) {
        // A cancelled job's incomplete destinations are reported as failed: the callback has no other way to say it.
        return callback == null ? null : r -> callback.completed(r.readError(),
                r.cancelled() ? r.writeErrors() | r.incompleteDestinations() : r.writeErrors(), context);
    }

    private void admit(boolean noWait) {
        ensureOpen();
        // The worker must never wait for itself: from a callback, a full client refuses instead.
        admission.acquire(!noWait && Thread.currentThread() != worker);
        if (closed.get()) {
            admission.release();
            ensureOpen();
        }
        submitted.increment();
    }

    private void ensureOpen() {
        if (closed.get()) {
            throw new IllegalStateException("kcopyd client '" + name + "' is closed");
        }
    }

    @Override
    public CompletionStage<Void> flush() {
        ensureOpen();
        CompletableFuture<Void> flushed = new CompletableFuture<>();
        post(new WorkerEvent.FlushRequested(flushed));
        return flushed;
    }

    @Override
    public ClientStatistics statistics() {
        return new ClientStatistics(submitted.sum(), waiting.get(), admission.outstanding(), completed.sum(),
                failedJobs.sum(), bytesRead.sum(), bytesWritten.sum(), pool.inUse(), pool.pages());
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            post(new WorkerEvent.Close());
        }
        if (Thread.currentThread() != worker) {
            terminated.join();
            joinWorker(Long.MAX_VALUE);
        }
    }

    /**
     * Waits for the worker thread itself to end (it ends right after {@link #terminated}).
     *
     * @return true if it ended within the time
     */
    boolean joinWorker(long millis) {
        long deadline = System.currentTimeMillis() + Math.min(millis, Long.MAX_VALUE / 2);
        boolean interrupted = false;
        try {
            while (worker.isAlive()) {
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    return false;
                }
                try {
                    worker.join(left);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            return true;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** @return a stage completed when the worker has ended and the pages are released */
    CompletionStage<Void> closeAsync() {
        if (closed.compareAndSet(false, true)) {
            post(new WorkerEvent.Close());
        }
        return terminated;
    }

    /**
     * Ends every accepted job now, for a close that cannot wait any longer (a device that never
     * answers): each undelivered job completes, exactly once, with every destination reported as
     * failed (their content is unknown) and the cause saying why. Pages still held by device I/O
     * are left to the garbage collector, never freed under a device that may still write them.
     */
    void abort() {
        closeAsync();
        post(new WorkerEvent.Abort());
    }

    private void execute(Runnable task) {
        try {
            io.execute(task);
        } catch (RejectedExecutionException e) {
            // The engine is shutting down its I/O threads: finish the work here rather than lose it.
            task.run();
        }
    }

    private void post(WorkerEvent event) {
        inbox.offer(event);
        if (parked) {
            LockSupport.unpark(worker);
        }
    }

    // ---- the worker ----

    private void runWorker() {
        try {
            while (true) {
                WorkerEvent event;
                while ((event = inbox.poll()) != null) {
                    handle(event);
                }
                deliverCompletions();
                long wakeAt = scheduler.dispatch();
                if (!completeQueue.isEmpty()) {
                    // dispatch() ended jobs whose last sub-jobs found nothing left to do.
                    continue;
                }
                if (closing && admission.outstanding() == 0 && inbox.isEmpty() && completeQueue.isEmpty()) {
                    break;
                }
                parked = true;
                if (inbox.isEmpty()) {
                    if (wakeAt != 0) {
                        LockSupport.parkNanos(this, wakeAt - System.nanoTime());
                    } else {
                        LockSupport.park(this);
                    }
                }
                parked = false;
            }
        } catch (Throwable t) {
            log.log(Level.ERROR, "kcopyd client '" + name + "' worker failed; the client is unusable", t);
            closed.set(true);
            throw t;
        } finally {
            finishClose();
        }
    }

    private void finishClose() {
        closed.set(true);
        if (pool.inUse() == 0) {
            pool.release();
        } else {
            log.log(Level.WARNING, "kcopyd client '" + name + "' ends with " + pool.inUse()
                    + " pages still held by device I/O; they are left to the garbage collector");
        }
        closedCallback.accept(this);
        for (Barrier barrier : barriers) {
            barrier.future().complete(null);
        }
        terminated.complete(null);
    }

    private void handle(WorkerEvent event) {
        // The most frequent events first: this runs for every chunk.
        if (event instanceof SubJob subJob) {
            scheduler.returned(subJob);
        } else if (event instanceof Job job) {
            onJobEvent(job);
        } else if (event instanceof WorkerEvent.FlushRequested flush) {
            barriers.add(new Barrier(nextSeq - 1, flush.future()));
        } else if (event instanceof WorkerEvent.FlushDone done) {
            for (int i = 0; i < done.failures().length; i++) {
                done.job().recordWrite(i, done.failures()[i]);
            }
            finish(done.job());
        } else if (event instanceof WorkerEvent.PreparedDone done) {
            if (!done.job().finished) {
                done.job().result = done.result();
                finish(done.job());
            }
        } else if (event instanceof WorkerEvent.CancelRequested cancel) {
            onCancel(cancel.job());
        } else if (event instanceof WorkerEvent.Close) {
            closing = true;
        } else if (event instanceof WorkerEvent.Abort) {
            abortJobs();
        }
    }

    private void onJobEvent(Job job) {
        job.seq = nextSeq++;
        liveJobs.add(job);
        if (job.kind != Job.Kind.PREPARED) {
            scheduler.add(job);
        }
    }

    /**
     * Stops a job on cancel: no further chunk is handed out, its sub-jobs waiting for pages or for
     * their turn retire now, those doing I/O when they return; the last one out ends the job. A job
     * already decided, or stopped by an error or an abort, is left as it is.
     */
    private void onCancel(Job job) {
        if (job.finished || job.stopped) {
            return;
        }
        job.stopped = true;
        job.cancelStopped = true;
        scheduler.cancel(job);
    }

    private void abortJobs() {
        IOException cause = new IOException("kcopyd client '" + name
                + "' was closed before the job completed; the destinations may be incomplete");
        for (Job job : liveJobs) {
            if (job.finished) {
                continue;
            }
            job.stopped = true;
            if (job.dests.length == 0) {
                job.recordRead(cause);
            }
            for (int i = 0; i < job.dests.length; i++) {
                job.recordWrite(i, cause);
            }
            finish(job);
            scheduler.stopped(job);
        }
    }

    private void flushDestinations(Job job) {
        execute(() -> {
            int n = job.dests.length;
            CompletableFuture<?>[] flushes = new CompletableFuture<?>[n];
            Throwable[] failures = new Throwable[n];
            for (int i = 0; i < n; i++) {
                if (job.writeFailures[i] != null) {
                    flushes[i] = CompletableFuture.completedFuture(null);
                    continue;
                }
                int dest = i;
                CompletableFuture<Void> f;
                try {
                    f = job.dests[i].device().flush().toCompletableFuture();
                } catch (RuntimeException | Error e) {
                    f = CompletableFuture.failedFuture(e);
                }
                flushes[i] = f.whenComplete((v, t) -> failures[dest] = t == null ? null : SubJob.unwrap(t));
            }
            CompletableFuture.allOf(flushes).whenComplete((v, t) -> post(new WorkerEvent.FlushDone(job, failures)));
        });
    }

    private void finish(Job job) {
        if (job.finished) {
            return;
        }
        job.finished = true;
        if (job.result == null) {
            job.result = job.buildResult();
        }
        admission.release();
        completeQueue.add(job);
    }

    private void deliverCompletions() {
        Job job;
        boolean any = false;
        while ((job = completeQueue.poll()) != null) {
            any = true;
            CopyResult result = job.result;
            // Counted first, so that whoever sees the completion sees it in the statistics too.
            completed.increment();
            if (!result.isSuccess()) {
                failedJobs.increment();
            }
            if (job.callback != null) {
                try {
                    job.callback.accept(result);
                } catch (Throwable t) {
                    log.log(Level.ERROR, "completion callback of kcopyd client '" + name + "' threw", t);
                }
            }
            job.future.complete(result);
            job.delivered = true;
        }
        if (any || !barriers.isEmpty()) {
            while (!liveJobs.isEmpty() && liveJobs.peekFirst().delivered) {
                liveJobs.pollFirst();
            }
            long oldestLive = liveJobs.isEmpty() ? Long.MAX_VALUE : liveJobs.peekFirst().seq;
            while (!barriers.isEmpty() && barriers.peekFirst().lastSeq() < oldestLive) {
                barriers.pollFirst().future().complete(null);
            }
        }
    }

    @Override
    public String toString() {
        return "KcopydClient[" + name + ", pages=" + pool.pages() + "]";
    }

    /** A flush() barrier: completes once every job up to {@code lastSeq} has been delivered. */
    private record Barrier(long lastSeq, CompletableFuture<Void> future) {
    }

    /** This client as its sub-jobs see it, from I/O threads. */
    private final class SubJobOwner implements SubJob.Owner {

        @Override
        public void execute(Runnable task) {
            Client.this.execute(task);
        }

        @Override
        public void done(SubJob subJob) {
            post(subJob);
        }

        @Override
        public boolean onWorker() {
            return Thread.currentThread() == worker;
        }

        @Override
        public void countRead(int bytes) {
            bytesRead.add(bytes);
        }

        @Override
        public void countWritten(int bytes) {
            bytesWritten.add(bytes);
        }

        @Override
        public void offloadFailed(Job job, int dest, Throwable cause) {
            log.log(Level.DEBUG, () -> "kcopyd client '" + name + "': offload from " + job.source.device().name()
                    + " to " + job.dests[dest].device().name() + " failed (" + cause
                    + "); that destination is copied through pages for the rest of the job");
        }
    }

    /** What the scheduler tells this client's worker. */
    private final class SchedulerListener implements ChunkScheduler.Listener {

        @Override
        public void started(Job job) {
            waiting.decrementAndGet();
        }

        @Override
        public void ioDone(Job job) {
            // A job cancelled before any chunk ended wrote nothing: nothing to flush.
            if (job.flush && !(job.cancelStopped && job.endedSectors == 0)) {
                flushDestinations(job);
            } else {
                finish(job);
            }
        }
    }

    /** The handle of a prepared completion. */
    private final class Prepared implements PreparedCompletion {
        private final Job job;
        private final AtomicBoolean done = new AtomicBoolean();

        Prepared(Job job) {
            this.job = job;
        }

        @Override
        public boolean complete(boolean readError, long writeErrors) {
            // Already delivered: completed before, or ended by an abort of the client.
            if (job.future.isDone() || !done.compareAndSet(false, true)) {
                return false;
            }
            post(new WorkerEvent.PreparedDone(job, CopyResult.ofFlags(readError, writeErrors)));
            return true;
        }

        @Override
        public CompletionStage<CopyResult> result() {
            return job.future;
        }
    }
}
