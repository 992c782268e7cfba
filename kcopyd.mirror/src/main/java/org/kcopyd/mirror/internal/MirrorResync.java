package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyJob;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.mirror.LegState;

/**
 * A mirror's resync (dm-raid1's recovery): copies the regions that need it from the default leg
 * to the other healthy legs through kcopyd, {@value #RESYNC_PARALLEL} regions at a time. Each region
 * is first quiesced by its {@link MirrorVolume} (new writes there wait, writes in flight drain);
 * when copied and flushed on its targets ({@link CopyFlag#FLUSH}), its bit in the region log is
 * cleared once the legs mirror writes reached since their last flush are flushed too (the source's
 * data must be durable as well, {@link RegionCleaner}), and its writers go on. When the queue is
 * empty and nothing runs, resyncing legs become in sync.
 *
 * <p>What to resync is the log's bitmap, whatever the reason: the regions dirty at the last stop,
 * and for a new or replaced leg every region not yet copied to it (the log sets them all before a
 * full resync starts and keeps that progress across a crash, see {@link RegionLog}), so a full
 * resync interrupted by a crash or a stop resumes with the regions it had not copied.
 *
 * <p>Copies go through the mirror's throttle, except for a region a write waits for: that one is
 * copied at full speed ({@link #hurryLocked}), its throttled copy, if under way, cancelled first.
 *
 * <p>A copy that kcopyd refuses for good (an invalid request: the legs overlap, a leg is
 * read-only, any error that is not transient) fails its target legs with the reason: retrying it
 * could never succeed. One that cannot run for a while (no factory, a full or closed client)
 * pauses the resync and retries it after a growing, bounded delay ({@link Backoff}).
 *
 * <p>Threading: its state is guarded by the volume's lock, shared so that a write's end and a
 * region's resync see one consistent picture of the region.
 */
final class MirrorResync {

    private static final System.Logger LOG = System.getLogger(MirrorResync.class.getName());
    static final int RESYNC_PARALLEL = 4;
    /** Resync is background work: it waits for a factory as long as it takes. */
    private static final Duration RESYNC_WAIT = Duration.ofDays(3650);

    private final MirrorVolume volume;
    private final Object lock;
    private final ResyncClients kcopyd;
    private final Backoff backoff;

    private final ArrayDeque<Long> resyncQueue = new ArrayDeque<>();
    /** The regions that await their resync (queued or running): a write's end must leave their bits set. */
    private final Set<Long> queued = new HashSet<>();
    /** Regions taken for a resync: waiting for a client, waiting for their writes, or being copied. */
    private int resyncRunning;
    /** The clients awaited for resync copies: cancelled on close, so that closing does not wait for a factory. */
    private final Set<CompletableFuture<KcopydClient>> clientWaits = new HashSet<>();
    /**
     * The resync copies submitted and not completed: cancelled on close (H49-3: a throttled copy's chunks wait
     * for their share of the cap before each is dispatched, so a region of a mirror capped at 4 KiB/s held its
     * close, the configuration's change with it, for minutes; cancelled, no further chunk goes, and the region,
     * still dirty, is copied at the next open).
     */
    private final Set<CopyJob> copies = new HashSet<>();
    /** The throttled copy under way of each region, for {@link #hurryLocked}. */
    private final Map<Long, CopyJob> throttledCopies = new HashMap<>();
    /** Regions taken for a resync that a write waits for: copied at full speed, through the urgent client. */
    private final Set<Long> hurried = new HashSet<>();
    /** True while the resync waits for a retry after a transient failure. */
    private boolean paused;
    private long resyncTotal;
    private long resyncDone;
    private long resyncBytes;
    private long resyncStarted;
    /** Completed by {@link #start()} when there is nothing to resync, else when the resync ends. */
    private final CompletableFuture<Void> inSync = new CompletableFuture<>();

