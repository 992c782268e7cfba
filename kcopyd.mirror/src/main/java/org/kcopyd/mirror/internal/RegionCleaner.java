package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLongArray;

import org.kcopyd.mirror.LegState;

/**
 * Clears regions' bits in a mirror's {@link RegionLog} only once their data is durable on every
 * leg, as dm-region-hash does: a region whose writes (or resync) are done waits in the log
 * ({@link RegionLog#writeDone}, {@link RegionLog#cleanLater}); a batch takes every region waiting
 * ({@link RegionLog#takeBatch}), flushes each leg that is not failed and was written since its
 * last flush ({@link org.kcopyd.api.BlockDevice#flush()}, all legs at once), and only then writes
 * the bits ({@link RegionLog#clearBatch}: one log write and flush per batch). So a leg is flushed
 * at most once per batch, however many writes the batch covers; the regions that wait while a
 * batch runs go into the next one. A write that enters a region of the batch takes it out of it
 * ({@link RegionLog#markDirty}): the flush may have come before that write reached the legs.
 *
 * <p>Resync copies flush their targets themselves ({@link org.kcopyd.api.CopyFlag#FLUSH}) and the
 * resync never writes its source, so a batch of resynced regions flushes only the legs that
 * mirror writes reached since their last flush. What the legs held when the mirror started is
 * made durable by a first batch that flushes every leg ({@link #flushLegs()}) before the resync
 * copies anything: after a kill, that data may still be only in the page cache.
 *
 * <p>Errors: a leg whose flush fails is failed as by a write error ({@link MirrorVolume#failLeg})
 * and the batch's regions stay dirty on disk (resynced at the next start, or cleared by a later
 * batch once written again). A bitmap write that fails leaves bits set, which is safe.
 *
 * <p>Threading: batches run one at a time, on the cleaner's own thread (started when needed,
 * ended after {@value #IDLE_SECONDS} s idle); requests come from any thread and do no I/O.
 * Memory: two bits per region in the log, and a counter per leg.
 */
final class RegionCleaner {

    private static final System.Logger LOG = System.getLogger(RegionCleaner.class.getName());
    static final int IDLE_SECONDS = 10;

    private final MirrorVolume volume;
    private final ThreadPoolExecutor thread;
    /** Per leg: mirror writes completed on it. */
    private final AtomicLongArray written;
    /** Per leg: what {@link #written} was when its last successful flush began; on the cleaner's thread only. */
    private final long[] flushed;

    // Guarded by this.
    /** A batch is queued or runs. */
    private boolean running;
    /** A request came after the running batch took its regions: another batch follows. */
    private boolean again;
    /** The next batch flushes every leg written since its last flush, even without a region to clear. */
    private boolean forceFlush;
    /** Stopped: no batch runs any more; requests complete at once, their regions staying dirty. */
    private boolean stopped;
    /** Completed when the next batch (not yet begun) has ended. */
    private CompletableFuture<Void> next = new CompletableFuture<>();
    /** Completed when the running batch has ended; null between batches. */
    private CompletableFuture<Void> current;

