package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
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
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.ClientBinding;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.LegStatus;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.mirror.MirrorStatus;

/**
 * A mirror over several legs (dm-raid1): writes go to every healthy leg after the region is
 * marked dirty in the log; reads come from the default leg (the first in-sync one); kcopyd
 * resynchronises regions from the default leg to the legs that need them, a few regions at a
 * time, through the mirror's own throttle. Writes to a region wait while it is resynchronised;
 * a resync of a region waits until the writes in flight there have completed.
 *
 * <p>A resync copy that kcopyd refuses for good (an invalid request: the legs overlap, a leg is
 * read-only, any error that is not transient) fails its target legs with the reason: retrying it
 * could never succeed. One that cannot run for a while (no factory, a full or closed client)
 * pauses the resync and retries it after a growing, bounded delay ({@link Backoff}).
 */
final class MirrorVolume implements Mirror {

    private static final System.Logger LOG = System.getLogger(MirrorVolume.class.getName());
    static final int RESYNC_PARALLEL = 4;
    /** Resync is background work: it waits for a factory as long as it takes. */
    private static final Duration RESYNC_WAIT = Duration.ofDays(3650);

    private final String name;
    private final List<String> paths;
    private final BlockDevice[] legs;
    private final RegionLog log;
    private final int regionSectors;
    private final long regions;
    private final long sectors;
    private final ClientBinding kcopyd;
    private final Backoff backoff;
    private volatile boolean errorHandling;
    private final View view = new View();

    private final Object lock = new Object();
    private final Map<Long, Integer> writesInFlight = new HashMap<>();
    private final Map<Long, List<Runnable>> drainWaiters = new HashMap<>();
    private final Map<Long, CompletableFuture<Void>> recovering = new HashMap<>();
    private final ArrayDeque<Long> resyncQueue = new ArrayDeque<>();
    private final Set<Long> queued = new HashSet<>();
    /** Regions taken for a resync: waiting for a client, waiting for their writes, or being copied. */
    private int resyncRunning;
    /** The clients awaited for resync copies: cancelled on close, so that closing does not wait for a factory. */
    private final Set<CompletableFuture<KcopydClient>> clientWaits = new HashSet<>();
    /** True while the resync waits for a retry after a transient failure. */
    private boolean paused;
    private long resyncTotal;
    private long resyncDone;
    private long resyncBytes;
    private long resyncStarted;
    /** Completed by {@link #start()} when there is nothing to resync, else when the resync ends. */
    private CompletableFuture<Void> inSync = new CompletableFuture<>();
    private boolean closed;

    MirrorVolume(String name, List<String> paths, List<BlockDevice> legs, RegionLog log, int regionSectors,
            ClientBinding kcopyd, boolean errorHandling, Backoff backoff) {
        this.name = name;
        this.paths = List.copyOf(paths);
        this.legs = legs.toArray(new BlockDevice[0]);
        this.log = log;
        this.regionSectors = regionSectors;
        this.sectors = legs.stream().mapToLong(BlockDevice::sizeInSectors).min().orElseThrow();
        this.regions = regionsOf(sectors, regionSectors);
        this.kcopyd = kcopyd;
        this.errorHandling = errorHandling;
        this.backoff = backoff;
    }

    static long regionsOf(long sectors, int regionSectors) {
        return (sectors + regionSectors - 1) / regionSectors;
    }

    void setErrorHandling(boolean on) {
        errorHandling = on;
    }