    MirrorResync(MirrorVolume volume, Object lock, ResyncClients kcopyd, Backoff backoff) {
        this.volume = volume;
        this.lock = lock;
        this.kcopyd = kcopyd;
        this.backoff = backoff;
    }

    /**
     * Under the lock, as the mirror closes: no region is taken any more; the regions waiting stay dirty.
     *
     * @return what the caller cancels once it let go of the lock: the waits for a client, and the copies
     *         under way (a cancel completes a job's callbacks, which take the lock)
     */
    List<Runnable> stopLocked() {
        resyncQueue.clear();
        List<Runnable> cancels = new ArrayList<>();
        clientWaits.forEach(wait -> cancels.add(() -> wait.cancel(false)));
        copies.forEach(job -> cancels.add(job::cancel));
        return cancels;
    }

    /**
     * Under the lock, for a write that waits for {@code region}'s resync: the region is copied at full speed.
     * If its throttled copy is under way, it is cancelled (the chunks already handed out finish) and the
     * region copied again, whole, through the urgent client; if not yet submitted, it goes through that
     * client at once.
     *
     * @return what the caller runs once it let go of the lock (the cancel completes the job's callbacks,
     *         which take the lock)
     */
    List<Runnable> hurryLocked(long region) {
        if (!hurried.add(region)) {
            return List.of();
        }
        CopyJob job = throttledCopies.get(region);
        return job == null ? List.of() : List.of(job::cancel);
    }

    /** Under the lock: the region's resync is over for now; writes waiting for it go on (the caller completes). */
    private CompletableFuture<Void> recoveryEndedLocked(long region) {
        hurried.remove(region);
        return volume.recoveryEnded(region);
    }

    /** Under the lock: regions taken and not yet done. */
    int runningLocked() {
        return resyncRunning;
    }

    /** Under the lock: the region awaits its resync, which clears its bit when done. */
    boolean awaitsLocked(long region) {
        return queued.contains(region);
    }

    /** Under the lock: regions still to resync, resynced, and the rate in bytes per second (0 when in sync). */
    long remainingLocked() {
        return resyncTotal - resyncDone;
    }

    long doneLocked() {
        return resyncDone;
    }

    double rateLocked() {
        double seconds = (System.nanoTime() - resyncStarted) / 1e9;
        return inSync.isDone() || resyncTotal == 0 || seconds <= 0 ? 0 : resyncBytes / seconds;
    }

    CompletableFuture<Void> inSync() {
        return inSync;
    }

    /**
     * Queues the resync the log asks for: its set regions (dirty after a crash; for new or
     * replaced legs, every region not yet copied to them). The copies begin when {@code legsFlushed}
     * completes: what the source holds must be durable before a region's bit is cleared.
     */
    void start(CompletableFuture<Void> legsFlushed) {
        boolean fullResync = false;
        for (int i = 0; i < volume.legs.length; i++) {
            fullResync |= volume.log.state(i) == LegState.RESYNCING;
        }
        List<Long> work = volume.log.dirtyRegions();
        synchronized (lock) {
            for (Long r : work) {
                if (queued.add(r)) {
                    resyncQueue.add(r);
                }
            }
            resyncTotal = resyncQueue.size();
            resyncDone = 0;
            resyncBytes = 0;
            resyncStarted = System.nanoTime();
            if (resyncQueue.isEmpty()) {
                inSync.complete(null);
            } else {
                LOG.log(System.Logger.Level.INFO, "mirror '" + volume.name + "': resyncing " + resyncTotal + " of "
                        + volume.regions + " regions" + (!fullResync ? " (dirty at the last stop)"
                        : resyncTotal < volume.regions ? " (new or replaced legs; the others were copied to them "
                                + "before the last stop)" : " (new or replaced legs)"));
            }
        }
        legsFlushed.whenComplete((v, e) -> kick());
    }


