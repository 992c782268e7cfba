package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.LegStatus;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.mirror.MirrorStatus;

/**
 * A mirror over several legs (dm-raid1): writes go to every healthy leg after the region is
 * marked dirty in the log; reads come from the default leg (the first in-sync one); its
 * {@link MirrorResync} copies the regions that need it from the default leg to the other legs.
 * Writes to a region wait while it is resynchronised, which then goes at full speed, whatever the
 * throttle; a resync of a region waits until the writes in flight there have completed
 * ({@link #quiesce}).
 */
final class MirrorVolume implements Mirror {

    private static final System.Logger LOG = System.getLogger(MirrorVolume.class.getName());

    final String name;
    private final List<String> paths;
    final BlockDevice[] legs;
    final RegionLog log;
    final int regionSectors;
    final long regions;
    final long sectors;
    private final MirrorResync resync;
    /** Clears regions' bits once their data is durable on every leg. */
    final RegionCleaner cleaner;
    private final View view = new View();

    private final Object lock = new Object();
    private final Map<Long, Integer> writesInFlight = new HashMap<>();
    private final Map<Long, List<Runnable>> drainWaiters = new HashMap<>();
    /** Regions being resynced: writes there wait for the stage. */
    private final Map<Long, CompletableFuture<Void>> recovering = new HashMap<>();
    /** Under the lock: the mirror is closed (the resync reads it too). */
    boolean closed;

    MirrorVolume(String name, List<String> paths, List<BlockDevice> legs, RegionLog log, int regionSectors,
            ResyncClients kcopyd, Backoff backoff) {
        this.name = name;
        this.paths = List.copyOf(paths);
        this.legs = legs.toArray(new BlockDevice[0]);
        this.log = log;
        this.regionSectors = regionSectors;
        this.sectors = legs.stream().mapToLong(BlockDevice::sizeInSectors).min().orElseThrow();
        this.regions = regionsOf(sectors, regionSectors);
        this.cleaner = new RegionCleaner(this);
        this.resync = new MirrorResync(this, lock, kcopyd, backoff);
    }

    static long regionsOf(long sectors, int regionSectors) {
        return (sectors + regionSectors - 1) / regionSectors;
    }

    /**
     * Queues the resync the log asks for (dirty regions after a crash, every region for new legs);
     * it copies once every leg has been flushed: what the legs hold at the start may be only in
     * the page cache after a kill, and a region's bit is cleared only once its data is durable.
     */
    void start() {
        resync.start(cleaner.flushLegs());
    }


