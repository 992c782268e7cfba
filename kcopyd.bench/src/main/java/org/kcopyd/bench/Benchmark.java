package org.kcopyd.bench;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.Kcopyd;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydEngine;
import org.kcopyd.testdevices.LoopMount;

/**
 * The benchmark: makes its own data, runs the engine and its peers (dd, cp, dcfldd, nbdcopy
 * where installed) on the same files in the same run, verifies every copy, and prints
 * throughput and the ratio to each peer against the project's targets.
 *
 * <p>Options: see {@link BenchOptions#USAGE} ({@code --help}). The data lives in a new
 * directory of the benchmark's own inside each directory named by {@code --tmpfs} and
 * {@code --disk}; only the files made there, and that directory, are deleted at the end.
 * Scenarios: tmpfs-1dest, tmpfs-3dest-new, tmpfs-3dest-overwrite, disk-direct, jobs-4k, memory, the NBD
 * ones ({@link NbdScenarios}), verify ({@link VerifyScenario}), sparse ({@link SparseScenario}), sparse-nbd
 * ({@link SparseNbdScenario}: the same image from nbdkit),
 * offload ({@link OffloadScenario}, on tmpfs, on the disk directory and on a loop-mounted XFS) and client
 * ({@link ClientScenario}: the runtime jar's start-up, as whole processes). The scenarios racing dd, cp
 * and dcfldd between files (tmpfs-*, disk-direct) time the engine's page path
 * ({@link CopyFlag#NO_OFFLOAD}), as before copy offload, so that their numbers stay comparable; the
 * offload scenario times the default (auto) against always and never.
 */
public final class Benchmark {

    private static final double MIB = 1024 * 1024;

    private final BenchOptions options;
    private final long sizeMib;
    private final Runs runs;
    private final int jobs;
    private final int memoryGib;
    private final EngineSettings settings;
    private final PrintStream out;
    private volatile ScratchDirectory tmpfs;
    private volatile ScratchDirectory disk;
    /** File systems the run mounted (offload-xfs): unmounted before the scratch directories go. */
    private final Set<LoopMount> mounts = ConcurrentHashMap.newKeySet();
    private final List<String> report = new ArrayList<>();
    private int misses;
    private double ddTmpfsRate;

    private Benchmark(BenchOptions options, PrintStream out) {
        this.options = options;
        this.sizeMib = options.sizeMib;
        this.runs = new Runs(options.warmup, options.runs,
                (scenario, loop) -> line(String.format(Locale.ROOT, "%-24s warm-up runs: %s", scenario, loop.summary())));
        this.jobs = options.jobs;
        this.memoryGib = options.memoryGib;
        this.settings = options.settings;
        this.out = out;
    }

