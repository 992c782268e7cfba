package org.kcopyd.cli.internal.verify;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.kcopyd.api.BlockDevice;

/**
 * A read-only view of a source device that feeds what the engine reads of one region to a
 * {@link MessageDigest} in sector order, so that a copy yields the region's digest without a
 * second read of the source.
 *
 * <p><b>Out of order.</b> The engine reads a job's chunks in parallel: they are issued in
 * ascending order but complete in any order. A read that completes at the next sector to hash is
 * hashed at once, followed by every held chunk it makes contiguous. A read that completes ahead
 * of that sector is <em>copied</em> (its buffer is a page of the engine's pool, which goes back to
 * the pool as soon as the chunk is written) while the copies stay within {@code limitBytes}.
 * Beyond that, its completion is held back instead: the engine's page stays with the read until
 * the digest reaches it, so the engine cannot read further ahead than its own pages allow.
 *
 * <p><b>Memory bound.</b> Copies never exceed {@code limitBytes}; give the client's page count ×
 * 4096 (the engine's pages in flight are at most that, so a chunk-ahead pattern that the engine can
 * produce without waiting fits in it). Held-back completions hold only engine pages, at most the
 * client's pages. They cannot wait for ever: reads are issued in ascending order, so the read at the
 * next sector to hash was issued before any held one, already has its pages, and completes on its
 * own; its completion releases the held ones in order.
 *
 * <p><b>Errors.</b> A failed read, or a read outside the region or of sectors read before, makes
 * the digest unavailable ({@link #digest} throws, naming why) and releases every held completion;
 * the failed read itself fails as the source's did. Writes are refused: the view is read-only.
 *
 * <p><b>Threading.</b> Reads may complete on any thread; the digest is updated under this
 * object's lock, and the engine's completions run outside it. The digest itself runs on a thread
 * of this device's own, the calling thread waiting for it: HotSpot 17's SHA-256 (SHA-NI) ran ten
 * times slower on the engine's I/O threads than on a thread that does nothing else, on a CPU with
 * AVX-512 (H26: {@code copy --hash sha256} of an 8 GiB source took 128 s instead of 6; with
 * {@code -XX:UseAVX=2} it did not), so the digest is kept off them.
 *
 * <p><b>Equality.</b> Equal to the source it shows (and to another view of it), so that the engine's
 * overlap check ({@link org.kcopyd.api.IoRegion#overlaps}, which asks both devices) sees a destination
 * on the source as the source.
 */
public final class DigestingDevice implements BlockDevice {

    /** A chunk that completed ahead of the next sector to hash. */
    private record Held(int sectors, byte[] copy, ByteBuffer view, CompletableFuture<Void> completion) {
    }

    private final BlockDevice source;
    private final MessageDigest digest;
    private final long end;
    private final long limitBytes;
    private final TreeMap<Long, Held> held = new TreeMap<>();
    private long next;
    private long heldBytes;
    private long mostHeldBytes;
    private int deferred;
    private String broken;
    private boolean finished;
    /** Runs the digest's updates (see Threading); one thread, started by an update, ended when idle. */
    private final ExecutorService hasher;