    private void kick() {
        while (true) {
            Long region;
            synchronized (lock) {
                if (volume.closed || paused || resyncRunning >= RESYNC_PARALLEL || resyncQueue.isEmpty()) {
                    finishResyncIfDone();
                    return;
                }
                region = resyncQueue.poll();
                resyncRunning++;
            }
            CompletableFuture<KcopydClient> waiting = kcopyd.throttled().client(RESYNC_WAIT);
            boolean cancel;
            synchronized (lock) {
                cancel = volume.closed;
                if (!cancel) {
                    clientWaits.add(waiting);
                }
            }
            waiting.whenComplete((client, e) -> clientReady(waiting, region));
            if (cancel) {
                waiting.cancel(false);
            }
        }
    }

    /** A client is there (or the wait ended): the region's resync goes on, unless the mirror closed meanwhile. */
    private void clientReady(CompletableFuture<KcopydClient> waiting, long region) {
        synchronized (lock) {
            clientWaits.remove(waiting);
            if (volume.closed) {
                resyncRunning--;
                lock.notifyAll();
                return;
            }
        }
        volume.quiesce(region, () -> copyRegion(region));
    }

    private void copyRegion(long region) {
        int source = volume.defaultLeg();
        long start = region * volume.regionSectors;
        int length = (int) Math.min(volume.regionSectors, volume.sectors - start);
        List<Integer> targets = new ArrayList<>();
        boolean everyLeg = volume.log.toEveryLeg(region);
        for (int i = 0; i < volume.legs.length; i++) {
            // A leg in sync is a target only where the legs may differ since a crash (RegionLog#toEveryLeg).
            LegState state = volume.log.state(i);
            if (i != source && (state == LegState.RESYNCING || everyLeg && state == LegState.IN_SYNC)) {
                targets.add(i);
            }
        }
        if (source < 0) {
            // Nothing to copy from: the region stays dirty, not counted as resynced, and the resync ends unfinished.
            regionEnded(region, 0, false);
            return;
        }
        if (targets.isEmpty()) {
            regionDone(region, 0, true);
            return;
        }
        List<IoRegion> dests = new ArrayList<>();
        for (int t : targets) {
            dests.add(IoRegion.of(volume.legs[t], start, length));
        }
        // Flushed before the completion: the region's bit is cleared only once its copy is durable on the targets.
        // Never IGNORE_ERROR: it writes a chunk whose read failed as zeros, over every target, in-sync legs
        // included (H43 F1: a leg in sync got zeros where the default leg died under the resync's reads). The copy
        // stops at its first error instead, and the region is copied again without the failed leg.
        EnumSet<CopyFlag> flags = EnumSet.of(CopyFlag.FLUSH);
        boolean urgent;
        synchronized (lock) {
            urgent = hurried.contains(region);
        }
        CompletableFuture<CopyResult> copy;
        try {
            copy = (urgent ? kcopyd.urgent() : kcopyd.throttled()).submit(RESYNC_WAIT, client -> {
                CopyJob job = client.copyJob(IoRegion.of(volume.legs[source], start, length), dests, flags, null, null);
                boolean cancel;
                synchronized (lock) {
                    // Closing, or a write began to wait for the region since the client was chosen.
                    cancel = volume.closed || !urgent && hurried.contains(region);
                    if (!volume.closed) {
                        copies.add(job);
                        if (!urgent) {
                            throttledCopies.put(region, job);
                        }
                    }
                }
                if (cancel) {
                    job.cancel();
                }
                return job.result().whenComplete((result, error) -> {
                    synchronized (lock) {
                        copies.remove(job);
                        throttledCopies.remove(region, job);
                    }
                });
            });
        } catch (RuntimeException e) {
            copy = CompletableFuture.failedFuture(e);
        }
        copy.whenComplete((result, error) -> afterCopy(region, source, targets, length, urgent, result, error));
    }

