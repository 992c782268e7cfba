package org.kcopyd.cli.internal.verify;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.kcopyd.api.BlockDevice;

/**
 * Reads destination regions back and compares them with a source region, chunk by chunk.
 *
 * <p><b>Memory.</b> At most {@code budgetBytes} of buffers: each of the worker threads holds one
 * source buffer and one destination buffer of one chunk, so {@code 2 × workers × chunk ≤ budget};
 * a chunk is at most {@value #MAX_CHUNK} bytes, and fewer workers run when the budget would make
 * their chunks smaller than {@value #PAGE} bytes (each buffer of whole pages is allocated one page
 * longer, to align it). The destinations of a chunk are compared one
 * after another against the one source read of it. Buffers are direct and aligned to
 * {@value #PAGE} bytes, so that a device opened with O_DIRECT reads them past the page cache.
 *
 * <p><b>O_DIRECT.</b> A destination's {@linkplain Destination#alignmentBytes() alignment} splits
 * its reads: the aligned body of a chunk in one request, a remainder shorter than the alignment
 * (only at the region's end) in another, which a file device serves from the page cache.
 *
 * <p><b>Threading.</b> {@link #verify} blocks its caller until every chunk has been compared
 * (or every destination decided); it runs the workers on threads of its own and waits for the
 * devices' stages itself, so it works with devices that complete on any thread. Closing a
 * device under it makes its reads fail, which ends the comparison with {@link Verdict.State#ERROR}.
 *
 * <p><b>Errors.</b> A destination whose read fails is in error unless a difference was found
 * before the failing chunk; a source read failure leaves every destination not decided before it
 * with a source error (neither known to differ nor known to be equal). A difference is reported
 * at the first differing sector of the region.
 */
public final class RegionVerifier {

    /** The alignment of the buffers and of O_DIRECT reads on most file systems. */
    public static final int PAGE = 4096;
    /**
     * The largest chunk one worker compares at a time: a source and a destination buffer of it
     * together fit a core's 512 KiB L2 cache, so that the comparison reads what the reads just
     * wrote from the cache (BENCHMARKS.md, stop 18: 1 MiB chunks took up to 10% longer on tmpfs).
     */
    public static final int MAX_CHUNK = 1 << 18;

    private static final long NONE = Long.MAX_VALUE;

    /**
     * A destination region to read back.
     *
     * @param device         the device, opened for reading (with O_DIRECT where wanted)
     * @param sector         the region's first sector on it
     * @param alignmentBytes the size requests must be multiples of to bypass the page cache
     *                       ({@value BlockDevice#SECTOR_SIZE} where it does not matter)
     */
    public record Destination(BlockDevice device, long sector, int alignmentBytes) {
    }

    private final int workers;
    private final int chunkBytes;

    /**
     * @param budgetBytes the most bytes of buffers, at least two sectors ({@code 1024})
     * @param threads     the most worker threads, 1..64
     * @throws IllegalArgumentException naming the value and its limit
     */
    public RegionVerifier(long budgetBytes, int threads) {
        if (budgetBytes < 2L * BlockDevice.SECTOR_SIZE) {
            throw new IllegalArgumentException("verify budget " + budgetBytes + " bytes is below the least, "
                    + 2 * BlockDevice.SECTOR_SIZE + " (a source and a destination sector)");
        }
        if (threads < 1 || threads > 64) {
            throw new IllegalArgumentException("verify threads " + threads + " is outside 1..64");
        }
        int w = threads;
        while (w > 1 && budgetBytes / (2L * w) < PAGE) {
            w--;
        }
        long chunk = Math.min(MAX_CHUNK, budgetBytes / (2L * w));
        chunk = chunk >= PAGE ? chunk / PAGE * PAGE : chunk / BlockDevice.SECTOR_SIZE * BlockDevice.SECTOR_SIZE;
        this.workers = w;
        this.chunkBytes = (int) chunk;
    }

    /** @return the bytes one worker compares at a time */
    public int chunkBytes() {
        return chunkBytes;
    }

