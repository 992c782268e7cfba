package org.kcopyd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.Kcopyd;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydEngine;
import org.kcopyd.testdevices.LoopMount;

/**
 * The {@code offload} scenario (issue 13): a copy of one file to a new file of the same file
 * system, as {@code copy} does it by default ({@code --offload=auto}: the kernel copies only
 * where that beats the pages, a reflink or a server-side copy; on ext4 and tmpfs the page path),
 * against {@code dd bs=1M} and {@code cp --reflink=auto} in the same run, alternately, best of N
 * each, every output compared with the source. On tmpfs the target is 1.5× dd; on the disk
 * directory the ratios are reported. {@code --offload=always} (the kernel copies wherever it
 * accepts: {@code copy_file_range}) and {@code --offload=never} (the engine's page path) are
 * timed too and reported against the default (info rows), and so is a copy by plain positional
 * reads and writes on one thread per processor without the engine ({@link NoEngineFloor}), with
 * its ratio to dd: what any page copy reaches on this machine.
 *
 * <p>{@link #runOnXfs} races the same copy on XFS, where {@code auto} and {@code cp --reflink=auto}
 * reflink: a file system made in a sparse image in the tmpfs scratch directory and loop-mounted
 * ({@link LoopMount}) when the benchmark runs as root with {@code mkfs.xfs}; otherwise one line
 * says why not. The mount is undone when the race ends, and by the benchmark's shutdown hook if
 * it is killed.
 *
 * <p>Nothing is flushed, by any of them: each copy ends in the page cache (on tmpfs that is the
 * file), so on a disk the numbers say how fast the copy reaches the cache, not the platter.
 */
final class OffloadScenario {

    /** The least ratio to dd on tmpfs. */
    static final double TARGET = 1.5;

    private final Benchmark bench;
    private final EngineSettings settings;
    private final Runs runs;
    private final long bytes;

    OffloadScenario(Benchmark bench, EngineSettings settings, Runs runs, long bytes) {
        this.bench = bench;
        this.settings = settings;
        this.runs = runs;
        this.bytes = bytes;
    }

    /**
     * Races in {@code dir}.
     *
     * @param label  the scenario's name in the report
     * @param target the least ratio to dd, or NaN to report only
     */
    void run(ScratchDirectory dir, String label, double target) throws Exception {
        Path src = dir.file("offload-src.img");
        Path dst = dir.file("offload-dst.img");
        Benchmark.writePattern(src, bytes);
        List<String> dd = List.of("dd", "if=" + src, "of=" + dst, "bs=1M", "status=none");
        List<String> cp = List.of("cp", "--reflink=auto", src.toString(), dst.toString());
        double ddBest = Double.MAX_VALUE;
        double cpBest = Double.MAX_VALUE;
        double oursBest = Double.MAX_VALUE;
        double pagesBest = Double.MAX_VALUE;
        double alwaysBest = Double.MAX_VALUE;
        double floorBest = Double.MAX_VALUE;
        int threads = Runtime.getRuntime().availableProcessors();
        try (KcopydEngine engine = Kcopyd.start(settings)) {
            for (Runs.Loop run = runs.loop(label); run.next();) {
                if (run.peers()) {
                    ddBest = run.best(ddBest, peer(dd, src, dst));
                    cpBest = run.best(cpBest, peer(cp, src, dst));
                }
                oursBest = run.best(oursBest, once(engine, src, dst, EnumSet.noneOf(CopyFlag.class)));
                alwaysBest = run.best(alwaysBest, once(engine, src, dst, EnumSet.of(CopyFlag.OFFLOAD_ALWAYS)));
                pagesBest = run.best(pagesBest, once(engine, src, dst, EnumSet.of(CopyFlag.NO_OFFLOAD)));
                Files.deleteIfExists(dst);
                floorBest = run.best(floorBest, NoEngineFloor.copy(src, dst, threads));
                Benchmark.require(Peer.same(src, dst), "the no-engine copy " + dst + " differs from " + src);
            }
        } finally {
            Files.deleteIfExists(src);
            Files.deleteIfExists(dst);
        }
        String ours = Benchmark.rate(bytes / oursBest);
        String store = Files.getFileStore(dir.path()).type();
        if (Double.isNaN(target)) {
            bench.info(label, "dd bs=1M (new file, " + store + ")", ours, Benchmark.rate(bytes / ddBest),
                    ddBest / oursBest);
        } else {
            bench.result(label, "dd bs=1M (new file, " + store + ")", ours, Benchmark.rate(bytes / ddBest),
                    ddBest / oursBest, target);
        }
        bench.info(label, "cp --reflink=auto", ours, Benchmark.rate(bytes / cpBest), cpBest / oursBest);
        bench.info(label, "kcopyd --offload=always", ours, Benchmark.rate(bytes / alwaysBest),
                alwaysBest / oursBest);
        bench.info(label, "kcopyd --offload=never", ours, Benchmark.rate(bytes / pagesBest), pagesBest / oursBest);
        // The most any page copy reaches here: what the target is measured against.
        bench.info(label, "no engine: " + threads + " threads pread/pwrite 1 MiB", ours,
                Benchmark.rate(bytes / floorBest), floorBest / oursBest);
        bench.measured(label, "no engine's ratio to dd (the reachable)",
                String.format(java.util.Locale.ROOT, "%.2fx", ddBest / floorBest), "-", true);
    }