    /** Queues the resync the log asks for: dirty regions after a crash, every region for new legs. */
    void start() {
        boolean fullResync = false;
        for (int i = 0; i < legs.length; i++) {
            fullResync |= log.state(i) == LegState.RESYNCING;
        }
        synchronized (lock) {
            List<Long> work = new ArrayList<>();
            if (fullResync) {
                for (long r = 0; r < regions; r++) {
                    work.add(r);
                }
            } else if (log.recovered()) {
                work.addAll(log.dirtyRegions());
            }
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
                LOG.log(System.Logger.Level.INFO, "mirror '" + name + "': resyncing " + resyncTotal + " regions"
                        + (fullResync ? " (new or replaced legs)" : " (dirty at the last stop)"));
            }
        }
        kick();
    }

    /**
     * Stops the resync and waits (up to 30 s) until no resync copy and no write is in flight, so
     * that the legs can be closed without a late I/O failing on a closed file. A resync that waits
     * for a kcopyd factory is given up at once, not waited for; a write that comes later is
     * refused. Regions not yet resynced stay dirty in the log and are resynced at the next start.
     * When everything drained, the legs' fingerprints are recorded in the log for the next open
     * to check (see {@link RegionLog}).
     */
    void close() {
        List<CompletableFuture<KcopydClient>> waits;
        synchronized (lock) {
            closed = true;
            // The queued regions still await their resync: a write ending now must leave their bits set.
            resyncQueue.clear();
            waits = new ArrayList<>(clientWaits);
        }
        waits.forEach(w -> w.cancel(false));
        synchronized (lock) {
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
            while ((resyncRunning > 0 || !writesInFlight.isEmpty()) && System.nanoTime() < deadline) {
                try {
                    lock.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            if (resyncRunning > 0 || !writesInFlight.isEmpty()) {
                LOG.log(System.Logger.Level.WARNING, "mirror '" + name + "': closed with I/O still in flight after 30 s;"
                        + " its legs' contents are not recorded, so they are not checked at the next start");
                return;
            }
        }
        recordFingerprints();
    }

    /** Nothing writes the legs any more: their fingerprints go into the log, to be checked at the next open. */
    private void recordFingerprints() {
        byte[][] fingerprints = new byte[legs.length][];
        for (int i = 0; i < legs.length; i++) {
            if (log.state(i) == LegState.FAILED) {
                continue;
            }
            try {
                fingerprints[i] = LegFingerprint.of(legs[i]);
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "mirror '" + name + "': leg " + i + " (" + paths.get(i)
                        + ") could not be read for its fingerprint; it is not checked at the next start", e);
            }
        }
        try {
            log.closedCleanly(fingerprints);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "mirror '" + name + "': recording the legs' fingerprints in the region "
                    + "log failed; they are not checked at the next start", e);
        }
    }

    // ---- Mirror ----

    @Override
    public String name() {
        return name;
    }

    @Override
    public java.util.UUID regionLogId() {
        return log.id();
    }

    @Override
    public BlockDevice device() {
        return view;
    }

    @Override
    public MirrorStatus status() {
        List<LegStatus> legStatus = new ArrayList<>();
        for (int i = 0; i < legs.length; i++) {
            legStatus.add(new LegStatus(i, paths.get(i), log.state(i), log.failure(i)));
        }
        synchronized (lock) {
            double seconds = (System.nanoTime() - resyncStarted) / 1e9;
            double rate = resyncTotal == 0 || seconds <= 0 ? 0 : resyncBytes / seconds;
            return new MirrorStatus(name, legStatus, regions, resyncTotal - resyncDone, resyncDone,
                    inSync.isDone() ? 0 : rate);
        }
    }

    @Override
    public CompletionStage<Void> whenInSync() {
        synchronized (lock) {
            return inSync;
        }
    }

    // ---- legs ----

    private int defaultLeg() {
        for (int i = 0; i < legs.length; i++) {
            if (log.state(i) == LegState.IN_SYNC) {
                return i;
            }
        }
        return -1;
    }

    private void failLeg(int leg, String cause) {
        if (log.state(leg) == LegState.FAILED) {
            return;
        }
        try {
            log.setState(leg, LegState.FAILED, cause);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.ERROR, "mirror '" + name + "': recording the failure of leg " + leg
                    + " in the region log failed", e);
        }
        LOG.log(System.Logger.Level.ERROR, "mirror '" + name + "': leg " + leg + " (" + paths.get(leg)
                + ") failed and is no longer used: " + cause);
    }

    private static String message(Throwable t) {
        Throwable cause = t;
        while (cause.getCause() != null && (cause instanceof java.util.concurrent.CompletionException)) {
            cause = cause.getCause();
        }
        return cause.getMessage();
    }

    // ---- writes ----

    CompletionStage<Void> write(long sector, ByteBuffer src) {
        long first = sector / regionSectors;
        long last = (sector + src.remaining() / SECTOR - 1) / regionSectors;
        List<CompletableFuture<Void>> busy = new ArrayList<>();
        synchronized (lock) {
            if (closed) {
                // Its legs may be closing, and their fingerprints are being recorded as they are now.
                return CompletableFuture.failedFuture(new IOException("mirror '" + name + "' is closed"));
            }
            for (long r = first; r <= last; r++) {
                CompletableFuture<Void> f = recovering.get(r);
                if (f != null) {
                    busy.add(f);
                }
            }
            if (busy.isEmpty()) {
                for (long r = first; r <= last; r++) {
                    writesInFlight.merge(r, 1, Integer::sum);
                }
            }
        }
        if (!busy.isEmpty()) {
            return CompletableFuture.allOf(busy.toArray(new CompletableFuture<?>[0]))
                    .thenCompose(v -> write(sector, src));
        }
        long marked = first;
        try {
            for (; marked <= last; marked++) {
                log.markDirty(marked);
            }
        } catch (IOException e) {
            writesDone(first, last, marked - 1);
            return CompletableFuture.failedFuture(new IOException("mirror '" + name
                    + "': the region log could not be updated, write refused: " + e.getMessage(), e));
        }
        List<CompletableFuture<Boolean>> perLeg = new ArrayList<>();
        for (int i = 0; i < legs.length; i++) {
            if (log.state(i) == LegState.FAILED) {
                continue;
            }
            int leg = i;
            CompletionStage<Void> stage;
            try {
                stage = legs[i].write(sector, src.duplicate());
            } catch (RuntimeException e) {
                stage = CompletableFuture.failedFuture(e);
            }
            perLeg.add(stage.toCompletableFuture().handle((v, e) -> {
                if (e != null) {
                    failLeg(leg, "write at sector " + sector + " failed: " + message(e));
                    return false;
                }
                return true;
            }));
        }
        return CompletableFuture.allOf(perLeg.toArray(new CompletableFuture<?>[0])).thenCompose(v -> {
            writesDone(first, last, last);
            boolean anyWritten = perLeg.stream().anyMatch(CompletableFuture::join);
            if (!anyWritten) {
                return CompletableFuture.failedFuture(new IOException("mirror '" + name
                        + "': the write at sector " + sector + " failed on every leg"));
            }
            src.position(src.limit());
            return CompletableFuture.completedFuture(null);
        });
    }

    /**
     * A write to regions {@code first..last} is over; the log counted it in {@code first..marked}.
     * A region's bit is cleared by the log when its last write is done, unless the region waits
     * for a resync (which clears it); a resync waiting for the region's writes to drain runs then.
     */
    private void writesDone(long first, long last, long marked) {
        List<Runnable> ready = new ArrayList<>();
        Set<Long> resyncFree = new HashSet<>();
        synchronized (lock) {
            for (long r = first; r <= last; r++) {
                if (!queued.contains(r)) {
                    resyncFree.add(r);
                }
                if (writesInFlight.merge(r, -1, Integer::sum) == 0) {
                    writesInFlight.remove(r);
                    List<Runnable> waiting = drainWaiters.remove(r);
                    if (waiting != null) {
                        ready.addAll(waiting);
                    }
                }
            }
            lock.notifyAll();
        }
        for (long r = first; r <= marked; r++) {
            try {
                log.writeDone(r, resyncFree.contains(r));
            } catch (IOException e) {
                // The bit stays set: that region is resynced after a restart, which is safe.
                LOG.log(System.Logger.Level.WARNING, "mirror '" + name + "': clearing region " + r + " failed", e);
            }
        }
        // After the log's count: the resync that clears the region finds no write counted in it.
        ready.forEach(Runnable::run);
    }

    // ---- reads ----

    CompletionStage<Void> read(long sector, ByteBuffer dst) {
        int leg = defaultLeg();
        if (leg < 0) {
            return CompletableFuture.failedFuture(new IOException("mirror '" + name + "' has no in-sync leg left"));
        }
        ByteBuffer view = dst.duplicate();
        return legs[leg].read(sector, view).toCompletableFuture().handle((v, e) -> {
            if (e == null) {
                dst.position(dst.limit());
                return CompletableFuture.<Void>completedFuture(null);
            }
            failLeg(leg, "read at sector " + sector + " failed: " + message(e));
            return read(sector, dst).toCompletableFuture();
        }).thenCompose(f -> f);
    }

    // ---- resync ----

    private void kick() {
        while (true) {
            Long region;
            synchronized (lock) {
                if (closed || paused || resyncRunning >= RESYNC_PARALLEL || resyncQueue.isEmpty()) {
                    finishResyncIfDone();
                    return;
                }
                region = resyncQueue.poll();
                resyncRunning++;
            }
            CompletableFuture<KcopydClient> waiting = kcopyd.client(RESYNC_WAIT);
            boolean cancel;
            synchronized (lock) {
                cancel = closed;
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
            if (closed) {
                resyncRunning--;
                lock.notifyAll();
                return;
            }
        }
        quiesceThenCopy(region);
    }

    /** Marks the region recovering (new writes wait), waits for its writes in flight, then copies it. */
    private void quiesceThenCopy(long region) {
        boolean wait;
        synchronized (lock) {
            recovering.put(region, new CompletableFuture<>());
            wait = writesInFlight.getOrDefault(region, 0) > 0;
            if (wait) {
                drainWaiters.computeIfAbsent(region, r -> new ArrayList<>()).add(() -> copyRegion(region));
            }
        }
        if (!wait) {
            copyRegion(region);
        }
    }

    private void copyRegion(long region) {
        int source = defaultLeg();
        long start = region * regionSectors;
        int length = (int) Math.min(regionSectors, sectors - start);
        List<Integer> targets = new ArrayList<>();
        for (int i = 0; i < legs.length; i++) {
            if (i != source && log.state(i) != LegState.FAILED) {
                targets.add(i);
            }
        }
        if (source < 0) {
            // Nothing to copy from: the region stays dirty, and the resync ends unfinished.
            regionDone(region, 0, false);
            return;
        }
        if (targets.isEmpty()) {
            regionDone(region, 0, true);
            return;
        }
        List<IoRegion> dests = new ArrayList<>();
        for (int t : targets) {
            dests.add(IoRegion.of(legs[t], start, length));
        }
        EnumSet<CopyFlag> flags = errorHandling ? EnumSet.noneOf(CopyFlag.class) : EnumSet.of(CopyFlag.IGNORE_ERROR);
        CompletableFuture<CopyResult> copy;
        try {
            copy = kcopyd.submit(RESYNC_WAIT, client -> client.copy(IoRegion.of(legs[source], start, length), dests,
                    flags));
        } catch (RuntimeException e) {
            copy = CompletableFuture.failedFuture(e);
        }
        copy.whenComplete((result, error) -> afterCopy(region, source, targets, length, result, error));
    }

    private void afterCopy(long region, int source, List<Integer> targets, int length, CopyResult result,
            Throwable error) {
        boolean stopping;
        synchronized (lock) {
            stopping = closed;
        }
        if (stopping) {
            // Closing: whatever this copy did, the region stays dirty and is resynced next time.
            requeue(region);
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
                failLeg(leg, "resync of region " + region + " refused: " + describe(cause));
            }
            regionDone(region, 0, true);
            return;
        }
        backoff.reset();
        if (result.readError()) {
            failLeg(source, "resync read of region " + region + " failed: "
                    + result.readFailure().map(Throwable::getMessage).orElse("read error"));
            requeue(region);
            return;
        }
        for (int i = 0; i < targets.size(); i++) {
            if (result.destinationFailed(i)) {
                int leg = targets.get(i);
                failLeg(leg, "resync write of region " + region + " failed: "
                        + result.writeFailure(i).map(Throwable::getMessage).orElse("write error"));
            }
        }
        regionDone(region, (long) length * SECTOR, true);
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
            f = recovering.remove(region);
            resyncRunning--;
            if (!closed) {
                resyncQueue.addFirst(region);
            }
            schedule = !closed && !paused;
            paused = true;
            lock.notifyAll();
        }
        if (f != null) {
            f.complete(null);
        }
        if (schedule) {
            long delay = backoff.retry(this::resume);
            LOG.log(System.Logger.Level.WARNING, "mirror '" + name + "': resync of region " + region
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
            f = recovering.remove(region);
            resyncRunning--;
            if (!closed) {
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

    private void regionDone(long region, long bytes, boolean clean) {
        if (clean) {
            try {
                log.markClean(region);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "mirror '" + name + "': clearing region " + region + " failed", e);
            }
        }
        CompletableFuture<Void> f;
        synchronized (lock) {
            f = recovering.remove(region);
            queued.remove(region);
            resyncRunning--;
            resyncDone++;
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
            return closed;
        }
    }

    /** Under lock: when the queue is empty and nothing runs, resyncing legs become in sync. */
    private void finishResyncIfDone() {
        if (resyncRunning > 0 || !resyncQueue.isEmpty() || inSync.isDone() || closed) {
            return;
        }
        if (defaultLeg() < 0) {
            // No leg holds the data any more: the resyncing legs must not be declared in sync.
            LOG.log(System.Logger.Level.ERROR, "mirror '" + name + "': no in-sync leg left; the resync stopped");
            inSync.completeExceptionally(new IOException("mirror '" + name + "' has no in-sync leg left: "
                    + "the resync stopped"));
            return;
        }
        for (int i = 0; i < legs.length; i++) {
            if (log.state(i) == LegState.RESYNCING) {
                try {
                    log.setState(i, LegState.IN_SYNC, null);
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.ERROR, "mirror '" + name + "': recording leg " + i + " in sync failed",
                            e);
                }
            }
        }
        LOG.log(System.Logger.Level.INFO, "mirror '" + name + "': resync complete (" + resyncDone + " regions)");
        inSync.complete(null);
    }

    private static final int SECTOR = BlockDevice.SECTOR_SIZE;

    @Override
    public String toString() {
        return "Mirror[" + name + ", " + legs.length + " legs, " + regions + " regions]";
    }

    /** The mirror as a block device. */
    private final class View implements BlockDevice {
        @Override
        public String name() {
            return "mirror " + name;
        }

        @Override
        public long sizeInSectors() {
            return sectors;
        }

        @Override
        public boolean isReadOnly() {
            return false;
        }

        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            return MirrorVolume.this.read(sector, dst);
        }

        @Override
        public CompletionStage<Void> write(long sector, ByteBuffer src) {
            return MirrorVolume.this.write(sector, src);
        }

        @Override
        public CompletionStage<Void> flush() {
            List<CompletableFuture<Void>> all = new ArrayList<>();
            for (int i = 0; i < legs.length; i++) {
                if (log.state(i) != LegState.FAILED) {
                    all.add(legs[i].flush().toCompletableFuture());
                }
            }
            return CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0]));
        }
    }
}
