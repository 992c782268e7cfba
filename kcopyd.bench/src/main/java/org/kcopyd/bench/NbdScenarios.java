package org.kcopyd.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
import org.kcopyd.nbd.NbdClient;
import org.kcopyd.nbd.NbdClientOptions;
import org.kcopyd.nbd.NbdServer;
import org.kcopyd.nbd.NbdUri;

/**
 * The NBD scenarios (issue 10's targets), each against its peer in the same run, alternating
 * run by run, best of N, every output verified with {@code cmp}:
 * <ul>
 * <li>nbd-read: kcopyd copies an nbdkit {@code file} export (on tmpfs, Unix socket) to a tmpfs
 * file that does not exist yet, against nbdcopy doing the same (target ≥ 1.0×; kcopyd's engine time, no
 * JVM start). A second series of nbdcopy runs, each right after kcopyd's, is compared with the first
 * as kcopyd is: the ratio the target would give a program that is nbdcopy, the host's noise;</li>
 * <li>nbd-serve: kcopyd's server exports a tmpfs file, read by {@code nbdcopy URI null:}, against
 * the same file served by nbdkit's file plugin (target ≥ 0.8×);</li>
 * <li>nbd-3dest: one nbdkit export to three new tmpfs files in one kcopyd job, against three
 * nbdcopy runs (target ≥ 1.5×);</li>
 * <li>nbd-memory: kcopyd's server, in a JVM of its own, serving 8 clients that each read 1 GiB
 * at once: its peak RSS growth (target &lt; 64 MiB).</li>
 * </ul>
 * Both clients use the same number of connections: what nbdcopy itself uses with its default of 4
 * against a multi-conn server, {@link #CONNECTIONS}.
 */
final class NbdScenarios {

    /**
     * Connections of both clients: 4 (nbdcopy's default) or fewer on a machine with fewer processors.
     * nbdcopy opens at most one connection per copying thread and, unless told otherwise, runs one
     * thread per online processor, so {@code --connections=4} gives it 2 on 2 cores (strace shows
     * two connects). Our client opens exactly what it is asked for, so it gets that count too: more
     * connections than processors only add reader threads contending for the cores and for the
     * destination file's lock (measured on 2 cores, 1 GiB from nbdkit into a tmpfs file, 10 runs
     * alternating: 4 connections best 0.571 s, 2 connections 0.477 s, 8 sub-jobs in flight either
     * way; 16 or 32 sub-jobs in flight changed nothing).
     */
    static final int CONNECTIONS = Math.min(4, Runtime.getRuntime().availableProcessors());
    private final Benchmark bench;
    private final ScratchDirectory tmpfs;
    private final EngineSettings settings;
    private final Runs runs;
    private final long bytes;

    NbdScenarios(Benchmark bench, ScratchDirectory tmpfs, EngineSettings settings, Runs runs, long bytes) {
        this.bench = bench;
        this.tmpfs = tmpfs;
        this.settings = settings;
        this.runs = runs;
        this.bytes = bytes;
    }

    /** @return true if the peers are installed; else says which package to install and counts a miss */
    private boolean peers(String scenario) {
        return peersInstalled(bench, scenario);
    }

    /**
     * @return true if nbdkit and nbdcopy are installed; else tells {@code bench} which packages to
     *         install and counts a miss for {@code scenario}
     */
    static boolean peersInstalled(Benchmark bench, String scenario) {
        if (Peer.installed("nbdkit") && Peer.installed("nbdcopy")) {
            return true;
        }
        bench.miss(scenario + ": nbdkit or nbdcopy not installed (Debian packages nbdkit, libnbd-bin): "
                + "target NOT CHECKED");
        return false;
    }

    private Path source() throws IOException {
        Path src = tmpfs.file("nbd-src.img");
        if (!Files.exists(src)) {
            Benchmark.writePattern(src, bytes);
        }
        return src;
    }