    /**
     * Races on a loop-mounted XFS made in {@code tmpfs} (reports only: no target), or says in one
     * line why it cannot.
     *
     * @param label the scenario's name in the report
     */
    void runOnXfs(ScratchDirectory tmpfs, String label) throws Exception {
        String missing = LoopMount.unavailable(LoopMount.Kind.XFS);
        if (missing != null) {
            bench.line(label + ": not run: " + missing);
            return;
        }
        // Room for the source and one copy, sparse: the image costs what the files hold.
        long imageBytes = Math.max(LoopMount.Kind.XFS.leastBytes(), 2 * bytes + (512L << 20));
        LoopMount mount;
        try {
            mount = LoopMount.create(LoopMount.Kind.XFS, tmpfs.file("offload-xfs.img"), tmpfs.file("offload-xfs"),
                    imageBytes);
        } catch (IOException e) {
            bench.line(label + ": not run: " + e.getMessage());
            return;
        }
        bench.mounted(mount);
        try {
            ScratchDirectory xfs = ScratchDirectory.createIn(mount.directory());
            try {
                run(xfs, label, Double.NaN);
            } finally {
                xfs.remove();
            }
        } finally {
            bench.unmount(mount);
        }
    }

    private static double peer(List<String> command, Path src, Path dst) throws Exception {
        Files.deleteIfExists(dst);
        double seconds = Peer.run(command);
        Benchmark.require(Peer.same(src, dst), command.get(0) + " output " + dst + " differs from " + src);
        return seconds;
    }

    /** One timed copy to a new file through a new client, as {@code copy} makes it; returns seconds. */
    private static double once(KcopydEngine engine, Path src, Path dst, Set<CopyFlag> flags) throws Exception {
        Files.deleteIfExists(dst);
        long start = System.nanoTime();
        try (BlockDevice source = engine.devices().open(src);
                BlockDevice out = engine.devices().create(dst, source.sizeInSectors());
                KcopydClient client = engine.createClient()) {
            CopyResult r = client.copy(IoRegion.whole(source), List.of(IoRegion.whole(out)), flags)
                    .toCompletableFuture().join();
            Benchmark.require(r.isSuccess(), "kcopyd copy " + r);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Benchmark.require(Peer.same(src, dst), "kcopyd output " + dst + " differs from " + src
                + (flags.isEmpty() ? "" : " " + flags));
        return seconds;
    }
}
