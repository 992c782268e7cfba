package org.kcopyd.mirror.internal;

import static org.awaitility.Awaitility.await;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.mirror.MirrorStatus;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * Run in a separate JVM by {@link MirrorFullResyncCrashTest}: opens (or makes) the two-leg mirror
 * in a directory, leg 1 new or resyncing, and lets its resync flush leg 1 {@code K} times (after
 * the flush of every leg at the start); the flushes after that never complete, so the copies in
 * flight have written leg 1 and wait before their bits are cleared. Once K regions are resynced
 * and a copy waits, it writes through the mirror into a region already copied (if any; it prints
 * {@code wrote copied region R}) and waits until the flush of the legs that would clear that
 * region again is held, then into the last region (still to copy), prints {@code stalled} and
 * waits to be killed. It first prints {@code total N}: the regions this run has to resync.
 */
public final class FullResyncCrashChild {

    /** The child's write into a region already copied: sector offset inside the region, and length. */
    static final int WRITE_AT = 3;
    static final int WRITE_SECTORS = 8;

    private FullResyncCrashChild() {
    }

    /**
     * @param args directory holding leg0.img, leg1.img and (maybe) log; the number of leg 1 flushes to let through
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int passing = Integer.parseInt(args[1]);
        try (MirrorFixture fixture = new MirrorFixture()) {
            List<Path> paths = List.of(dir.resolve("leg0.img"), dir.resolve("leg1.img"));
            // The first flush is the start's, of every leg, before the resync copies anything.
            FlushGate gate = new FlushGate(fixture.leg(paths.get(1), null), passing + 1);
            MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, List.of(fixture.leg(paths.get(0), null), gate));
            MirrorStatus start = mirror.status();
            System.out.println("total " + (start.regionsToResync() + start.regionsResynced()));
            System.out.flush();
            await().atMost(Duration.ofSeconds(60)).until(() -> mirror.status().regionsResynced() == passing
                    && gate.held.get() > 0);

            Set<Long> dirty = new HashSet<>(fixture.log.dirtyRegions());
            long regions = mirror.status().regions();
            for (long r = 0; r < regions; r++) {
                if (!dirty.contains(r)) {
                    int held = gate.held.get();
                    write(mirror, r * MirrorFixture.REGION + WRITE_AT, 100 + r);
                    // The write is on leg 1 but not durable there: the flush before its bit's clearing is held.
                    await().atMost(Duration.ofSeconds(60)).until(() -> gate.held.get() > held);
                    System.out.println("wrote copied region " + r);
                    break;
                }
            }
            write(mirror, (regions - 1) * MirrorFixture.REGION + WRITE_AT, 99);
            System.out.println("stalled");
            System.out.flush();
            new CountDownLatch(1).await();
        }
    }

    private static void write(MirrorVolume mirror, long sector, long seed) throws Exception {
        byte[] data = MirrorFixture.random(WRITE_SECTORS * 512, seed);
        mirror.device().write(sector, ByteBuffer.wrap(data)).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    /** Lets the first {@code passing} flushes through; the later ones never complete. */
    private static final class FlushGate extends ForwardingDevice {
        private final int passing;
        private final AtomicInteger flushes = new AtomicInteger();
        final AtomicInteger held = new AtomicInteger();

        FlushGate(BlockDevice inner, int passing) {
            super(inner);
            this.passing = passing;
        }

        @Override
        public CompletionStage<Void> flush() {
            if (flushes.incrementAndGet() <= passing) {
                return inner.flush();
            }
            held.incrementAndGet();
            return new CompletableFuture<>();
        }
    }
}
