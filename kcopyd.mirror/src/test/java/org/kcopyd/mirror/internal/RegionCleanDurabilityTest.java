package org.kcopyd.mirror.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.kcopyd.mirror.internal.MirrorFixture.REGION;
import static org.kcopyd.mirror.internal.MirrorFixture.random;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.mirror.LegState;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * A region's bit is cleared in the region log on disk only after every leg has been flushed
 * after the region's last write (dm-region-hash's rule): after a power failure, a region the log
 * calls clean holds the same data on every leg. The legs and the log record, in one journal,
 * each write's completion, each flush's issue and completion and each bitmap write that clears
 * bits; a failing flush fails its leg and leaves its regions dirty; a leg is flushed once per
 * batch of regions, not once per write.
 */
class RegionCleanDurabilityTest {

    private static final int SECTORS = 4096;

    @TempDir
    Path dir;
    private final MirrorFixture fixture = new MirrorFixture();
    private final Journal journal = new Journal();
    private RecordingLog logDevice;

    @AfterEach
    void close() throws Exception {
        fixture.close();
    }

    /** An in-sync two-leg mirror (same data on both), its legs and log recording into the journal. */
    private MirrorVolume mirror(RecordingLeg... legs) throws Exception {
        fixture.logDevice = d -> {
            logDevice = new RecordingLog(d, journal);
            return logDevice;
        };
        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), List.of(dir.resolve("leg0.img"),
                dir.resolve("leg1.img")), List.of(legs));
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(mirror.status().legs()).allSatisfy(l -> assertThat(l.state()).isEqualTo(LegState.IN_SYNC));
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.log.regionsToClean() == 0 && logDevice.clean());
        return mirror;
    }

    private RecordingLeg leg(int i, byte[] data) throws IOException {
        return new RecordingLeg(fixture.leg(dir.resolve("leg" + i + ".img"), data), i, journal);
    }

    @Test
    void aRegionsBitIsClearedOnDiskOnlyAfterAFlushOfEachLegThatFollowsItsLastWrite() throws Exception {
        byte[] data = random(SECTORS * 512, 61);
        MirrorVolume mirror = mirror(leg(0, data), leg(1, data.clone()));

        // Four writers, each on its own sectors of the same eight regions: regions are written again
        // while their batch flushes the legs.
        ExecutorService writers = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int writer = t;
                done.add(writers.submit(() -> {
                    for (int i = 0; i < 40; i++) {
                        long region = (i * 3L + writer) % 8;
                        mirror.device().write(region * REGION + writer * 8L, ByteBuffer.wrap(random(8 * 512, i)))
                                .toCompletableFuture().get(10, TimeUnit.SECONDS);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            writers.shutdownNow();
        }
        await("every written region cleared once the writes ended").atMost(Duration.ofSeconds(10))
                .until(logDevice::clean);

        List<Event> events = journal.snapshot();
        int clears = journal.checkClearsFollowFlushes(events);
        assertThat(clears).as("bits cleared while the mirror was written").isPositive();
        for (long r = 0; r < 8; r++) {
            long region = r;
            assertThat(events.stream().filter(e -> e.kind == Kind.CLEARED && e.cleared.get((int) region)))
                    .as("region " + r + " cleared").isNotEmpty();
        }
    }

    @Test
    void aLegWhoseFlushFailsIsFailedAndItsRegionsStayDirty() throws Exception {
        byte[] data = random(SECTORS * 512, 62);
        RecordingLeg second = leg(1, data.clone());
        MirrorVolume mirror = mirror(leg(0, data), second);
        second.failFlushes = true;

        mirror.device().write(3L * REGION, ByteBuffer.wrap(random(4 * 512, 63))).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);

        await().atMost(Duration.ofSeconds(10)).until(() -> mirror.status().legs().get(1).state() == LegState.FAILED);
        assertThat(mirror.status().legs().get(1).failure()).contains("flush failed").contains("injected flush error");
        assertThat(mirror.status().legs().get(0).state()).isEqualTo(LegState.IN_SYNC);
        // Batches run one at a time: once a later write's region is cleared, the failed batch is over.
        mirror.device().write(5L * REGION, ByteBuffer.wrap(random(4 * 512, 64))).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).until(() -> !logDevice.dirty(5));
        assertThat(logDevice.dirty(3)).as("region 3's write may be lost on leg 1: its bit stays set").isTrue();
        assertThat(fixture.log.dirtyRegions()).containsExactly(3L);
        journal.checkClearsFollowFlushes(journal.snapshot());
    }

    @Test
    void aLegIsFlushedOncePerBatchNotOncePerWrite() throws Exception {
        int sectors = 320 * REGION;
        byte[] data = random(sectors * 512, 65);
        RecordingLeg first = leg(0, data);
        RecordingLeg second = leg(1, data.clone());
        MirrorVolume mirror = mirror(first, second);
        int flushesBefore0 = first.flushes.get();
        int flushesBefore1 = second.flushes.get();
        int clearsBefore = journal.count(Kind.CLEARED);

        // Many small writes, each to a region of its own, four writers at a time.
        ExecutorService writers = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int writer = t;
                done.add(writers.submit(() -> {
                    for (long r = writer; r < 200; r += 4) {
                        mirror.device().write(r * REGION + 1, ByteBuffer.wrap(random(512, r))).toCompletableFuture()
                                .get(10, TimeUnit.SECONDS);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            writers.shutdownNow();
        }
        await().atMost(Duration.ofSeconds(10)).until(logDevice::clean);
        int flushes = first.flushes.get() - flushesBefore0;
        int clears = journal.count(Kind.CLEARED) - clearsBefore;
        assertThat(flushes).as("leg 0 flushed at least once for 200 writes").isPositive();
        assertThat(flushes).as("at most one flush of leg 0 per bitmap write clearing bits").isLessThanOrEqualTo(clears);
        assertThat(second.flushes.get() - flushesBefore1).isLessThanOrEqualTo(clears);

        // While a batch's flush of leg 1 is held, 99 writes end: one batch takes them all.
        int before0 = first.flushes.get();
        int before1 = second.flushes.get();
        second.holdFlushes();
        mirror.device().write(200L * REGION, ByteBuffer.wrap(random(512, 66))).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).until(() -> second.held() == 1);
        for (long r = 201; r < 300; r++) {
            mirror.device().write(r * REGION, ByteBuffer.wrap(random(512, r))).toCompletableFuture()
                    .get(10, TimeUnit.SECONDS);
        }
        assertThat(logDevice.dirty(200)).as("not cleared while leg 1's flush is held").isTrue();
        second.release();
        await().atMost(Duration.ofSeconds(10)).until(logDevice::clean);
        assertThat(first.flushes.get() - before0).as("100 writes, two batches: two flushes of leg 0").isEqualTo(2);
        assertThat(second.flushes.get() - before1).as("and of leg 1").isEqualTo(2);
        journal.checkClearsFollowFlushes(journal.snapshot());
    }

    // ---- the journal ----

    enum Kind { WRITTEN, FLUSH_ISSUED, FLUSHED, CLEARED }

    /** One thing a leg or the log saw: a write completed on a leg (its regions), a flush issued or done, bits cleared. */
    record Event(Kind kind, int leg, long firstRegion, long lastRegion, int flush, BitSet cleared) {
    }

    /** The events of the legs and the log, in the order they happened. Thread-safe. */
    static final class Journal {
        private final List<Event> events = new ArrayList<>();
        private final AtomicInteger flushIds = new AtomicInteger();

        synchronized void add(Event e) {
            events.add(e);
        }

        synchronized List<Event> snapshot() {
            return List.copyOf(events);
        }

        synchronized int count(Kind kind) {
            return (int) events.stream().filter(e -> e.kind == kind).count();
        }

        int nextFlush() {
            return flushIds.incrementAndGet();
        }

        /**
         * Checks that for every bit cleared on disk, each leg written in that region was flushed
         * after that write completed (a flush issued after it, completed before the clearing).
         *
         * @return the number of bitmap writes that cleared bits
         */
        int checkClearsFollowFlushes(List<Event> events) {
            int clears = 0;
            for (int c = 0; c < events.size(); c++) {
                Event clear = events.get(c);
                if (clear.kind != Kind.CLEARED) {
                    continue;
                }
                clears++;
                for (int r = clear.cleared.nextSetBit(0); r >= 0; r = clear.cleared.nextSetBit(r + 1)) {
                    for (int leg = 0; leg < 2; leg++) {
                        int lastWrite = -1;
                        for (int i = 0; i < c; i++) {
                            Event e = events.get(i);
                            if (e.kind == Kind.WRITTEN && e.leg == leg && e.firstRegion <= r && r <= e.lastRegion) {
                                lastWrite = i;
                            }
                        }
                        if (lastWrite < 0) {
                            continue;
                        }
                        boolean flushed = false;
                        for (int i = lastWrite + 1; i < c && !flushed; i++) {
                            Event issued = events.get(i);
                            if (issued.kind == Kind.FLUSH_ISSUED && issued.leg == leg) {
                                for (int j = i + 1; j < c && !flushed; j++) {
                                    Event e = events.get(j);
                                    flushed = e.kind == Kind.FLUSHED && e.flush == issued.flush;
                                }
                            }
                        }
                        assertThat(flushed).as("region " + r + " cleared on disk (event " + c + ") after its last write "
                                + "on leg " + leg + " (event " + lastWrite + ") without a flush of leg " + leg
                                + " issued after that write and done before the clearing").isTrue();
                    }
                }
            }
            return clears;
        }
    }

    /** A leg recording its completed writes and its flushes; its flushes can be made to fail or be held. */
    static final class RecordingLeg extends ForwardingDevice {
        private final int index;
        private final Journal journal;
        final AtomicInteger flushes = new AtomicInteger();
        volatile boolean failFlushes;
        private final List<Runnable> held = new ArrayList<>();
        private boolean holding;

        RecordingLeg(BlockDevice inner, int index, Journal journal) {
            super(inner);
            this.index = index;
            this.journal = journal;
        }

        @Override
        public CompletionStage<Void> write(long sector, ByteBuffer src) {
            long first = sector / REGION;
            long last = (sector + src.remaining() / 512 - 1) / REGION;
            // Recorded before the mirror (or the engine) learns of the completion.
            return inner.write(sector, src).thenRun(() -> journal.add(new Event(Kind.WRITTEN, index, first, last, 0,
                    null)));
        }

        @Override
        public CompletionStage<Void> flush() {
            flushes.incrementAndGet();
            if (failFlushes) {
                return CompletableFuture.failedFuture(new IOException("injected flush error on leg " + index));
            }
            int id = journal.nextFlush();
            journal.add(new Event(Kind.FLUSH_ISSUED, index, -1, -1, id, null));
            CompletableFuture<Void> done = new CompletableFuture<>();
            Runnable go = () -> inner.flush().thenRun(() -> journal.add(new Event(Kind.FLUSHED, index, -1, -1, id,
                    null))).whenComplete((v, e) -> {
                        if (e != null) {
                            done.completeExceptionally(e);
                        } else {
                            done.complete(null);
                        }
                    });
            synchronized (this) {
                if (holding) {
                    held.add(go);
                    return done;
                }
            }
            go.run();
            return done;
        }

        synchronized void holdFlushes() {
            holding = true;
        }

        synchronized int held() {
            return held.size();
        }

        /** Lets the held flushes go, and the later ones through. */
        void release() {
            List<Runnable> go;
            synchronized (this) {
                holding = false;
                go = List.copyOf(held);
                held.clear();
            }
            go.forEach(Runnable::run);
        }
    }

    /** The region log's file, keeping a copy of its bitmap and recording each write that clears bits. */
    static final class RecordingLog extends ForwardingDevice {
        private final Journal journal;
        private final BitSet bitmap = new BitSet();

        RecordingLog(BlockDevice inner, Journal journal) {
            super(inner);
            this.journal = journal;
        }

        @Override
        public CompletionStage<Void> write(long sector, ByteBuffer src) {
            if (sector >= RegionLog.BITMAP_START) {
                int firstBit = (int) ((sector - RegionLog.BITMAP_START) * 512 * 8);
                int bits = src.remaining() * 8;
                BitSet now = BitSet.valueOf(src.duplicate());
                synchronized (this) {
                    BitSet cleared = bitmap.get(firstBit, firstBit + bits);
                    cleared.andNot(now);
                    BitSet shifted = new BitSet();
                    cleared.stream().forEach(b -> shifted.set(firstBit + b));
                    bitmap.clear(firstBit, firstBit + bits);
                    now.stream().forEach(b -> bitmap.set(firstBit + b));
                    if (!shifted.isEmpty()) {
                        // Recorded before the bits reach the file.
                        journal.add(new Event(Kind.CLEARED, -1, -1, -1, 0, shifted));
                    }
                }
            }
            return inner.write(sector, src);
        }

        synchronized boolean clean() {
            return bitmap.isEmpty();
        }

        synchronized boolean dirty(long region) {
            return bitmap.get((int) region);
        }
    }
}
