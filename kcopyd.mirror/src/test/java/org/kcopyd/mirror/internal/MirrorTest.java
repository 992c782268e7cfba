package org.kcopyd.mirror.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.kcopyd.mirror.internal.MirrorFixture.random;
import static org.kcopyd.mirror.internal.MirrorFixture.read;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.MirrorStatus;
import org.kcopyd.testdevices.ForwardingDevice;

class MirrorTest {

    private static final int SECTORS = 4096;

    @TempDir
    Path dir;
    private final MirrorFixture fixture = new MirrorFixture();

    @AfterEach
    void close() throws Exception {
        fixture.close();
    }

    private List<Path> paths(int n) {
        return java.util.stream.IntStream.range(0, n).mapToObj(i -> dir.resolve("leg" + i + ".img")).toList();
    }

    @Test
    void aNewMirrorResyncsEveryLegFromTheDefaultLeg() throws Exception {
        List<Path> paths = paths(3);
        byte[] data = random(SECTORS * 512, 1);
        List<BlockDevice> legs = List.of(fixture.leg(paths.get(0), data),
                fixture.leg(paths.get(1), random(SECTORS * 512, 2)), fixture.leg(paths.get(2), new byte[SECTORS * 512]));

        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs);
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);

        MirrorStatus status = mirror.status();
        assertThat(status.legs()).allSatisfy(l -> assertThat(l.state()).isEqualTo(LegState.IN_SYNC));
        assertThat(status.regions()).isEqualTo(SECTORS / MirrorFixture.REGION);
        assertThat(status.regionsResynced()).isEqualTo(status.regions());
        for (BlockDevice leg : legs) {
            assertThat(read(leg)).isEqualTo(data);
        }
        assertThat(read(mirror.device())).isEqualTo(data);
    }

    @Test
    void aMirrorTellsWhereItsDataIsAsItsInSyncLegDoes() throws Exception {
        List<Path> paths = paths(2);
        List<BlockDevice> legs = new java.util.ArrayList<>();
        for (Path p : paths) {
            // Sparse legs: data only in sectors [1024, 1152).
            try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
                f.setLength((long) SECTORS * 512);
                f.seek(1024 * 512);
                f.write(random(128 * 512, 7));
            }
            legs.add(fixture.leg(p, null));
        }
        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs);
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);

        List<org.kcopyd.api.Extent> runs = mirror.device().extents(0, SECTORS).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        assertThat(runs).isEqualTo(legs.get(0).extents(0, SECTORS).toCompletableFuture().get(10, TimeUnit.SECONDS));
        assertThat(runs).as("the legs' holes (the temporary directory's file system must report holes)").anySatisfy(
                e -> assertThat(e.type()).isNotEqualTo(org.kcopyd.api.Extent.Type.DATA))
                .anySatisfy(e -> assertThat(e).isEqualTo(new org.kcopyd.api.Extent(1024, 128,
                        org.kcopyd.api.Extent.Type.DATA)));
    }

    @Test
    void writesReachEveryLegAndLeaveTheLogClean() throws Exception {
        List<Path> paths = paths(2);
        byte[] data = random(SECTORS * 512, 3);
        List<BlockDevice> legs = List.of(fixture.leg(paths.get(0), data), fixture.leg(paths.get(1), data.clone()));
        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs);
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);

        byte[] block = random(100 * 512, 4);
        mirror.device().write(1000, ByteBuffer.wrap(block)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        System.arraycopy(block, 0, data, 1000 * 512, block.length);

        assertThat(read(legs.get(0))).isEqualTo(data);
        assertThat(read(legs.get(1))).isEqualTo(data);
        // Cleared once both legs are flushed after the write (RegionCleaner), soon after it completed.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            byte[] log = java.nio.file.Files.readAllBytes(dir.resolve("log"));
            byte[] bitmap = java.util.Arrays.copyOfRange(log, RegionLog.BITMAP_START * 512, log.length);
            assertThat(bitmap).as("no region left dirty after the writes completed").containsOnly(0);
        });
    }

    @Test
    void aLegFailingMidResyncIsReportedAndTheHealthyLegsEndIdentical() throws Exception {
        List<Path> paths = paths(3);
        byte[] data = random(SECTORS * 512, 5);
        MirrorFixture.FailingLeg failing = new MirrorFixture.FailingLeg(fixture.leg(paths.get(2), new byte[SECTORS * 512]));
        failing.failWritesFrom = SECTORS / 2;
        List<BlockDevice> legs = List.of(fixture.leg(paths.get(0), data), fixture.leg(paths.get(1), new byte[SECTORS * 512]),
                failing);

        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs);
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);

        MirrorStatus status = mirror.status();
        assertThat(status.legs().get(0).state()).isEqualTo(LegState.IN_SYNC);
        assertThat(status.legs().get(1).state()).isEqualTo(LegState.IN_SYNC);
        assertThat(status.legs().get(2).state()).isEqualTo(LegState.FAILED);
        assertThat(status.legs().get(2).failure()).contains("resync write of region").contains("injected write error");
        assertThat(read(legs.get(1))).isEqualTo(data);
        byte[] block = random(8 * 512, 6);
        mirror.device().write(0, ByteBuffer.wrap(block)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(read(mirror.device())).startsWith(block);
    }

    @Test
    void aFailedDefaultLegIsReplacedForReads() throws Exception {
        List<Path> paths = paths(2);
        byte[] data = random(SECTORS * 512, 7);
        MirrorFixture.FailingLeg first = new MirrorFixture.FailingLeg(fixture.leg(paths.get(0), data));
        List<BlockDevice> legs = List.of(first, fixture.leg(paths.get(1), data.clone()));
        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs);
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);

        first.failReads = true;

        assertThat(read(mirror.device())).isEqualTo(data);
        assertThat(mirror.status().legs().get(0).state()).isEqualTo(LegState.FAILED);
        assertThat(mirror.status().legs().get(0).failure()).contains("injected read error");
    }

    @Test
    void aWriteFailingOnOneLegSucceedsOnTheOthersAndFailsThatLeg() throws Exception {
        List<Path> paths = paths(2);
        byte[] data = random(SECTORS * 512, 8);
        MirrorFixture.FailingLeg second = new MirrorFixture.FailingLeg(fixture.leg(paths.get(1), data.clone()));
        List<BlockDevice> legs = List.of(fixture.leg(paths.get(0), data), second);
        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs);
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        second.failWritesFrom = 0;

        mirror.device().write(64, ByteBuffer.wrap(random(512, 9))).toCompletableFuture().get(10, TimeUnit.SECONDS);

        assertThat(mirror.status().legs().get(1).state()).isEqualTo(LegState.FAILED);
        assertThat(mirror.status().legs().get(0).state()).isEqualTo(LegState.IN_SYNC);
    }

    @Test
    void aReplacedLegIsResyncedFullyAfterARestart() throws Exception {
        List<Path> paths = paths(2);
        byte[] data = random(SECTORS * 512, 10);
        List<BlockDevice> legs = List.of(fixture.leg(paths.get(0), data), fixture.leg(paths.get(1), data.clone()));
        MirrorVolume first = fixture.mirror(dir.resolve("log"), paths, legs);
        first.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        fixture.closeDevices();

        Path replacement = dir.resolve("new-leg.img");
        List<BlockDevice> again = List.of(fixture.leg(paths.get(0), null),
                fixture.leg(replacement, new byte[SECTORS * 512]));
        MirrorVolume second = fixture.mirror(dir.resolve("log"), List.of(paths.get(0), replacement), again);
        second.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);

        assertThat(second.status().regionsResynced()).isEqualTo(second.status().regions());
        assertThat(read(again.get(1))).isEqualTo(data);
        assertThat(second.status().legs().get(1).state()).isEqualTo(LegState.IN_SYNC);
    }

    @Test
    void theResyncWaitsWhileNoFactoryIsBoundAndResumesWhenOneIs() throws Exception {
        List<Path> paths = paths(2);
        byte[] data = random(SECTORS * 512, 11);
        List<BlockDevice> legs = List.of(fixture.leg(paths.get(0), data),
                fixture.leg(paths.get(1), new byte[SECTORS * 512]));
        fixture.kcopyd.unbind(fixture.engine);

        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs);
        byte[] block = random(4 * 512, 12);
        mirror.device().write(8, ByteBuffer.wrap(block)).toCompletableFuture().get(10, TimeUnit.SECONDS);

        assertThat(mirror.whenInSync().toCompletableFuture()).as("no factory, no resync").isNotDone();
        assertThat(mirror.status().regionsResynced()).isZero();
        assertThat(mirror.status().legs().get(1).state()).isEqualTo(LegState.RESYNCING);

        fixture.kcopyd.bind(fixture.engine);
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);

        System.arraycopy(block, 0, data, 8 * 512, block.length);
        assertThat(read(legs.get(1))).isEqualTo(data);
        assertThat(mirror.status().legs().get(1).state()).isEqualTo(LegState.IN_SYNC);
    }

    /**
     * dm-raid1's rule: while a write is on its way to the legs, its region's bit is set in the log
     * on disk, so that a crash at any moment leaves the region to be resynced. The race: write 1
     * ends (the last in its region) just as write 2 begins there; write 2 finds the bit set and
     * goes on to the legs, then write 1's completion clears the bit. Made certain here by holding
     * the log's monitor while write 1's completion waits for it and write 2 (on this thread, the
     * monitor being re-entrant) marks its region.
     */
    @Test
    void aRegionStaysDirtyOnDiskWhileAWriteBegunAsTheLastOneEndedIsOnItsWay() throws Exception {
        List<Path> paths = paths(2);
        byte[] data = random(SECTORS * 512, 16);
        List<GatedLeg> legs = List.of(new GatedLeg(fixture.leg(paths.get(0), data)),
                new GatedLeg(fixture.leg(paths.get(1), data.clone())));
        Path logPath = dir.resolve("log");
        MirrorVolume mirror = fixture.mirror(logPath, paths, List.copyOf(legs));
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        legs.forEach(GatedLeg::hold);
        CompletableFuture<Void> first = mirror.device().write(0, ByteBuffer.wrap(random(512, 17)))
                .toCompletableFuture();
        assertThat(dirtyOnDisk(logPath, 0)).isTrue();

        CompletableFuture<Void> second;
        Thread firstEnds = new Thread(() -> legs.forEach(GatedLeg::release), "first write's legs complete");
        synchronized (fixture.log) {
            firstEnds.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (firstEnds.getState() != Thread.State.BLOCKED && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertThat(firstEnds.getState()).as("write 1's completion waits for the log").isEqualTo(Thread.State.BLOCKED);
            second = mirror.device().write(8, ByteBuffer.wrap(random(512, 18))).toCompletableFuture();
        }
        try {
            firstEnds.join(10_000);
            first.get(10, TimeUnit.SECONDS);

            assertThat(dirtyOnDisk(logPath, 0)).as("write 2 is on its way to the legs").isTrue();
        } finally {
            legs.forEach(GatedLeg::release);
        }
        second.get(10, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(dirtyOnDisk(logPath, 0))
                .as("no write left in the region, the legs flushed").isFalse());
    }

    /**
     * A region dirty at the last stop waits for its resync; a write to it that ends while the
     * mirror closes (before the resync ran) must leave its bit set, or the next start would not
     * resync it and the legs could differ there for good.
     */
    @Test
    void aWriteEndingWhileTheMirrorClosesLeavesARegionAwaitingItsResyncDirty() throws Exception {
        List<Path> paths = paths(2);
        byte[] data = random(SECTORS * 512, 19);
        Path logPath = dir.resolve("log");
        MirrorVolume before = fixture.mirror(logPath, paths,
                List.of(fixture.leg(paths.get(0), data), fixture.leg(paths.get(1), data.clone())));
        before.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        // Dirty at the stop, as after a crash: more regions than the resync starts at once.
        long waiting = MirrorResync.RESYNC_PARALLEL + 2;
        for (long r = 0; r <= waiting; r++) {
            fixture.log.markDirty(r);
        }
        fixture.closeDevices();

        fixture.kcopyd.unbind(fixture.engine);
        List<GatedLeg> legs = List.of(new GatedLeg(fixture.leg(paths.get(0), null)),
                new GatedLeg(fixture.leg(paths.get(1), null)));
        MirrorVolume mirror = fixture.mirror(logPath, paths, List.copyOf(legs));
        legs.forEach(GatedLeg::hold);
        CompletableFuture<Void> write = mirror.device().write(waiting * MirrorFixture.REGION,
                ByteBuffer.wrap(random(512, 20))).toCompletableFuture();
        Thread closing = new Thread(mirror::close, "closing the mirror");
        closing.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (closing.getState() != Thread.State.TIMED_WAITING && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(closing.getState()).as("the close waits for the write").isEqualTo(Thread.State.TIMED_WAITING);

        legs.forEach(GatedLeg::release);
        write.get(10, TimeUnit.SECONDS);
        closing.join(10_000);

        assertThat(closing.isAlive()).isFalse();
        assertThat(dirtyOnDisk(logPath, waiting)).as("still to be resynced at the next start").isTrue();
    }

    private static boolean dirtyOnDisk(Path log, long region) throws IOException {
        try (FileChannel ch = FileChannel.open(log)) {
            ByteBuffer bits = ByteBuffer.allocate(1);
            ch.read(bits, RegionLog.BITMAP_START * 512L + region / 8);
            return (bits.get(0) & (1 << (region % 8))) != 0;
        }
    }

    /** A leg whose writes, while held, wait until {@link #release()}. */
    private static final class GatedLeg extends ForwardingDevice {
        private final List<Runnable> held = new ArrayList<>();
        private boolean holding;

        GatedLeg(BlockDevice inner) {
            super(inner);
        }

        synchronized void hold() {
            holding = true;
        }

        /** Lets the writes held so far go, completing them on this thread; later writes are held too. */
        void release() {
            List<Runnable> go;
            synchronized (this) {
                go = List.copyOf(held);
                held.clear();
            }
            go.forEach(Runnable::run);
        }

        @Override
        public CompletionStage<Void> write(long sector, ByteBuffer src) {
            synchronized (this) {
                if (holding) {
                    CompletableFuture<Void> done = new CompletableFuture<>();
                    // Completed on the releasing thread, which so runs what the mirror does next.
                    held.add(() -> {
                        inner.write(sector, src).toCompletableFuture().join();
                        done.complete(null);
                    });
                    return done;
                }
            }
            return inner.write(sector, src);
        }
    }

    /** After its close, the legs' fingerprints are recorded as they are: nothing may write them any more. */
    @Test
    void aWriteAfterTheCloseIsRefused() throws Exception {
        List<Path> paths = paths(2);
        byte[] data = random(SECTORS * 512, 14);
        List<BlockDevice> legs = List.of(fixture.leg(paths.get(0), data), fixture.leg(paths.get(1), data.clone()));
        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs);
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);

        mirror.close();

        assertThatThrownBy(() -> mirror.device().write(0, ByteBuffer.wrap(random(512, 15))).toCompletableFuture()
                .get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(IOException.class)
                .hasMessageContaining("mirror 'm' is closed");
        assertThat(read(legs.get(0))).isEqualTo(data);
        assertThat(read(legs.get(1))).isEqualTo(data);
    }

    /**
     * H49-3: a mirror capped at 4 KiB/s held its close (and the daemon's configuration thread with it) until its
     * regions in flight were copied, minutes. The close cancels them: no further chunk goes, and the regions stay
     * dirty, copied at the next open.
     */
    @Test
    void aThrottledResyncIsCancelledByTheCloseAndResumesAtTheNextOpen() throws Exception {
        List<Path> paths = paths(2);
        byte[] data = random(SECTORS * 512, 14);
        List<BlockDevice> legs = List.of(fixture.leg(paths.get(0), data),
                fixture.leg(paths.get(1), new byte[SECTORS * 512]));
        org.kcopyd.api.ClientBinding capped = cappedAt4KiBPerSecond();
        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs, capped, fixture.backoff());
        // The first chunk goes at once (the cap books its time after it): a copy is under way.
        awaitFirstSector(legs.get(1), data);

        assertTimeoutPreemptively(Duration.ofSeconds(10), mirror::close);
        assertTimeoutPreemptively(Duration.ofSeconds(10), capped::close);
        assertThat(mirror.status().regionsResynced()).as("not all copied at 4 KiB/s").isLessThan(SECTORS / 64);

        assertResyncedWhenReopened(paths, data);
    }

    /**
     * H50-4: a write into a region being resynced by a mirror capped at 4 KiB/s waited for the region's copy at the
     * capped pace (128 s for 512 KiB, longer than NBD clients wait). The region it waits for is copied at full speed;
     * the others keep the cap, and the legs end up equal, the write on both.
     */
    @Test
    void aWriteIntoARegionBeingResyncedWaitsForAFullSpeedCopyNotTheThrottle() throws Exception {
        List<Path> paths = paths(2);
        byte[] data = random(SECTORS * 512, 15);
        List<BlockDevice> legs = List.of(fixture.leg(paths.get(0), data),
                fixture.leg(paths.get(1), new byte[SECTORS * 512]));
        org.kcopyd.api.ClientBinding capped = cappedAt4KiBPerSecond();
        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs, capped, fixture.backoff());
        // The first chunk goes at once (the cap books its time after it); the next waits 8 s for each region of 32 KiB.
        awaitFirstSector(legs.get(1), data);
        int at = 3 * MirrorFixture.REGION + 5;
        byte[] block = random(4096, 16);

        // Taken for a resync (4 regions at a time), copied at the cap: 8 s at least without the hurry.
        mirror.device().write(at, ByteBuffer.wrap(block)).toCompletableFuture().get(5, TimeUnit.SECONDS);

        System.arraycopy(block, 0, data, at * 512, block.length);
        byte[] region = java.util.Arrays.copyOfRange(data, 3 * MirrorFixture.REGION * 512,
                4 * MirrorFixture.REGION * 512);
        assertThat(java.util.Arrays.copyOfRange(read(legs.get(1)), 3 * MirrorFixture.REGION * 512,
                4 * MirrorFixture.REGION * 512)).as("the region copied, then written").isEqualTo(region);
        assertThat(read(legs.get(0))).isEqualTo(data);
        assertThat(mirror.status().regionsResynced()).as("the others at the cap").isLessThan(SECTORS / 64 / 2);
        assertTimeoutPreemptively(Duration.ofSeconds(10), mirror::close);
        assertTimeoutPreemptively(Duration.ofSeconds(10), capped::close);

        assertResyncedWhenReopened(paths, data);
    }

    /** A client binding through a throttle capped at 4 KiB/s, bound to the fixture's engine. */
    private org.kcopyd.api.ClientBinding cappedAt4KiBPerSecond() {
        org.kcopyd.api.Throttle cap = fixture.engine.throttle("mirror-capped");
        cap.setBytesPerSecond(4096);
        org.kcopyd.api.ClientBinding capped = new org.kcopyd.api.ClientBinding(f -> f.createClient(
                org.kcopyd.api.ClientOptions.builder().pages(64).throttle(cap).build()));
        capped.bind(fixture.engine);
        return capped;
    }

    /** Waits until the first sector of {@code leg} is {@code data}'s: a resync copy went. */
    private static void awaitFirstSector(BlockDevice leg, byte[] data) {
        await().atMost(Duration.ofSeconds(10)).until(() -> java.util.Arrays.equals(java.util.Arrays.copyOf(
                read(leg), 512), java.util.Arrays.copyOf(data, 512)));
    }

    /** Reopens the mirror on its legs, unthrottled: its resync goes on until leg 1 holds {@code data}. */
    private void assertResyncedWhenReopened(List<Path> paths, byte[] data) throws Exception {
        fixture.closeDevices();
        List<BlockDevice> reopened = List.of(fixture.leg(paths.get(0), null), fixture.leg(paths.get(1), null));
        MirrorVolume again = fixture.mirror(dir.resolve("log"), paths, reopened);
        again.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(read(reopened.get(1))).isEqualTo(data);
    }

    /** A mirror removed while its resync waits for an engine closes at once, not after its 30 s drain limit. */
    @Test
    void aMirrorWhoseResyncWaitsForAFactoryClosesAtOnce() throws Exception {
        List<Path> paths = paths(2);
        List<BlockDevice> legs = List.of(fixture.leg(paths.get(0), random(SECTORS * 512, 13)),
                fixture.leg(paths.get(1), new byte[SECTORS * 512]));
        fixture.kcopyd.unbind(fixture.engine);
        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs);
        assertThat(mirror.status().legs().get(1).state()).isEqualTo(LegState.RESYNCING);

        assertTimeoutPreemptively(Duration.ofSeconds(10), mirror::close);

        fixture.kcopyd.bind(fixture.engine);
        assertThat(mirror.status().regionsResynced()).as("nothing copied after the close").isZero();
        assertThat(read(legs.get(1))).containsOnly(0);
    }
}
