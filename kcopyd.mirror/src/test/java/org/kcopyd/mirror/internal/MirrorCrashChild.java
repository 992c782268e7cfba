package org.kcopyd.mirror.internal;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * Run in a separate JVM by {@link MirrorCrashTest}: writes to a two-leg mirror at random, 8
 * writes at a time, forever, printing a line per batch while its writes are in flight,
 * until killed. The second leg completes its writes late, so regions are always being
 * written when the kill comes.
 */
public final class MirrorCrashChild {

    private MirrorCrashChild() {
    }

    /**
     * @param args directory holding leg0.img, leg1.img and log
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        ScheduledExecutorService later = Executors.newScheduledThreadPool(2);
        try (MirrorFixture fixture = new MirrorFixture()) {
            BlockDevice slow = new Slow(fixture.leg(dir.resolve("leg1.img"), null), later);
            List<Path> paths = List.of(dir.resolve("leg0.img"), dir.resolve("leg1.img"));
            MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths,
                    List.of(fixture.leg(paths.get(0), null), slow));
            mirror.whenInSync().toCompletableFuture().join();
            Random r = new Random();
            long size = mirror.device().sizeInSectors();
            for (long batch = 0;; batch++) {
                List<CompletableFuture<Void>> writes = new ArrayList<>();
                List<long[]> taken = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    int sectors;
                    long sector;
                    // Disjoint, as a file system's concurrent writes are (a mirror, like dm-raid1 and md, does not
                    // order overlapping writes in flight: its legs may then hold either), but they may share regions.
                    do {
                        sectors = 1 + r.nextInt(16);
                        sector = (long) (r.nextDouble() * (size - sectors));
                    } while (overlaps(taken, sector, sectors));
                    taken.add(new long[] {sector, sectors});
                    byte[] data = new byte[sectors * 512];
                    r.nextBytes(data);
                    writes.add(mirror.device().write(sector, ByteBuffer.wrap(data)).toCompletableFuture());
                }
                // Printed while the writes are in flight: their regions are already marked dirty.
                System.out.println("batch " + batch);
                System.out.flush();
                writes.forEach(CompletableFuture::join);
            }
        }
    }

    private static boolean overlaps(List<long[]> taken, long sector, int sectors) {
        return taken.stream().anyMatch(t -> sector < t[0] + t[1] && t[0] < sector + sectors);
    }

    /** Writes land after 20 ms. */
    private static final class Slow extends ForwardingDevice {
        private final ScheduledExecutorService later;

        Slow(BlockDevice inner, ScheduledExecutorService later) {
            super(inner);
            this.later = later;
        }

        @Override
        public CompletionStage<Void> write(long sector, ByteBuffer src) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            later.schedule(() -> inner.write(sector, src).whenComplete((v, e) -> {
                if (e != null) {
                    done.completeExceptionally(e);
                } else {
                    done.complete(null);
                }
            }), 20, TimeUnit.MILLISECONDS);
            return done;
        }
    }
}