    /** @return the worker threads a comparison runs */
    public int workers() {
        return workers;
    }

    /**
     * Compares each destination region with the source region.
     *
     * @param source       the source device
     * @param sourceSector the source region's first sector
     * @param sectors      the regions' length in sectors, at least 1
     * @param destinations the destination regions, each at least {@code sectors} long
     * @return one verdict per destination, in order
     */
    public List<Verdict> verify(BlockDevice source, long sourceSector, long sectors, List<Destination> destinations) {
        if (sectors < 1) {
            throw new IllegalArgumentException("verify of " + sectors + " sectors: at least 1 is needed");
        }
        Run run = new Run(source, sourceSector, sectors, destinations);
        long chunks = (sectors * BlockDevice.SECTOR_SIZE + chunkBytes - 1) / chunkBytes;
        int n = (int) Math.min(workers, chunks);
        if (n == 1) {
            run.work();
        } else {
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Thread t = new Thread(run::work, "kcopyd-verify-" + i);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
            boolean interrupted = false;
            for (Thread t : threads) {
                while (true) {
                    try {
                        t.join();
                        break;
                    } catch (InterruptedException e) {
                        // The caller's interruption stops the workers at their next chunk; wait for them.
                        interrupted = true;
                        run.stop();
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        return run.verdicts();
    }

    /** One comparison: the chunks are taken in ascending order by the workers. */
    private final class Run {
        private final BlockDevice source;
        private final long sourceSector;
        private final long sectors;
        private final List<Destination> dests;
        private final int chunkSectors = chunkBytes / BlockDevice.SECTOR_SIZE;
        private final AtomicLong nextChunk = new AtomicLong();
        private final AtomicLongArray firstMismatch;
        private final AtomicLongArray failedAt;
        private final AtomicReferenceArray<Throwable> failures;
        private final AtomicLong sourceFailedAt = new AtomicLong(NONE);
        private final AtomicReference<Throwable> sourceFailure = new AtomicReference<>();
        private volatile boolean stopped;

        Run(BlockDevice source, long sourceSector, long sectors, List<Destination> dests) {
            this.source = source;
            this.sourceSector = sourceSector;
            this.sectors = sectors;
            this.dests = List.copyOf(dests);
            int n = dests.size();
            firstMismatch = new AtomicLongArray(n);
            failedAt = new AtomicLongArray(n);
            failures = new AtomicReferenceArray<>(n);
            for (int i = 0; i < n; i++) {
                firstMismatch.set(i, NONE);
                failedAt.set(i, NONE);
            }
        }

        void stop() {
            stopped = true;
        }

        void work() {
            ByteBuffer src = aligned(chunkBytes);
            ByteBuffer dst = aligned(chunkBytes);
            while (!stopped) {
                long offset = nextChunk.getAndIncrement() * chunkSectors;
                if (offset >= sectors || offset >= sourceFailedAt.get()) {
                    return;
                }
                int count = (int) Math.min(chunkSectors, sectors - offset);
                if (!anyUndecided(offset)) {
                    // Every destination is decided at or before this chunk, and so for every later one.
                    return;
                }
                try {
                    read(source, sourceSector + offset, src, count, BlockDevice.SECTOR_SIZE);
                } catch (IOException e) {
                    sourceFailed(offset, e);
                    return;
                }
                for (int i = 0; i < dests.size(); i++) {
                    if (decidedAt(i) <= offset) {
                        continue;
                    }
                    Destination d = dests.get(i);
                    try {
                        read(d.device(), d.sector() + offset, dst, count, d.alignmentBytes());
                    } catch (IOException e) {
                        failed(i, offset, e);
                        continue;
                    }
                    int at = src.mismatch(dst);
                    if (at >= 0) {
                        min(firstMismatch, i, offset + at / BlockDevice.SECTOR_SIZE);
                    }
                }
            }
        }

        private boolean anyUndecided(long offset) {
            for (int i = 0; i < dests.size(); i++) {
                if (decidedAt(i) > offset) {
                    return true;
                }
            }
            return false;
        }

        /**
         * Records a source read failure at {@code offset} if it is the first so far. The sector and
         * its exception are recorded together: two workers failing at once must not leave one's
         * sector with the other's exception.
         */
        private synchronized void sourceFailed(long offset, IOException e) {
            if (offset < sourceFailedAt.get()) {
                sourceFailedAt.set(offset);
                sourceFailure.set(e);
            }
        }

        /** As {@link #sourceFailed}, for destination {@code i}. */
        private synchronized void failed(int i, long offset, IOException e) {
            if (offset < failedAt.get(i)) {
                failedAt.set(i, offset);
                failures.set(i, e);
            }
        }

        private long decidedAt(int i) {
            return Math.min(firstMismatch.get(i), failedAt.get(i));
        }

        List<Verdict> verdicts() {
            List<Verdict> out = new ArrayList<>();
            long sourceAt = sourceFailedAt.get();
            for (int i = 0; i < dests.size(); i++) {
                long mismatch = firstMismatch.get(i);
                long failed = Math.min(failedAt.get(i), sourceAt);
                if (mismatch != NONE && mismatch < failed) {
                    out.add(Verdict.mismatch(dests.get(i).sector() + mismatch));
                } else if (failed != NONE && failedAt.get(i) <= sourceAt) {
                    out.add(Verdict.error(failures.get(i)));
                } else if (failed != NONE) {
                    out.add(Verdict.sourceError(new IOException("reading the source " + source.name() + " back failed: "
                            + sourceFailure.get().getMessage(), sourceFailure.get())));
                } else if (stopped) {
                    out.add(Verdict.error(new InterruptedIOException("the verification was interrupted")));
                } else {
                    out.add(Verdict.ok());
                }
            }
            return out;
        }
    }

    private static void min(AtomicLongArray values, int i, long candidate) {
        values.accumulateAndGet(i, candidate, Math::min);
    }

    /** @return a direct buffer of {@code bytes}, aligned to a page when it is whole pages (allocated a page longer) */
    private static ByteBuffer aligned(int bytes) {
        if (bytes % PAGE != 0) {
            // Smaller than a page (the least budgets): O_DIRECT could not take it anyway.
            return ByteBuffer.allocateDirect(bytes);
        }
        return ByteBuffer.allocateDirect(bytes + PAGE).alignedSlice(PAGE).limit(bytes);
    }

    /**
     * Reads {@code count} sectors into the start of {@code buffer}, the part that is a multiple of
     * {@code alignment} in one request and the remainder in another; leaves the buffer flipped.
     */
    private static void read(BlockDevice device, long sector, ByteBuffer buffer, int count, int alignment)
            throws IOException {
        int bytes = count * BlockDevice.SECTOR_SIZE;
        int body = alignment > BlockDevice.SECTOR_SIZE && bytes > alignment ? bytes / alignment * alignment : bytes;
        readPart(device, sector, buffer, 0, body);
        if (body < bytes) {
            readPart(device, sector + body / BlockDevice.SECTOR_SIZE, buffer, body, bytes - body);
        }
        buffer.limit(bytes).position(0);
    }

    private static void readPart(BlockDevice device, long sector, ByteBuffer buffer, int from, int bytes)
            throws IOException {
        ByteBuffer part = buffer.duplicate().clear().position(from).limit(from + bytes);
        try {
            device.read(sector, part).toCompletableFuture().get();
        } catch (ExecutionException | CompletionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw cause instanceof IOException io ? io
                    : new IOException("reading " + device.name() + " at sector " + sector + " failed: " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted reading " + device.name() + " at sector " + sector);
        } catch (RuntimeException e) {
            throw new IOException("reading " + device.name() + " at sector " + sector + " failed: " + e, e);
        }
        if (part.hasRemaining()) {
            throw new IOException("reading " + device.name() + " at sector " + sector + " returned "
                    + (part.position() - from) + " of " + bytes + " bytes");
        }
    }
}
