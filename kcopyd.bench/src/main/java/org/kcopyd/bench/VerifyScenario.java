package org.kcopyd.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.Kcopyd;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydEngine;
import org.kcopyd.cli.internal.verify.RegionVerifier;
import org.kcopyd.cli.internal.verify.Verdict;

/**
 * The {@code verify} scenario (issue 13): a tmpfs copy to a new file, timed with and without
 * {@code copy --verify}'s read-back, alternately, best of N each; the target is that verifying
 * costs at most 1.6× the copy alone. Both are flushed, as {@code copy --flush --verify} is.
 *
 * <p>The read-back is the command's own {@link RegionVerifier}, with the budget and threads the
 * command gives it (the client's pages, up to 4 workers) and the destination opened read-only with
 * O_DIRECT as the command opens it. The command itself is not run: it needs the OSGi runtime, whose
 * start would dominate a copy's time; what it adds around the verifier (opening the read-back
 * device, comparing a file's tail of less than a sector) is constant time.
 *
 * <p>An info row gives the least verifying can cost here: a fresh copy, then the source and the
 * destination read back and compared by plain positional reads on the verifier's threads, without
 * the engine ({@link NoEngineFloor#readBack}).
 */
final class VerifyScenario {

    /** The most verify cost, as a multiple of the copy's time. */
    static final double TARGET = 1.6;

    private final Benchmark bench;
    private final ScratchDirectory tmpfs;
    private final EngineSettings settings;
    private final Runs runs;
    private final long bytes;

    VerifyScenario(Benchmark bench, ScratchDirectory tmpfs, EngineSettings settings, Runs runs, long bytes) {
        this.bench = bench;
        this.tmpfs = tmpfs;
        this.settings = settings;
        this.runs = runs;
        this.bytes = bytes;
    }

    void run() throws Exception {
        Path src = tmpfs.file("verify-src.img");
        Path dst = tmpfs.file("verify-dst.img");
        Benchmark.writePattern(src, bytes);
        double plain = Double.MAX_VALUE;
        double verified = Double.MAX_VALUE;
        double floor = Double.MAX_VALUE;
        int threads = Math.min(4, Runtime.getRuntime().availableProcessors());
        String readBack = "";
        try (KcopydEngine engine = Kcopyd.start(settings)) {
            for (Runs.Loop run = runs.loop("verify"); run.next();) {
                plain = run.best(plain, once(engine, src, dst, false)[0]);
                Benchmark.require(Peer.same(src, dst), "kcopyd output " + dst + " differs from " + src);
                double[] t = once(engine, src, dst, true);
                verified = run.best(verified, t[0]);
                readBack = t[1] > 0 ? "O_DIRECT" : "page cache";
                // The same fresh copy read back without the engine: the least verifying can cost.
                double copied = once(engine, src, dst, false)[0];
                floor = run.best(floor, copied + NoEngineFloor.readBack(src, dst, threads));
            }
        }
        Files.deleteIfExists(src);
        Files.deleteIfExists(dst);
        double ratio = verified / plain;
        bench.measured("verify", String.format(Locale.ROOT, "copy+verify (%s) / copy, flushed", readBack),
                String.format(Locale.ROOT, "%.2fx", ratio), String.format(Locale.ROOT, "<=%.1fx", TARGET),
                ratio <= TARGET);
        bench.measured("verify", "copy alone; copy+verify", Benchmark.rate(bytes / plain) + "; "
                + Benchmark.rate(bytes / verified), "-", true);
        bench.measured("verify", "copy + read-back without the engine / copy (the reachable)",
                String.format(Locale.ROOT, "%.2fx", floor / plain), "-", true);
    }

    /** @return {seconds, 1 if read back with O_DIRECT else 0} of one copy to a new file, verified if asked */
    private double[] once(KcopydEngine engine, Path src, Path dst, boolean verify) throws Exception {
        Files.deleteIfExists(dst);
        long start = System.nanoTime();
        double direct = 0;
        try (BlockDevice source = engine.devices().open(src);
                BlockDevice out = engine.devices().create(dst, source.sizeInSectors());
                KcopydClient client = engine.createClient()) {
            CopyResult r = client.copy(IoRegion.whole(source), List.of(IoRegion.whole(out)), Set.of(CopyFlag.FLUSH))
                    .toCompletableFuture().join();
            Benchmark.require(r.isSuccess(), "kcopyd copy " + r);
            if (verify) {
                BlockDevice back;
                int alignment = RegionVerifier.PAGE;
                try {
                    back = engine.devices().open(dst, DeviceOption.DIRECT);
                    direct = 1;
                } catch (java.io.IOException e) {
                    back = out;
                    alignment = BlockDevice.SECTOR_SIZE;
                }
                try {
                    long budget = (long) client.statistics().pages() * RegionVerifier.PAGE;
                    int threads = Math.min(4, Runtime.getRuntime().availableProcessors());
                    List<Verdict> v = new RegionVerifier(budget, threads).verify(source, 0, source.sizeInSectors(),
                            List.of(new RegionVerifier.Destination(back, 0, alignment)));
                    Benchmark.require(v.equals(List.of(Verdict.ok())), "verify of " + dst + ": " + v);
                } finally {
                    if (back != out) {
                        back.close();
                    }
                }
            }
        }
        return new double[] {(System.nanoTime() - start) / 1e9, direct};
    }
}