    private void afterCopy(long region, int source, List<Integer> targets, int length, boolean urgent,
            CopyResult result, Throwable error) {
        boolean stopping;
        boolean hurry;
        synchronized (lock) {
            stopping = volume.closed;
            hurry = !urgent && hurried.contains(region);
        }
        if (stopping) {
            // Closing: whatever this copy did, the region stays dirty and is resynced next time.
            requeue(region);
            return;
        }
        if (hurry && error == null && result.cancelled() && !result.readError() && !anyDestinationFailed(result,
                targets.size())) {
            // Cancelled for a write that waits: the region, still quiesced, is copied again, whole, at full speed.
            copyRegion(region);
            return;
        }
        if (error != null) {
            Throwable cause = unwrap(error);
            if (isTransient(cause)) {
                retryLater(region, cause);
                return;
            }
            // Refused for good: the same copy would be refused again, forever. Its targets cannot be resynced.
            for (int leg : targets) {
                volume.failLeg(leg, "resync of region " + region + " refused: " + describe(cause));
            }
            regionDone(region, 0, true);
            return;
        }
        backoff.reset();
        if (result.readError()) {
            volume.failLeg(source, "resync read of region " + region + " failed: "
                    + result.readFailure().map(Throwable::getMessage).orElse("read error"));
            requeue(region);
            return;
        }
        boolean failed = false;
        for (int i = 0; i < targets.size(); i++) {
            if (result.destinationFailed(i)) {
                int leg = targets.get(i);
                volume.failLeg(leg, "resync write of region " + region + " failed: "
                        + result.writeFailure(i).map(Throwable::getMessage).orElse("write error"));
                failed = true;
            }
        }
        if (failed) {
            // The copy stopped at that error: the other targets may lack the region's later chunks. Copied again,
            // to them only (the failed leg is no target any more).
            requeue(region);
            return;
        }
        if (result.cancelled()) {
            // Part of the region was not copied: never cleared as if it were.
            requeue(region);
            return;
        }
        regionDone(region, (long) length * org.kcopyd.api.BlockDevice.SECTOR_SIZE, true);
    }

    private static boolean anyDestinationFailed(CopyResult result, int destinations) {
        for (int i = 0; i < destinations; i++) {
            if (result.destinationFailed(i)) {
                return true;
            }
        }
        return false;
    }

    private static Throwable unwrap(Throwable t) {
        Throwable cause = t;
        while (cause.getCause() != null && (cause instanceof java.util.concurrent.CompletionException
                || cause instanceof java.util.concurrent.ExecutionException)) {
            cause = cause.getCause();
        }
        return cause;
    }

    /**
     * Transient: no factory bound in time (IOException from the binding), the client's admission
     * bound (RejectedExecutionException), a client closed under the submission (IllegalStateException,
     * its factory went away). Anything else, above all the engine's IllegalArgumentException for an
     * invalid request, is permanent.
     */
    static boolean isTransient(Throwable cause) {
        return cause instanceof java.util.concurrent.RejectedExecutionException || cause instanceof IllegalStateException
                || cause instanceof IOException || cause instanceof java.util.concurrent.CancellationException;
    }

    private static String describe(Throwable cause) {
        return cause.getMessage() != null ? cause.getMessage() : cause.getClass().getName();
    }

    /** Puts the region back at the head of the queue and pauses the resync until the backoff delay has passed. */
    private void retryLater(long region, Throwable cause) {
        boolean schedule;
        CompletableFuture<Void> f;
        synchronized (lock) {
            f = recoveryEndedLocked(region);
            resyncRunning--;
            if (!volume.closed) {
                resyncQueue.addFirst(region);
            }
            schedule = !volume.closed && !paused;
            paused = true;
            lock.notifyAll();
        }
        if (f != null) {
            f.complete(null);
        }
        if (schedule) {
            long delay = backoff.retry(this::resume);
            LOG.log(System.Logger.Level.WARNING, "mirror '" + volume.name + "': resync of region " + region
                    + " cannot run now (" + describe(cause) + "); retrying in " + delay + " ms");
        }
    }