    void read() throws Exception {
        if (!peers("nbd-read")) {
            return;
        }
        Path src = source();
        Path dst = tmpfs.file("nbd-dst.img");
        double peerBest = Double.MAX_VALUE;
        double peerAgainBest = Double.MAX_VALUE;
        double oursBest = Double.MAX_VALUE;
        try (NbdkitServer nbdkit = NbdkitServer.start(tmpfs.file("nbdkit.sock"), "file", src.toString());
                KcopydEngine engine = Kcopyd.start(settings)) {
            List<String> nbdcopy = List.of("nbdcopy", "--connections=" + CONNECTIONS, nbdkit.uri(), dst.toString());
            for (Runs.Loop run = runs.loop("nbd-read"); run.next();) {
                // Both write a new file: nbdcopy truncates an existing one to nothing first (ftruncate 0,
                // then the size), so overwriting the pages its run left would spare kcopyd the page
                // allocations nbdcopy pays (stop 23: 1.58-1.74x that way), and an existing file would charge
                // nbdcopy's run for freeing its pages.
                Files.deleteIfExists(dst);
                if (run.peers()) {
                    peerBest = run.best(peerBest, Peer.run(nbdcopy));
                    Benchmark.require(Peer.same(src, dst), "nbdcopy output differs");
                    Files.delete(dst);
                }
                oursBest = run.best(oursBest, fromNbd(engine, nbdkit.socket(), List.of(dst), true, Set.of()));
                Benchmark.require(Peer.same(src, dst), "kcopyd output differs");
                if (run.timing()) {
                    // The peer once more, after kcopyd: a second series, the same size as the first.
                    Files.delete(dst);
                    peerAgainBest = run.best(peerAgainBest, Peer.run(nbdcopy));
                    Benchmark.require(Peer.same(src, dst), "nbdcopy output differs");
                }
            }
        }
        bench.result("nbd-read", "nbdcopy, nbdkit file export, " + CONNECTIONS + " conn", Benchmark.rate(bytes / oursBest),
                Benchmark.rate(bytes / peerBest), peerBest / oursBest, 1.0);
        // What the same comparison gives a program that is the peer itself: the host's noise at this target.
        bench.info("nbd-read", "nbdcopy against itself (2nd series)", Benchmark.rate(bytes / peerAgainBest),
                Benchmark.rate(bytes / peerBest), peerBest / peerAgainBest);
        Files.deleteIfExists(dst);
    }

    void threeDestinations() throws Exception {
        if (!peers("nbd-3dest")) {
            return;
        }
        Path src = source();
        List<Path> outs = List.of(tmpfs.file("nbd-n1.img"), tmpfs.file("nbd-n2.img"), tmpfs.file("nbd-n3.img"));
        double peerBest = Double.MAX_VALUE;
        double oursBest = Double.MAX_VALUE;
        try (NbdkitServer nbdkit = NbdkitServer.start(tmpfs.file("nbdkit.sock"), "file", src.toString());
                KcopydEngine engine = Kcopyd.start(settings)) {
            for (Runs.Loop run = runs.loop("nbd-3dest"); run.next();) {
                if (run.peers()) {
                    double three = 0;
                    for (Path o : outs) {
                        Files.deleteIfExists(o);
                        three += Peer.run(List.of("nbdcopy", "--connections=" + CONNECTIONS, nbdkit.uri(),
                                o.toString()));
                        Benchmark.require(Peer.same(src, o), "nbdcopy output " + o + " differs");
                    }
                    peerBest = run.best(peerBest, three);
                }
                for (Path o : outs) {
                    Files.deleteIfExists(o);
                }
                oursBest = run.best(oursBest, fromNbd(engine, nbdkit.socket(), outs, true, Set.of()));
                for (Path o : outs) {
                    Benchmark.require(Peer.same(src, o), "kcopyd output " + o + " differs");
                }
            }
        }
        bench.result("nbd-3dest", "3 nbdcopy runs (new files), " + CONNECTIONS + " conn", Benchmark.rate(bytes / oursBest),
                Benchmark.rate(bytes / peerBest), peerBest / oursBest, 1.5);
        for (Path o : outs) {
            Files.deleteIfExists(o);
        }
    }