    /**
     * @param args see {@link BenchOptions#USAGE}
     */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs the benchmark as the command line asks.
     *
     * @return the exit status: 0 every target met, 1 a target missed or a run failed, 2 bad arguments
     */
    static int run(String[] args, PrintStream out, PrintStream err) {
        BenchOptions options;
        try {
            options = BenchOptions.parse(args);
        } catch (BenchOptions.UsageException e) {
            err.println("kcopyd-bench: " + e.getMessage() + " (see --help)");
            return 2;
        }
        if (options.help) {
            out.print(BenchOptions.USAGE);
            return 0;
        }
        Benchmark b = new Benchmark(options, out);
        try {
            b.run();
        } catch (Exception e) {
            err.println("kcopyd-bench: failed: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            return 1;
        }
        return b.misses == 0 ? 0 : 1;
    }

    private boolean wanted(String name) {
        return options.wanted(name);
    }

    private void run() throws Exception {
        line(BenchOptions.REPORT_HEADER + LocalDate.now() + " on " + Runtime.getRuntime().availableProcessors()
                + " cores, " + System.getProperty("java.vm.name") + " " + System.getProperty("java.version") + ", "
                + sizeMib + " MiB per copy, " + runs.describe());
        line("engine " + settings);
        // Ctrl-C or a kill: the data (GiBs, on tmpfs in memory) must not outlive the run either.
        Thread cleanup = new Thread(() -> {
            unmountAll(out::println);
            removeScratchAtExit(tmpfs);
            removeScratchAtExit(disk);
        }, "kcopyd-bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            if (options.needsTmpfs()) {
                tmpfs = ScratchDirectory.createIn(options.tmpfs);
                line("data in " + tmpfs.path());
            }
            if (wanted("disk-direct") || wanted("offload")) {
                disk = ScratchDirectory.createIn(options.disk);
                line("data in " + disk.path());
            }
            line(String.format(Locale.ROOT, "%-24s %-34s %12s %12s %8s %8s  %s", "scenario", "peer", "kcopyd",
                    "peer", "ratio", "target", "result"));
            if (wanted("tmpfs-1dest") || wanted("tmpfs-3dest-overwrite")) {
                tmpfsOneDestination();
            }
            if (wanted("tmpfs-3dest-new")) {
                tmpfsThreeNew();
            }
            if (wanted("tmpfs-3dest-overwrite")) {
                tmpfsThreeOverwrite();
            }
            if (wanted("disk-direct")) {
                diskDirect();
            }
            if (wanted("jobs-4k")) {
                smallJobs();
            }
            if (wanted("memory")) {
                memory();
            }
            NbdScenarios nbd = new NbdScenarios(this, tmpfs, settings, runs, sizeMib << 20);
            if (wanted("nbd-read")) {
                nbd.read();
            }
            if (wanted("nbd-serve")) {
                nbd.serve();
            }
            if (wanted("nbd-3dest")) {
                nbd.threeDestinations();
            }
            if (wanted("nbd-memory")) {
                nbd.memory();
            }
            if (wanted("verify")) {
                new VerifyScenario(this, tmpfs, settings, runs, sizeMib << 20).run();
            }
            if (wanted("sparse")) {
                new SparseScenario(this, tmpfs, settings, runs).run();
            }
            if (wanted(SparseNbdScenario.NAME)) {
                new SparseNbdScenario(this, tmpfs, settings, runs).run();
            }
            if (wanted("offload")) {
                OffloadScenario offload = new OffloadScenario(this, settings, runs, sizeMib << 20);
                offload.run(tmpfs, "offload", OffloadScenario.TARGET);
                offload.run(disk, "offload-disk", Double.NaN);
                offload.runOnXfs(tmpfs, "offload-xfs");
            }
            if (wanted("client")) {
                new ClientScenario(this, tmpfs, options.kcopydJar, runs.timed()).run();
            }
        } finally {
            unmountAll(this::line);
            removeScratch(tmpfs);
            removeScratch(disk);
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException e) {
                // Already shutting down: the hook runs, and finds nothing left to remove.
            }
        }
        Path results = options.results;
        Path parent = results.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.write(results, report);
        line("results written to " + results.toAbsolutePath());
    }

    /** Registers a file system the run mounted, for the shutdown hook to unmount if the run is killed. */
    void mounted(LoopMount mount) {
        mounts.add(mount);
    }

    /** Unmounts (and forgets) {@code mount}; a failure is a line of the report, not the run's end. */
    void unmount(LoopMount mount) {
        unmount(mount, this::line);
    }

    private void unmountAll(Consumer<String> say) {
        for (LoopMount m : List.copyOf(mounts)) {
            unmount(m, say);
        }
    }

    private void unmount(LoopMount mount, Consumer<String> say) {
        try {
            mount.close();
            mounts.remove(mount);
        } catch (IOException e) {
            say.accept("could not unmount " + mount + ": " + e.getMessage());
        }
    }

    private void removeScratch(ScratchDirectory dir) {
        if (dir == null) {
            return;
        }
        try {
            if (!dir.remove()) {
                line("left " + dir.path() + ": it holds files the benchmark did not make");
            }
        } catch (IOException e) {
            line("could not remove " + dir.path() + ": " + e);
        }
    }

    private void removeScratchAtExit(ScratchDirectory dir) {
        try {
            if (dir != null && !dir.remove()) {
                out.println("left " + dir.path() + ": it holds files the benchmark did not make");
            }
        } catch (IOException e) {
            out.println("could not remove " + dir.path() + ": " + e);
        }
    }

    void line(String s) {
        out.println(s);
        report.add(s);
    }

    void result(String scenario, String peer, String ours, String theirs, double ratio, double target) {
        boolean met = ratio >= target;
        if (!met) {
            misses++;
        }
        line(String.format(Locale.ROOT, "%-24s %-34s %12s %12s %7.2fx %7.2fx  %s", scenario, peer, ours, theirs, ratio,
                target, met ? "met" : "MISSED"));
    }

    /** A target that could not be checked (a peer missing): said, and counted as missed. */
    void miss(String why) {
        misses++;
        line(why);
    }

    /** A measured value against its target, with no peer. */
    void measured(String scenario, String what, String value, String target, boolean met) {
        if (!met) {
            misses++;
        }
        line(String.format(Locale.ROOT, "%-24s %-34s %12s %12s %8s %8s  %s", scenario, what, value, "-", "-", target,
                met ? "met" : "MISSED"));
    }

    /** A measured value reported with no peer and no target. */
    void reported(String scenario, String what, String value) {
        line(String.format(Locale.ROOT, "%-24s %-34s %12s %12s %8s %8s  %s", scenario, what, value, "-", "-", "-",
                "info"));
    }

    void info(String scenario, String peer, String ours, String theirs, double ratio) {
        line(String.format(Locale.ROOT, "%-24s %-34s %12s %12s %7.2fx %8s  %s", scenario, peer, ours, theirs, ratio,
                "-", "info"));
    }

    static String rate(double bytesPerSecond) {
        return String.format(Locale.ROOT, "%.0f MiB/s", bytesPerSecond / MIB);
    }

    // ---- data ----

    static void writePattern(Path file, long bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            for (long pos = 0; pos < bytes; pos += buf.capacity()) {
                buf.clear();
                buf.limit((int) Math.min(buf.capacity(), bytes - pos));
                Pattern.fill(buf, pos);
                buf.flip();
                while (buf.hasRemaining()) {
                    ch.write(buf, pos + buf.position());
                }
            }
        }
    }

    static void require(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("verification failed: " + what);
        }
    }

    // ---- the engine side ----

    /**
     * Times the peer and kcopyd alternately, {@code runs} times each, so that drift in a shared
     * machine's speed hits both alike; verifies every output after every run.
     *
     * @param scenario names the runs in the report's warm-up line
     * @param peer     the peer's command, or null to time kcopyd only
     * @param outputs  files the peer writes (deleted before each peer run when {@code create})
     * @param dests    files kcopyd writes
     * @param create   true: outputs are new files; false: existing files are overwritten
     * @return {peer best seconds (NaN without a peer), kcopyd best seconds}
     */
    private double[] race(String scenario, List<String> peer, List<Path> outputs, Path src, List<Path> dests,
            boolean create, boolean direct) throws Exception {
        double peerBest = peer == null ? Double.NaN : Double.MAX_VALUE;
        double oursBest = Double.MAX_VALUE;
        try (KcopydEngine engine = Kcopyd.start(settings)) {
            for (Runs.Loop run = runs.loop(scenario); run.next();) {
                if (peer != null && run.peers()) {
                    if (create) {
                        for (Path d : outputs) {
                            Files.deleteIfExists(d);
                        }
                    }
                    peerBest = run.best(peerBest, Peer.run(peer));
                    for (Path d : outputs) {
                        require(Peer.same(src, d), peer.get(0) + " output " + d + " differs from " + src);
                    }
                }
                oursBest = run.best(oursBest, kcopydOnce(engine, src, dests, create, direct));
                for (Path d : dests) {
                    require(Peer.same(src, d), "kcopyd output " + d + " differs from " + src);
                }
            }
        }
        return new double[] {peerBest, oursBest};
    }

    /** One timed copy of {@code src} to every destination, through a new client; returns seconds. */
    private static double kcopydOnce(KcopydEngine engine, Path src, List<Path> dests, boolean create, boolean direct)
            throws Exception {
        if (create) {
            for (Path d : dests) {
                Files.deleteIfExists(d);
            }
        }
        DeviceOption[] opts = direct ? new DeviceOption[] {DeviceOption.DIRECT} : new DeviceOption[0];
        long start = System.nanoTime();
        List<BlockDevice> opened = new ArrayList<>();
        try (BlockDevice source = engine.devices().open(src, opts); KcopydClient client = engine.createClient()) {
            List<IoRegion> regions = new ArrayList<>();
            for (Path d : dests) {
                BlockDevice dev = create ? engine.devices().create(d, source.sizeInSectors(), opts)
                        : engine.devices().open(d, withWrite(opts));
                opened.add(dev);
                regions.add(IoRegion.whole(dev));
            }
            // The page path: offload has its own scenario.
            CopyResult r = client.copy(IoRegion.whole(source), regions, Set.of(CopyFlag.NO_OFFLOAD))
                    .toCompletableFuture().join();
            require(r.isSuccess(), "kcopyd copy " + r);
        } finally {
            for (BlockDevice dev : opened) {
                dev.close();
            }
        }
        return (System.nanoTime() - start) / 1e9;
    }

    private static DeviceOption[] withWrite(DeviceOption[] opts) {
        DeviceOption[] all = java.util.Arrays.copyOf(opts, opts.length + 1);
        all[opts.length] = DeviceOption.READ_WRITE;
        return all;
    }

    // ---- scenarios ----

    private void tmpfsOneDestination() throws Exception {
        long bytes = sizeMib << 20;
        Path src = tmpfs.file("src.img");
        Path dst = tmpfs.file("dst.img");
        writePattern(src, bytes);
        writePattern(dst, bytes);
        double[] t = race("tmpfs-1dest", List.of("dd", "if=" + src, "of=" + dst, "bs=1M", "conv=notrunc",
                "status=none"), List.of(dst), src, List.of(dst), false, false);
        double dd = t[0];
        double ours = t[1];
        ddTmpfsRate = bytes / dd;
        if (wanted("tmpfs-1dest")) {
            result("tmpfs-1dest", "dd bs=1M conv=notrunc", rate(bytes / ours), rate(bytes / dd), dd / ours, 1.0);
            double cp = race("tmpfs-1dest cp", List.of("cp", src.toString(), dst.toString()), List.of(dst), src,
                    List.of(dst), false, false)[0];
            info("tmpfs-1dest", "cp", rate(bytes / ours), rate(bytes / cp), cp / ours);
            if (Peer.installed("nbdcopy")) {
                double nbd = race("tmpfs-1dest nbdcopy", List.of("nbdcopy", src.toString(), dst.toString()),
                        List.of(dst), src, List.of(dst), false, false)[0];
                info("tmpfs-1dest", "nbdcopy", rate(bytes / ours), rate(bytes / nbd), nbd / ours);
            } else {
                line("tmpfs-1dest: nbdcopy not installed (Debian package libnbd-bin), skipped");
            }
        }
    }

    private void tmpfsThreeNew() throws Exception {
        long bytes = sizeMib << 20;
        Path src = tmpfs.file("src.img");
        if (!Files.exists(src)) {
            writePattern(src, bytes);
        }
        List<Path> outs = List.of(tmpfs.file("n1.img"), tmpfs.file("n2.img"), tmpfs.file("n3.img"));
        if (Peer.installed("dcfldd")) {
            List<String> cmd = new ArrayList<>(List.of("dcfldd", "if=" + src, "bs=1M", "status=off"));
            for (Path o : outs) {
                cmd.add("of=" + o);
            }
            double[] t = race("tmpfs-3dest-new", cmd, outs, src, outs, true, false);
            double dcfldd = t[0];
            double ours = t[1];
            result("tmpfs-3dest-new", "dcfldd bs=1M, 3x of= (new files)", rate(bytes / ours), rate(bytes / dcfldd),
                    dcfldd / ours, 1.5);
        } else {
            misses++;
            line("tmpfs-3dest-new: dcfldd not installed (Debian package dcfldd): target 1.5x NOT CHECKED");
        }
        for (Path o : outs) {
            Files.deleteIfExists(o);
        }
    }

    private void tmpfsThreeOverwrite() throws Exception {
        long bytes = sizeMib << 20;
        Path src = tmpfs.file("src.img");
        List<Path> outs = List.of(tmpfs.file("o1.img"), tmpfs.file("o2.img"), tmpfs.file("o3.img"));
        for (Path o : outs) {
            writePattern(o, bytes);
        }
        double ours = race("tmpfs-3dest-overwrite", null, List.of(), src, outs, false, false)[1];
        result("tmpfs-3dest-overwrite", "1-destination dd rate (above)", rate(bytes / ours), rate(ddTmpfsRate),
                (bytes / ours) / ddTmpfsRate, 0.6);
        for (Path o : outs) {
            Files.deleteIfExists(o);
        }
    }

    private void diskDirect() throws Exception {
        long bytes = sizeMib << 20;
        Path src = disk.file("src.img");
        Path dst = disk.file("dst.img");
        writePattern(src, bytes);
        writePattern(dst, bytes);
        double[] t = race("disk-direct", List.of("dd", "if=" + src, "of=" + dst, "bs=1M", "iflag=direct",
                "oflag=direct", "conv=notrunc", "status=none"), List.of(dst), src, List.of(dst), false, true);
        double dd = t[0];
        double ours = t[1];
        result("disk-direct", "dd bs=1M iflag=direct oflag=direct", rate(bytes / ours), rate(bytes / dd), dd / ours,
                1.15);
        Files.deleteIfExists(src);
        Files.deleteIfExists(dst);
    }

    /**
     * jobs-4k: {@link #jobs} copies of 4 KiB with callbacks between two 64 MiB files on tmpfs, in the
     * order of their slots (each job continues the one before it, as a stream of small copies of
     * one area does: the engine merges those queued together), target 600,000 jobs/s (issue 13);
     * and jobs-4k-scattered, the same jobs in a fixed random order of the slots, which no merge
     * helps: the cost of a job of its own, target the earlier floor of 300,000 jobs/s.
     */
    private void smallJobs() throws Exception {
        long bytes = Math.min(64, sizeMib) << 20;
        Path src = tmpfs.file("jobs-src.img");
        Path dst = tmpfs.file("jobs-dst.img");
        writePattern(src, bytes);
        writePattern(dst, bytes);
        try (KcopydEngine engine = Kcopyd.start(settings);
                BlockDevice s = engine.devices().open(src);
                BlockDevice d = engine.devices().open(dst, DeviceOption.READ_WRITE)) {
            int slots = Math.toIntExact(s.sizeInSectors() / 8);
            int[] inOrder = new int[slots];
            for (int i = 0; i < slots; i++) {
                inOrder[i] = i;
            }
            int[] scattered = inOrder.clone();
            java.util.Random random = new java.util.Random(42);
            for (int i = slots - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = scattered[i];
                scattered[i] = scattered[j];
                scattered[j] = t;
            }
            smallJobs(engine, s, d, "jobs-4k", inOrder, 600_000);
            smallJobs(engine, s, d, "jobs-4k-scattered", scattered, 300_000);
        }
        require(Peer.same(src, dst), "small-job copy differs");
        Files.deleteIfExists(src);
        Files.deleteIfExists(dst);
    }

    /** Times {@link #jobs} jobs of 4 KiB, job i copying slot {@code order[i % order.length]}; best of the runs. */
    private void smallJobs(KcopydEngine engine, BlockDevice s, BlockDevice d, String name, int[] order, int target)
            throws Exception {
        double best = Double.MAX_VALUE;
        long maxInFlight = 0;
        for (Runs.Loop run = runs.loop(name); run.next();) {
            try (KcopydClient client = engine.createClient()) {
                AtomicLong callbacks = new AtomicLong();
                long start = System.nanoTime();
                for (int i = 0; i < jobs; i++) {
                    long sector = order[i % order.length] * 8L;
                    client.copy(IoRegion.of(s, sector, 8), List.of(IoRegion.of(d, sector, 8)),
                            EnumSet.noneOf(CopyFlag.class), (re, we, ctx) -> callbacks.incrementAndGet(), null);
                    if ((i & 1023) == 0) {
                        maxInFlight = Math.max(maxInFlight, client.statistics().jobsInFlight());
                    }
                }
                client.flush().toCompletableFuture().join();
                best = run.best(best, (System.nanoTime() - start) / 1e9);
                require(callbacks.get() == jobs, name + ": callbacks " + callbacks.get() + " of " + jobs);
                require(client.statistics().jobsFailed() == 0, name + ": failed small jobs");
            }
        }
        double perSecond = jobs / best;
        line(String.format(Locale.ROOT, "%-24s %-34s %12s %12s %8s %8s  %s", name,
                jobs + " jobs, callbacks, page cache", String.format(Locale.ROOT, "%.0f/s", perSecond), "-", "-",
                target + "/s", perSecond >= target ? "met" : "MISSED"));
        if (perSecond < target) {
            misses++;
        }
        boolean bounded = maxInFlight <= settings.maxQueuedJobs();
        line(String.format(Locale.ROOT, "%-24s %-34s %12s %12s %8s %8s  %s", name.replace("jobs-4k", "jobs-admission"),
                "max jobs in flight (sampled)", maxInFlight, "-", "-", "<=" + settings.maxQueuedJobs(),
                bounded ? "met" : "MISSED"));
        if (!bounded) {
            misses++;
        }
    }

    private void memory() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classPath = System.getProperty("java.class.path");
        Process p = new ProcessBuilder(java, "-cp", classPath.replace(File.pathSeparator, File.pathSeparator),
                MemoryProbe.class.getName(), Integer.toString(memoryGib)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        require(p.waitFor() == 0, "memory probe: " + out);
        long growthKib = Long.parseLong(out.replaceAll(".*rss-growth-kib=(\\d+).*", "$1"));
        require(out.contains("verified=true"), "memory probe copy: " + out);
        boolean met = growthKib < 64 * 1024;
        if (!met) {
            misses++;
        }
        line(String.format(Locale.ROOT, "%-24s %-34s %12s %12s %8s %8s  %s", "memory",
                memoryGib + " GiB copy, default pages", String.format(Locale.ROOT, "+%.1f MiB", growthKib / 1024.0),
                "-", "-", "<64 MiB", met ? "met" : "MISSED"));
    }
}
