package org.kcopyd.bench;

import java.io.File;
import java.io.IOException;
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
import java.util.concurrent.atomic.AtomicLong;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.Kcopyd;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydEngine;

/**
 * The benchmark: makes its own data, runs the engine and its peers (dd, cp, dcfldd, nbdcopy
 * where installed) on the same files in the same run, verifies every copy, and prints
 * throughput and the ratio to each peer against the project's targets.
 *
 * <pre>
 * java -jar kcopyd.bench/target/kcopyd-bench.jar [--size-mib N] [--runs N] [--jobs N]
 *      [--memory-gib N] [--tmpfs DIR] [--disk DIR] [--only NAME[,NAME]]
 * </pre>
 * Scenarios: tmpfs-1dest, tmpfs-3dest-new, tmpfs-3dest-overwrite, disk-direct, jobs-4k, memory.
 */
public final class Benchmark {

    private static final double MIB = 1024 * 1024;

    private long sizeMib = 1024;
    private int runs = 3;
    private int jobs = 1_000_000;
    private int memoryGib = 8;
    private Path tmpfs = Path.of("/dev/shm/kcopyd-bench");
    private Path disk = Path.of("/var/tmp/kcopyd-bench");
    private Set<String> only = Set.of();
    private final List<String> report = new ArrayList<>();
    private int misses;
    private double ddTmpfsRate;

    private Benchmark() {
    }