    RegionCleaner(MirrorVolume volume) {
        this.volume = volume;
        int legs = volume.legs.length;
        this.written = new AtomicLongArray(legs);
        this.flushed = new long[legs];
        for (int i = 0; i < legs; i++) {
            // What the leg held before the mirror started is not known to be durable.
            written.set(i, 1);
        }
        this.thread = new ThreadPoolExecutor(1, 1, IDLE_SECONDS, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "kcopyd-mirror-" + volume.name + "-region-cleaner");
            t.setDaemon(true);
            return t;
        });
        this.thread.allowCoreThreadTimeOut(true);
    }

    /** A mirror write completed on the leg: its next batch flushes it. Any thread. */
    void written(int leg) {
        written.incrementAndGet(leg);
    }

    /**
     * Runs a batch that flushes every leg not failed and written since its last flush (at the
     * start: every leg), whether or not a region waits.
     *
     * @return completed when that batch has ended (whatever the flushes gave: a failed leg is failed)
     */
    CompletableFuture<Void> flushLegs() {
        return request(true);
    }

    /**
     * Some regions wait for their bits to be cleared (the log said so): a batch clears them soon.
     *
     * @return completed when the batch that takes them has ended
     */
    CompletableFuture<Void> request() {
        return request(false);
    }

    /**
     * For the resync: the region is copied and flushed on its targets; its bit is cleared once
     * the legs written since their last flush are flushed.
     *
     * @return completed when the bit is cleared, or was left set (a flush or the log failed, the
     *         mirror stopped, a write is in the region and clears it when it ends)
     */
    CompletableFuture<Void> cleanAfterResync(long region) {
        if (!volume.log.cleanLater(region)) {
            return CompletableFuture.completedFuture(null);
        }
        return request(false);
    }

    private CompletableFuture<Void> request(boolean flushAll) {
        CompletableFuture<Void> f;
        boolean start;
        synchronized (this) {
            if (stopped) {
                return CompletableFuture.completedFuture(null);
            }
            f = next;
            forceFlush |= flushAll;
            start = !running;
            running = true;
            again |= !start;
        }
        if (start) {
            execute(this::batch);
        }
        return f;
    }

    private void execute(Runnable batch) {
        try {
            thread.execute(batch);
        } catch (RejectedExecutionException e) {
            // Stopped meanwhile: stop() completes what waits.
            stop();
        }
    }

    /** On the cleaner's thread: takes the waiting regions, flushes the legs that need it. */
    private void batch() {
        CompletableFuture<Void> done;
        boolean force;
        synchronized (this) {
            if (stopped) {
                return;
            }
            done = next;
            current = done;
            next = new CompletableFuture<>();
            again = false;
            force = forceFlush;
            forceFlush = false;
        }
        boolean regions = volume.log.takeBatch();
        if (!regions && !force) {
            batchEnded(done);
            return;
        }
        List<Integer> legs = new ArrayList<>();
        List<Long> upTo = new ArrayList<>();
        List<CompletableFuture<Void>> flushes = new ArrayList<>();
        for (int i = 0; i < volume.legs.length; i++) {
            long count = written.get(i);
            if (volume.log.state(i) == LegState.FAILED || count == flushed[i]) {
                continue;
            }
            CompletableFuture<Void> flush;
            try {
                flush = volume.legs[i].flush().toCompletableFuture();
            } catch (RuntimeException e) {
                flush = CompletableFuture.failedFuture(e);
            }
            legs.add(i);
            upTo.add(count);
            flushes.add(flush);
        }
        if (flushes.isEmpty()) {
            clear(regions);
            batchEnded(done);
            return;
        }
        CompletableFuture.allOf(flushes.toArray(new CompletableFuture<?>[0])).handle((v, e) -> null)
                .thenRunAsync(() -> afterFlush(done, regions, legs, upTo, flushes), thread)
                .exceptionally(e -> {
                    // The cleaner stopped while the legs were flushed: the regions stay dirty.
                    stop();
                    return null;
                });
    }

    private void afterFlush(CompletableFuture<Void> done, boolean regions, List<Integer> legs, List<Long> upTo,
            List<CompletableFuture<Void>> flushes) {
        synchronized (this) {
            if (stopped) {
                return;
            }
        }
        List<Integer> failed = new ArrayList<>();
        for (int k = 0; k < legs.size(); k++) {
            int leg = legs.get(k);
            Throwable error = failure(flushes.get(k));
            if (error == null) {
                flushed[leg] = Math.max(flushed[leg], upTo.get(k));
            } else {
                failed.add(leg);
                volume.failLeg(leg, "flush failed: " + message(error));
            }
        }
        if (failed.isEmpty()) {
            clear(regions);
        } else {
            volume.log.dropBatch();
            if (regions) {
                LOG.log(System.Logger.Level.WARNING, "mirror '" + volume.name + "': the flush of leg(s) " + failed
                        + " failed; the regions written before it stay dirty in the region log and are resynced at "
                        + "the next start");
            }
        }
        batchEnded(done);
    }

    private void clear(boolean regions) {
        if (!regions) {
            return;
        }
        try {
            volume.log.clearBatch();
        } catch (IOException e) {
            // The bits may still be set on disk: those regions are resynced after a restart, which is safe.
            LOG.log(System.Logger.Level.WARNING, "mirror '" + volume.name + "': clearing regions in the region log "
                    + "failed; they stay dirty", e);
        }
    }

    private void batchEnded(CompletableFuture<Void> done) {
        boolean more;
        synchronized (this) {
            current = null;
            more = again && !stopped;
            running = more;
        }
        done.complete(null);
        if (more) {
            execute(this::batch);
        }
    }

    /**
     * For the mirror's close, once no write or resync is in flight: runs a last batch for the
     * regions still waiting, waits for it until {@code deadlineNanos} ({@link System#nanoTime()}),
     * then stops.
     *
     * @return true if every waiting region was handled (cleared, or left dirty by a failed flush)
     */
    boolean drain(long deadlineNanos) {
        CompletableFuture<Void> last = request(false);
        boolean drained = false;
        try {
            last.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
            drained = true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException e) {
            LOG.log(System.Logger.Level.WARNING, "mirror '" + volume.name + "': a leg's flush did not end in time "
                    + "at the close; " + volume.log.regionsToClean() + " region(s) stay dirty in the region log");
        } catch (ExecutionException e) {
            throw new IllegalStateException("a batch's future is only ever completed normally", e);
        }
        stop();
        return drained;
    }

    /** No batch runs any more (a flush still in flight is left alone); what waits for one completes. */
    void stop() {
        List<CompletableFuture<Void>> waiting = new ArrayList<>();
        synchronized (this) {
            stopped = true;
            running = false;
            waiting.add(next);
            if (current != null) {
                waiting.add(current);
            }
        }
        thread.shutdown();
        waiting.forEach(f -> f.complete(null));
    }

    private static Throwable failure(CompletableFuture<Void> f) {
        try {
            f.join();
            return null;
        } catch (CompletionException | java.util.concurrent.CancellationException e) {
            return e;
        }
    }

    private static String message(Throwable t) {
        Throwable cause = t;
        while (cause.getCause() != null && cause instanceof CompletionException) {
            cause = cause.getCause();
        }
        return cause.getMessage() != null ? cause.getMessage() : cause.getClass().getName();
    }
}