    /**
     * @param source     the device read
     * @param digest     a fresh digest, updated with the region's bytes in order
     * @param start      the region's first sector
     * @param sectors    the region's length in sectors
     * @param limitBytes the most bytes of out-of-order chunks copied; at least 0
     */
    public DigestingDevice(BlockDevice source, MessageDigest digest, long start, long sectors, long limitBytes) {
        if (start < 0 || sectors < 0 || start > source.sizeInSectors() - sectors) {
            throw new IllegalArgumentException("region of " + sectors + " sectors at sector " + start + " is not within "
                    + source.name() + " (" + source.sizeInSectors() + " sectors)");
        }
        if (limitBytes < 0) {
            throw new IllegalArgumentException("copy limit " + limitBytes + " bytes is negative");
        }
        this.source = source;
        this.digest = digest;
        this.next = start;
        this.end = start + sectors;
        this.limitBytes = limitBytes;
        ThreadPoolExecutor one = new ThreadPoolExecutor(1, 1, 5, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "kcopyd-hash " + source.name());
            t.setDaemon(true);
            return t;
        });
        // Idle for 5 s, the thread ends: a copy that failed before its digest was taken leaves none behind.
        one.allowCoreThreadTimeOut(true);
        this.hasher = one;
    }

    @Override
    public boolean equals(Object o) {
        return o == this || source.equals(o instanceof DigestingDevice view ? view.source : o);
    }

    @Override
    public int hashCode() {
        return source.hashCode();
    }

    @Override
    public String name() {
        return source.name();
    }

    /** As the source's: a read only starts the source's read; the hashing happens when it completes. */
    @Override
    public boolean isNonBlocking() {
        return source.isNonBlocking();
    }

    @Override
    public int minimumBlockBytes() {
        return source.minimumBlockBytes();
    }

    @Override
    public long sizeInSectors() {
        return source.sizeInSectors();
    }

    @Override
    public boolean isReadOnly() {
        return true;
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        int from = dst.position();
        int bytes = dst.remaining();
        CompletableFuture<Void> result = new CompletableFuture<>();
        CompletionStage<Void> stage;
        try {
            stage = source.read(sector, dst);
        } catch (RuntimeException e) {
            stage = CompletableFuture.failedStage(e);
        }
        stage.whenComplete((ignored, failure) -> completed(sector, dst, from, bytes, failure, result));
        return result;
    }

    private void completed(long sector, ByteBuffer dst, int from, int bytes, Throwable failure,
            CompletableFuture<Void> result) {
        List<CompletableFuture<Void>> release = new ArrayList<>();
        boolean hold = false;
        synchronized (this) {
            int sectors = bytes / SECTOR_SIZE;
            if (failure != null) {
                breakDigest("reading sectors " + range(sector, sectors) + " failed: " + unwrap(failure).getMessage(),
                        release);
            } else if (broken != null) {
                // Nothing to hash any more; the copy goes on as the engine decides.
            } else if (sector < next || sector + sectors > end || overlapsHeld(sector, sectors)) {
                breakDigest("sectors " + range(sector, sectors) + " were read outside the region "
                        + range(next, end - next) + " still to hash, or twice", release);
            } else {
                ByteBuffer view = dst.duplicate().position(from);
                view.limit(from + bytes);
                if (sector == next) {
                    update(view);
                    next += sectors;
                    drain(release);
                } else if (heldBytes + bytes <= limitBytes) {
                    byte[] copy = new byte[bytes];
                    view.get(copy);
                    held.put(sector, new Held(sectors, copy, null, null));
                    heldBytes += bytes;
                    mostHeldBytes = Math.max(mostHeldBytes, heldBytes);
                } else {
                    held.put(sector, new Held(sectors, null, view, result));
                    deferred++;
                    hold = true;
                }
            }
        }
        if (!hold) {
            if (failure != null) {
                result.completeExceptionally(unwrap(failure));
            } else {
                result.complete(null);
            }
        }
        for (CompletableFuture<Void> f : release) {
            f.complete(null);
        }
    }

    private boolean overlapsHeld(long sector, int sectors) {
        Map.Entry<Long, Held> before = held.floorEntry(sector + sectors - 1);
        return before != null && before.getKey() + before.getValue().sectors() > sector;
    }

    /** Hashes the held chunks that follow the hashed ones without a gap. */
    private void drain(List<CompletableFuture<Void>> release) {
        Map.Entry<Long, Held> e;
        while ((e = held.firstEntry()) != null && e.getKey() == next) {
            held.pollFirstEntry();
            Held h = e.getValue();
            if (h.copy() != null) {
                update(ByteBuffer.wrap(h.copy()));
                heldBytes -= h.copy().length;
            } else {
                update(h.view());
                release.add(h.completion());
            }
            next += h.sectors();
        }
    }

    /**
     * Updates the digest with {@code bytes} on the hasher thread, waiting for it (under this object's
     * lock: the updates stay in order). Not interruptible: the bytes must be hashed before the engine
     * may reuse their buffer; an interrupt is kept for the caller.
     */
    private void update(ByteBuffer bytes) {
        Future<?> done = hasher.submit(() -> digest.update(bytes));
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    done.get();
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    throw new IllegalStateException("hashing " + name() + " failed: " + e.getCause(), e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void breakDigest(String why, List<CompletableFuture<Void>> release) {
        if (broken == null) {
            broken = why;
        }
        for (Held h : held.values()) {
            if (h.completion() != null) {
                release.add(h.completion());
            }
        }
        held.clear();
        heldBytes = 0;
    }

    /**
     * Finishes the digest: every sector of the region must have been hashed.
     *
     * @param tail bytes that follow the region (a regular file's last partial sector), or null
     * @return the digest of the region's bytes and the tail
     * @throws IllegalStateException if a read failed, the region was not read whole, or it was
     *                               finished before; the message says which
     */
    public synchronized byte[] digest(ByteBuffer tail) {
        if (broken != null) {
            throw new IllegalStateException("no digest of " + name() + ": " + broken);
        }
        if (next != end) {
            throw new IllegalStateException("no digest of " + name() + ": sectors " + range(next, end - next)
                    + " were not read");
        }
        if (finished) {
            throw new IllegalStateException("the digest of " + name() + " was taken already");
        }
        finished = true;
        // Every update has run (each was waited for): the hasher thread is no longer needed.
        hasher.shutdown();
        if (tail != null) {
            digest.update(tail);
        }
        return digest.digest();
    }

    /** @return the most bytes of out-of-order chunks held as copies at once */
    public synchronized long mostHeldBytes() {
        return mostHeldBytes;
    }

    /** @return how many completions were held back because the copies had reached their limit */
    public synchronized int deferredCompletions() {
        return deferred;
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        return CompletableFuture.failedStage(new IOException("device '" + name() + "' is read-only (hashed source)"));
    }

    @Override
    public CompletionStage<Void> flush() {
        return CompletableFuture.completedStage(null);
    }

    @Override
    public CompletionStage<IOException> whenLost() {
        return source.whenLost();
    }

    /** Closes the source device, and ends the hasher thread. */
    @Override
    public void close() throws IOException {
        hasher.shutdown();
        source.close();
    }

    private static String range(long sector, long sectors) {
        return "[" + sector + ", " + (sector + sectors) + ")";
    }

    private static Throwable unwrap(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }
}