    /**
     * Stops the resync and waits (up to 30 s) until no resync copy and no write is in flight, so
     * that the legs can be closed without a late I/O failing on a closed file. A resync that waits
     * for a kcopyd factory is given up at once, not waited for; a write that comes later is
     * refused. Regions not yet resynced stay dirty in the log and are resynced at the next start.
     * Then the regions whose writes ended last are cleared, after a flush of the legs
     * ({@link RegionCleaner#drain}, within the same 30 s). When everything drained, the legs'
     * fingerprints are recorded in the log for the next open to check (see {@link RegionLog}).
     */
    void close() {
        List<Runnable> cancels;
        synchronized (lock) {
            closed = true;
            cancels = resync.stopLocked();
        }
        cancels.forEach(Runnable::run);
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        boolean drained = false;
        synchronized (lock) {
            try {
                while ((resync.runningLocked() > 0 || !writesInFlight.isEmpty()) && System.nanoTime() < deadline) {
                    lock.wait(100);
                }
                drained = resync.runningLocked() == 0 && writesInFlight.isEmpty();
                if (!drained) {
                    LOG.log(System.Logger.Level.WARNING, "mirror '" + name + "': closed with I/O still in flight after "
                            + "30 s; its legs' contents are not recorded, so they are not checked at the next start");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (!drained) {
            // Regions waiting to be cleared stay dirty: resynced at the next start.
            cleaner.stop();
            return;
        }
        // The regions whose writes ended last are cleared once the legs are flushed.
        cleaner.drain(deadline);
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
            String failure = log.failure(i);
            if (legs[i] instanceof AbsentLeg absent) {
                failure = (failure == null ? "" : failure + "; ") + absent.why();
            }
            legStatus.add(new LegStatus(i, paths.get(i), log.state(i), failure));
        }
        synchronized (lock) {
            return new MirrorStatus(name, legStatus, regions, resync.remainingLocked(), resync.doneLocked(),
                    resync.rateLocked());
        }
    }

    @Override
    public CompletionStage<Void> whenInSync() {
        return resync.inSync();
    }

    // ---- legs ----

    int defaultLeg() {
        for (int i = 0; i < legs.length; i++) {
            if (log.state(i) == LegState.IN_SYNC) {
                return i;
            }
        }
        return -1;
    }

    void failLeg(int leg, String cause) {
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
        List<Runnable> hurry = new ArrayList<>();
        synchronized (lock) {
            if (closed) {
                // Its legs may be closing, and their fingerprints are being recorded as they are now.
                return CompletableFuture.failedFuture(new IOException("mirror '" + name + "' is closed"));
            }
            if (defaultLeg() < 0) {
                // H43 F4: acknowledged on a leg being resynced, it could never be read back (reads fail, the next
                // start refuses the log): refused, as every read is.
                return CompletableFuture.failedFuture(new IOException(noInSyncLeg()));
            }
            for (long r = first; r <= last; r++) {
                CompletableFuture<Void> f = recovering.get(r);
                if (f != null) {
                    busy.add(f);
                    // Not at the throttle's pace: a client waits for this write (H50-4).
                    hurry.addAll(resync.hurryLocked(r));
                }
            }
            if (busy.isEmpty()) {
                for (long r = first; r <= last; r++) {
                    writesInFlight.merge(r, 1, Integer::sum);
                }
            }
        }
        hurry.forEach(Runnable::run);
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
                // Before writesDone: the batch that clears these regions flushes this leg.
                cleaner.written(leg);
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
     * A region whose last write is done waits for its bit to be cleared, unless the region waits
     * for a resync (which clears it); the {@link RegionCleaner} clears it once every leg has been
     * flushed after that write. A resync waiting for the region's writes to drain runs then.
     */
    private void writesDone(long first, long last, long marked) {
        List<Runnable> ready = new ArrayList<>();
        Set<Long> resyncFree = new HashSet<>();
        synchronized (lock) {
            for (long r = first; r <= last; r++) {
                if (!resync.awaitsLocked(r)) {
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
        boolean toClean = false;
        for (long r = first; r <= marked; r++) {
            toClean |= log.writeDone(r, resyncFree.contains(r));
        }
        if (toClean) {
            cleaner.request();
        }
        // After the log's count: the resync that clears the region finds no write counted in it.
        ready.forEach(Runnable::run);
    }

    /** @return why I/O fails when no leg is in sync: none holds all the mirror's data */
    private String noInSyncLeg() {
        return "mirror '" + name + "' has no in-sync leg left";
    }

    // ---- reads ----

    CompletionStage<Void> read(long sector, ByteBuffer dst) {
        int leg = defaultLeg();
        if (leg < 0) {
            return CompletableFuture.failedFuture(new IOException(noInSyncLeg()));
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

    // ---- quiescing a region for its resync ----

    /** For the resync: marks the region recovering (new writes wait), waits for its writes in flight, then copies it. */
    void quiesce(long region, Runnable copy) {
        boolean wait;
        synchronized (lock) {
            recovering.put(region, new CompletableFuture<>());
            wait = writesInFlight.getOrDefault(region, 0) > 0;
            if (wait) {
                drainWaiters.computeIfAbsent(region, r -> new ArrayList<>()).add(copy);
            }
        }
        if (!wait) {
            copy.run();
        }
    }

    /**
     * Under the lock, for the resync: the region's recovery is over; the caller completes the
     * returned stage, outside the lock, and the region's writers go on.
     */
    CompletableFuture<Void> recoveryEnded(long region) {
        return recovering.remove(region);
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

        /** Writes go to every leg: the largest of their minimum blocks. */
        @Override
        public int minimumBlockBytes() {
            int most = SECTOR_SIZE;
            for (BlockDevice leg : legs) {
                most = Math.max(most, leg.minimumBlockBytes());
            }
            return most;
        }

        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            return MirrorVolume.this.read(sector, dst);
        }

        /**
         * Where the mirror's data is: the answer of the leg reads go to (the first in-sync leg,
         * whose content every in-sync leg has), so that a sparse copy of the mirror skips its
         * holes. A failed answer is taken as all data by the caller, as {@link BlockDevice#extents} says.
         */
        @Override
        public CompletionStage<List<Extent>> extents(long sector, long count) {
            int leg = defaultLeg();
            if (leg < 0) {
                return CompletableFuture.failedFuture(new IOException(noInSyncLeg()));
            }
            return legs[leg].extents(sector, count);
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