    /**
     * @param args see the class documentation
     * @throws Exception on a failed copy or peer
     */
    public static void main(String[] args) throws Exception {
        Benchmark b = new Benchmark();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--size-mib" -> b.sizeMib = Long.parseLong(args[++i]);
                case "--runs" -> b.runs = Integer.parseInt(args[++i]);
                case "--jobs" -> b.jobs = Integer.parseInt(args[++i]);
                case "--memory-gib" -> b.memoryGib = Integer.parseInt(args[++i]);
                case "--tmpfs" -> b.tmpfs = Path.of(args[++i]);
                case "--disk" -> b.disk = Path.of(args[++i]);
                case "--only" -> b.only = Set.of(args[++i].split(","));
                default -> {
                    System.err.println("unknown argument " + args[i] + "; see the Benchmark class documentation");
                    System.exit(2);
                }
            }
        }
        b.run();
        System.exit(b.misses == 0 ? 0 : 1);
    }

    private boolean wanted(String name) {
        return only.isEmpty() || only.contains(name);
    }

    private void run() throws Exception {
        line("kcopyd benchmark " + LocalDate.now() + " on " + Runtime.getRuntime().availableProcessors() + " cores, "
                + System.getProperty("java.vm.name") + " " + System.getProperty("java.version") + ", "
                + sizeMib + " MiB per copy, best of " + runs);
        line(String.format(Locale.ROOT, "%-24s %-34s %12s %12s %8s %8s  %s", "scenario", "peer", "kcopyd",
                "peer", "ratio", "target", "result"));
        Files.createDirectories(tmpfs);
        try {
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
        } finally {
            deleteTree(tmpfs);
            deleteTree(disk);
        }
        Path out = Path.of("bench-results");
        Files.createDirectories(out);
        Files.write(out.resolve("latest.txt"), report);
        line("results written to " + out.resolve("latest.txt").toAbsolutePath());
    }

    private void line(String s) {
        System.out.println(s);
        report.add(s);
    }

    private void result(String scenario, String peer, String ours, String theirs, double ratio, double target) {
        boolean met = ratio >= target;
        if (!met) {
            misses++;
        }
        line(String.format(Locale.ROOT, "%-24s %-34s %12s %12s %7.2fx %7.2fx  %s", scenario, peer, ours, theirs, ratio,
                target, met ? "met" : "MISSED"));
    }

    private void info(String scenario, String peer, String ours, String theirs, double ratio) {
        line(String.format(Locale.ROOT, "%-24s %-34s %12s %12s %7.2fx %8s  %s", scenario, peer, ours, theirs, ratio,
                "-", "info"));
    }

    private static String rate(double bytesPerSecond) {
        return String.format(Locale.ROOT, "%.0f MiB/s", bytesPerSecond / MIB);
    }

    // ---- data ----

    private static void writePattern(Path file, long bytes) throws IOException {
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

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
        }
        Files.deleteIfExists(dir);
    }

    private static void require(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("verification failed: " + what);
        }
    }

    // ---- the engine side ----

    /** Copies {@code src} to each destination with a fresh engine client; returns seconds (best of runs). */
    private double kcopyd(Path src, List<Path> dests, boolean create, boolean direct, EngineSettings settings)
            throws Exception {
        double best = Double.MAX_VALUE;
        try (KcopydEngine engine = Kcopyd.start(settings)) {
            for (int run = 0; run < runs; run++) {
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
                    CopyResult r = client.copy(IoRegion.whole(source), regions, Set.of()).toCompletableFuture().join();
                    require(r.isSuccess(), "kcopyd copy " + r);
                } finally {
                    for (BlockDevice dev : opened) {
                        dev.close();
                    }
                }
                best = Math.min(best, (System.nanoTime() - start) / 1e9);
            }
        }
        for (Path d : dests) {
            require(Peer.same(src, d), "kcopyd output " + d + " differs from " + src);
        }
        return best;
    }

    private static DeviceOption[] withWrite(DeviceOption[] opts) {
        DeviceOption[] all = java.util.Arrays.copyOf(opts, opts.length + 1);
        all[opts.length] = DeviceOption.READ_WRITE;
        return all;
    }

    private double peer(List<String> command, List<Path> deleteFirst, Path src, List<Path> outputs) throws Exception {
        double best = Double.MAX_VALUE;
        for (int run = 0; run < runs; run++) {
            for (Path d : deleteFirst) {
                Files.deleteIfExists(d);
            }
            best = Math.min(best, Peer.run(command));
        }
        for (Path d : outputs) {
            require(Peer.same(src, d), command.get(0) + " output " + d + " differs from " + src);
        }
        return best;
    }

    // ---- scenarios ----

    private void tmpfsOneDestination() throws Exception {
        long bytes = sizeMib << 20;
        Path src = tmpfs.resolve("src.img");
        Path dst = tmpfs.resolve("dst.img");
        writePattern(src, bytes);
        writePattern(dst, bytes);
        double dd = peer(List.of("dd", "if=" + src, "of=" + dst, "bs=1M", "conv=notrunc", "status=none"), List.of(),
                src, List.of(dst));
        writePattern(dst, bytes);
        double ours = kcopyd(src, List.of(dst), false, false, EngineSettings.defaults());
        ddTmpfsRate = bytes / dd;
        if (wanted("tmpfs-1dest")) {
            result("tmpfs-1dest", "dd bs=1M conv=notrunc", rate(bytes / ours), rate(bytes / dd), dd / ours, 1.0);
            double cp = peer(List.of("cp", src.toString(), dst.toString()), List.of(), src, List.of(dst));
            info("tmpfs-1dest", "cp", rate(bytes / ours), rate(bytes / cp), cp / ours);
            if (Peer.installed("nbdcopy")) {
                double nbd = peer(List.of("nbdcopy", src.toString(), dst.toString()), List.of(), src, List.of(dst));
                info("tmpfs-1dest", "nbdcopy", rate(bytes / ours), rate(bytes / nbd), nbd / ours);
            } else {
                line("tmpfs-1dest: nbdcopy not installed (Debian package libnbd-bin), skipped");
            }
        }
    }

    private void tmpfsThreeNew() throws Exception {
        long bytes = sizeMib << 20;
        Path src = tmpfs.resolve("src.img");
        if (!Files.exists(src)) {
            writePattern(src, bytes);
        }
        List<Path> outs = List.of(tmpfs.resolve("n1.img"), tmpfs.resolve("n2.img"), tmpfs.resolve("n3.img"));
        double ours = kcopyd(src, outs, true, false, EngineSettings.defaults());
        if (Peer.installed("dcfldd")) {
            List<String> cmd = new ArrayList<>(List.of("dcfldd", "if=" + src, "bs=1M", "status=off"));
            for (Path o : outs) {
                cmd.add("of=" + o);
            }
            double dcfldd = peer(cmd, outs, src, outs);
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
        Path src = tmpfs.resolve("src.img");
        List<Path> outs = List.of(tmpfs.resolve("o1.img"), tmpfs.resolve("o2.img"), tmpfs.resolve("o3.img"));
        for (Path o : outs) {
            writePattern(o, bytes);
        }
        double ours = kcopyd(src, outs, false, false, EngineSettings.defaults());
        result("tmpfs-3dest-overwrite", "1-destination dd rate (above)", rate(bytes / ours), rate(ddTmpfsRate),
                (bytes / ours) / ddTmpfsRate, 0.6);
        for (Path o : outs) {
            Files.deleteIfExists(o);
        }
    }

    private void diskDirect() throws Exception {
        long bytes = sizeMib << 20;
        Files.createDirectories(disk);
        Path src = disk.resolve("src.img");
        Path dst = disk.resolve("dst.img");
        writePattern(src, bytes);
        writePattern(dst, bytes);
        double dd = peer(List.of("dd", "if=" + src, "of=" + dst, "bs=1M", "iflag=direct", "oflag=direct",
                "conv=notrunc", "status=none"), List.of(), src, List.of(dst));
        writePattern(dst, bytes);
        double ours = kcopyd(src, List.of(dst), false, true, EngineSettings.defaults());
        result("disk-direct", "dd bs=1M iflag=direct oflag=direct", rate(bytes / ours), rate(bytes / dd), dd / ours,
                1.15);
        Files.deleteIfExists(src);
        Files.deleteIfExists(dst);
    }

    private void smallJobs() throws Exception {
        long bytes = 64L << 20;
        Path src = tmpfs.resolve("jobs-src.img");
        Path dst = tmpfs.resolve("jobs-dst.img");
        writePattern(src, bytes);
        writePattern(dst, bytes);
        EngineSettings settings = EngineSettings.defaults();
        double best = Double.MAX_VALUE;
        long maxInFlight = 0;
        try (KcopydEngine engine = Kcopyd.start(settings);
                BlockDevice s = engine.devices().open(src);
                BlockDevice d = engine.devices().open(dst, DeviceOption.READ_WRITE)) {
            long slots = s.sizeInSectors() / 8;
            for (int run = 0; run < runs; run++) {
                try (KcopydClient client = engine.createClient()) {
                    AtomicLong callbacks = new AtomicLong();
                    long start = System.nanoTime();
                    for (int i = 0; i < jobs; i++) {
                        long sector = (i % slots) * 8;
                        client.copy(IoRegion.of(s, sector, 8), List.of(IoRegion.of(d, sector, 8)),
                                EnumSet.noneOf(CopyFlag.class), (re, we, ctx) -> callbacks.incrementAndGet(), null);
                        if ((i & 1023) == 0) {
                            maxInFlight = Math.max(maxInFlight, client.statistics().jobsInFlight());
                        }
                    }
                    client.flush().toCompletableFuture().join();
                    best = Math.min(best, (System.nanoTime() - start) / 1e9);
                    require(callbacks.get() == jobs, "callbacks " + callbacks.get() + " of " + jobs);
                    require(client.statistics().jobsFailed() == 0, "failed small jobs");
                }
            }
        }
        require(Peer.same(src, dst), "small-job copy differs");
        double perSecond = jobs / best;
        line(String.format(Locale.ROOT, "%-24s %-34s %12s %12s %8s %8s  %s", "jobs-4k",
                jobs + " jobs, callbacks, page cache", String.format(Locale.ROOT, "%.0f/s", perSecond), "-", "-",
                "300000/s", perSecond >= 300_000 ? "met" : "MISSED"));
        if (perSecond < 300_000) {
            misses++;
        }
        boolean bounded = maxInFlight <= settings.maxQueuedJobs();
        line(String.format(Locale.ROOT, "%-24s %-34s %12s %12s %8s %8s  %s", "jobs-admission",
                "max jobs in flight (sampled)", maxInFlight, "-", "-", "<=" + settings.maxQueuedJobs(),
                bounded ? "met" : "MISSED"));
        if (!bounded) {
            misses++;
        }
        Files.deleteIfExists(src);
        Files.deleteIfExists(dst);
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