    private void resume() {
        synchronized (lock) {
            paused = false;
        }
        kick();
    }

    private void requeue(long region) {
        CompletableFuture<Void> f;
        synchronized (lock) {
            f = recoveryEndedLocked(region);
            resyncRunning--;
            if (!volume.closed) {
                resyncQueue.addFirst(region);
            }
            lock.notifyAll();
        }
        if (f != null) {
            f.complete(null);
        }
        if (!isClosed()) {
            kick();
        }
    }

    /**
     * The region's resync is over; if {@code clean}, its bit is cleared first, once the legs written
     * since their last flush are flushed ({@link RegionCleaner}); the region stays quiesced until then.
     */
    private void regionDone(long region, long bytes, boolean clean) {
        if (clean) {
            volume.cleaner.cleanAfterResync(region).whenComplete((v, e) -> regionEnded(region, bytes, true));
        } else {
            regionEnded(region, bytes, true);
        }
    }

    /** The region's resync is over, {@code counted} as resynced or not (nothing to copy it from). */
    private void regionEnded(long region, long bytes, boolean counted) {
        CompletableFuture<Void> f;
        synchronized (lock) {
            f = recoveryEndedLocked(region);
            queued.remove(region);
            resyncRunning--;
            if (counted) {
                // Else it stays to resync, dirty: the status's count of regions to resync says so.
                resyncDone++;
            }
            resyncBytes += bytes;
            lock.notifyAll();
        }
        if (f != null) {
            f.complete(null);
        }
        kick();
    }

    private boolean isClosed() {
        synchronized (lock) {
            return volume.closed;
        }
    }

    /**
     * Under lock, as the resync ends with no leg in sync left to copy from (H42 #3: the legs being
     * resynchronised said "resyncing" for ever, nothing being copied to them): each such leg's status,
     * in the log too, says that its resync stopped and why. It stays RESYNCING, as it is: partly copied.
     */
    private void recordStopped() {
        StringBuilder why = new StringBuilder("its resync stopped: no leg in sync is left to copy from");
        for (int i = 0; i < volume.legs.length; i++) {
            if (volume.log.state(i) == LegState.FAILED) {
                why.append("; leg ").append(i).append(" failed: ").append(volume.log.failure(i));
            }
        }
        for (int i = 0; i < volume.legs.length; i++) {
            if (volume.log.state(i) != LegState.RESYNCING) {
                continue;
            }
            String before = volume.log.failure(i);
            try {
                volume.log.setState(i, LegState.RESYNCING, before == null ? why.toString() : why + " (" + before + ")");
            } catch (IOException e) {
                LOG.log(System.Logger.Level.ERROR, "mirror '" + volume.name + "': recording that the resync of leg " + i
                        + " stopped failed", e);
            }
        }
    }

    /** Under lock: when the queue is empty and nothing runs, resyncing legs become in sync. */
    private void finishResyncIfDone() {
        if (resyncRunning > 0 || !resyncQueue.isEmpty() || inSync.isDone() || volume.closed) {
            return;
        }
        if (volume.defaultLeg() < 0) {
            // No leg holds the data any more: the resyncing legs must not be declared in sync.
            LOG.log(System.Logger.Level.ERROR, "mirror '" + volume.name + "': no in-sync leg left; the resync stopped");
            recordStopped();
            inSync.completeExceptionally(new IOException("mirror '" + volume.name + "' has no in-sync leg left: "
                    + "the resync stopped"));
            return;
        }
        for (int i = 0; i < volume.legs.length; i++) {
            if (volume.log.state(i) == LegState.RESYNCING) {
                try {
                    volume.log.setState(i, LegState.IN_SYNC, null);
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.ERROR, "mirror '" + volume.name + "': recording leg " + i
                            + " in sync failed", e);
                }
            }
        }
        LOG.log(System.Logger.Level.INFO, "mirror '" + volume.name + "': resync complete (" + resyncDone + " regions)");
        inSync.complete(null);
    }
}
