package org.kcopyd.impl.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;

/**
 * A source device for offload tests: passes everything to the device it wraps, offload included
 * (so the engine offloads exactly as to that device), and counts what the engine asked: offloads
 * (calls, sectors, refusals) and page-path reads. Its {@linkplain BlockDevice#offloadBeatsPagesTo advice} is the
 * wrapped device's, unless {@link #advise} overrides it. It can hold offloads from a sector on until
 * {@link #release()} (to cancel mid-offload), fail one offload or the reads at a sector with an
 * I/O error. Thread-safe.
 */
final class OffloadCountingDevice implements BlockDevice {

    private final BlockDevice inner;
    final AtomicInteger offloads = new AtomicInteger();
    final AtomicLong offloadedSectors = new AtomicLong();
    final AtomicInteger offloadFailures = new AtomicInteger();
    final AtomicInteger reads = new AtomicInteger();
    final AtomicInteger held = new AtomicInteger();
    private final CountDownLatch gate = new CountDownLatch(1);
    private volatile long holdFrom = Long.MAX_VALUE;
    private volatile long failAt = -1;
    private volatile long failReadAt = -1;
    private volatile Boolean advice;

    OffloadCountingDevice(BlockDevice inner) {
        this.inner = inner;
    }

    /** Offloads starting at {@code sector} or later wait, on a thread of their own, until {@link #release()}. */
    OffloadCountingDevice holdFrom(long sector) {
        holdFrom = sector;
        return this;
    }

    /** The first offload starting at {@code sector} fails with an IOException instead of copying. */
    OffloadCountingDevice failAt(long sector) {
        failAt = sector;
        return this;
    }

    /** Page-path reads starting at {@code sector} fail with an IOException. */
    OffloadCountingDevice failReadAt(long sector) {
        failReadAt = sector;
        return this;
    }

    /** From now on {@link #offloadBeatsPagesTo} answers {@code beats}, whatever the wrapped device says. */
    OffloadCountingDevice advise(boolean beats) {
        advice = beats;
        return this;
    }

    void release() {
        gate.countDown();
    }

    @Override
    public String name() {
        return "counting " + inner.name();
    }

    @Override
    public long sizeInSectors() {
        return inner.sizeInSectors();
    }

    @Override
    public boolean isReadOnly() {
        return inner.isReadOnly();
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        reads.incrementAndGet();
        if (sector == failReadAt) {
            return CompletableFuture.failedStage(new IOException("injected read failure at sector " + sector));
        }
        return inner.read(sector, dst);
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        return inner.write(sector, src);
    }

    @Override
    public CompletionStage<Void> flush() {
        return inner.flush();
    }

    @Override
    public CompletionStage<List<Extent>> extents(long sector, long count) {
        return inner.extents(sector, count);
    }

    @Override
    public boolean canOffloadTo(BlockDevice destination) {
        return inner.canOffloadTo(destination);
    }

    @Override
    public boolean offloadBeatsPagesTo(BlockDevice destination) {
        Boolean a = advice;
        if (a != null) {
            return a;
        }
        return inner.offloadBeatsPagesTo(destination);
    }

    @Override
    public CompletionStage<Void> offloadTo(long sector, long count, BlockDevice destination, long destSector) {
        offloads.incrementAndGet();
        if (sector == failAt) {
            failAt = -1;
            offloadFailures.incrementAndGet();
            return CompletableFuture.failedStage(new IOException("injected failure of the offload at sector " + sector));
        }
        if (sector >= holdFrom) {
            held.incrementAndGet();
            // A thread of its own: the common pool may have one thread on a small machine.
            return CompletableFuture.runAsync(() -> {
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, task -> new Thread(task, "held offload").start())
                    .thenCompose(ignored -> copy(sector, count, destination, destSector));
        }
        return copy(sector, count, destination, destSector);
    }

    private CompletionStage<Void> copy(long sector, long count, BlockDevice destination, long destSector) {
        return inner.offloadTo(sector, count, destination, destSector).whenComplete((ignored, failure) -> {
            if (failure == null) {
                offloadedSectors.addAndGet(count);
            } else {
                offloadFailures.incrementAndGet();
            }
        });
    }

    @Override
    public void close() throws IOException {
        inner.close();
    }
}