    /**
     * One timed kcopyd job from the export on {@code socket} ({@link #CONNECTIONS} connections) to
     * the files, created new ({@code create}) or opened for writing, with {@code flags}; the time
     * includes connecting and opening, as a peer's process does. Returns seconds.
     */
    static double fromNbd(KcopydEngine engine, Path socket, List<Path> dests, boolean create, Set<CopyFlag> flags)
            throws Exception {
        long start = System.nanoTime();
        List<BlockDevice> opened = new ArrayList<>();
        try (BlockDevice source = NbdClient.connect(NbdUri.unix(socket, ""),
                NbdClientOptions.defaults().withConnections(CONNECTIONS));
                KcopydClient client = engine.createClient()) {
            List<IoRegion> regions = new ArrayList<>();
            for (Path d : dests) {
                BlockDevice dev = create ? engine.devices().create(d, source.sizeInSectors())
                        : engine.devices().open(d, DeviceOption.READ_WRITE);
                opened.add(dev);
                regions.add(IoRegion.whole(dev));
            }
            CopyResult r = client.copy(IoRegion.whole(source), regions, flags).toCompletableFuture().join();
            Benchmark.require(r.isSuccess(), "kcopyd copy from NBD " + r);
        } finally {
            for (BlockDevice dev : opened) {
                dev.close();
            }
        }
        return (System.nanoTime() - start) / 1e9;
    }

    void serve() throws Exception {
        if (!peers("nbd-serve")) {
            return;
        }
        Path src = source();
        double peerBest = Double.MAX_VALUE;
        double oursBest = Double.MAX_VALUE;
        try (NbdkitServer nbdkit = NbdkitServer.start(tmpfs.file("nbdkit.sock"), "file", src.toString());
                KcopydEngine engine = Kcopyd.start(settings);
                BlockDevice device = engine.devices().open(src);
                NbdServer ours = NbdServer.builder().export("", device, true).startUnix(tmpfs.file("kcopyd.sock"))) {
            String ourUri = ours.uri("").toString();
            for (Runs.Loop run = runs.loop("nbd-serve"); run.next();) {
                if (run.peers()) {
                    peerBest = run.best(peerBest, Peer.run(List.of("nbdcopy", "--connections=" + CONNECTIONS,
                            nbdkit.uri(), "null:")));
                }
                oursBest = run.best(oursBest, Peer.run(List.of("nbdcopy", "--connections=" + CONNECTIONS, ourUri,
                        "null:")));
            }
            // What the timed runs read is checked once: the served export equals the file.
            Path check = tmpfs.file("nbd-serve-check.img");
            Peer.run(List.of("nbdcopy", ourUri, check.toString()));
            Benchmark.require(Peer.same(src, check), "kcopyd serve: what nbdcopy read differs from the file");
            Files.deleteIfExists(check);
        }
        bench.result("nbd-serve", "nbdkit file, nbdcopy null:, " + CONNECTIONS + " conn", Benchmark.rate(bytes / oursBest),
                Benchmark.rate(bytes / peerBest), peerBest / oursBest, 0.8);
    }

    void memory() throws Exception {
        if (!peers("nbd-memory")) {
            return;
        }
        int clients = 8;
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path socket = tmpfs.file("probe.sock");
        Process probe = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                NbdServeProbe.class.getName(), socket.toString(), Long.toString(1L << 30)).start();
        try {
            String ready = new String(probe.getInputStream().readNBytes(NbdServeProbe.READY.length() + 1)).trim();
            Benchmark.require(ready.equals(NbdServeProbe.READY), "memory probe did not start: " + ready);
            String uri = "nbd+unix:///?socket=" + socket;
            List<Process> readers = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                readers.add(new ProcessBuilder("nbdcopy", uri, "null:").redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
            }
            for (Process r : readers) {
                Benchmark.require(r.waitFor() == 0, "nbdcopy reading the probe's export failed");
            }
            try (OutputStream stdin = probe.getOutputStream()) {
                stdin.write('\n');
            }
            String out = new String(probe.getInputStream().readAllBytes()).trim();
            Benchmark.require(probe.waitFor() == 0, "memory probe: " + out);
            long growthKib = Long.parseLong(out.replaceAll(".*rss-growth-kib=(\\d+).*", "$1"));
            boolean met = growthKib < 64 * 1024;
            bench.measured("nbd-memory", clients + " clients x 1 GiB, kcopyd serve",
                    String.format(Locale.ROOT, "+%.1f MiB", growthKib / 1024.0), "<64 MiB", met);
        } finally {
            probe.destroyForcibly();
        }
    }
}
