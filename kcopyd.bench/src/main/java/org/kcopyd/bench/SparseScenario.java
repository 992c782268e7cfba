package org.kcopyd.bench;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.Kcopyd;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydEngine;

/**
 * The {@code sparse} scenario (issue 13): an 8 GiB image on tmpfs holding 5% data in scattered
 * extents (64 KiB to 2 MiB, seeded), copied to a new file by kcopyd ({@link CopyFlag#SPARSE}, as
 * {@code copy} does by default) and, alternately, by {@code qemu-img convert -O raw} and
 * {@code nbdcopy} (both sparse-aware: targets 1.0x) and {@code dd bs=1M} (dense: target 10x), best
 * of N each; every output compared with {@code cmp}, and the blocks each allocated reported.
 * kcopyd's time includes opening the source and creating the destination, as a peer's process
 * does; not the engine's start. dd's output (8 GiB on tmpfs) is deleted right after each run.
 */
final class SparseScenario {

    static final long SIZE = 8L << 30;
    static final double DATA_SHARE = 0.05;

    private final Benchmark bench;
    private final ScratchDirectory tmpfs;
    private final EngineSettings settings;
    private final Runs runs;

    SparseScenario(Benchmark bench, ScratchDirectory tmpfs, EngineSettings settings, Runs runs) {
        this.bench = bench;
        this.tmpfs = tmpfs;
        this.settings = settings;
        this.runs = runs;
    }

    void run() throws Exception {
        Path src = tmpfs.file("sparse-src.img");
        Path ours = tmpfs.file("sparse-kcopyd.img");
        long data = makeImage(src, 13);
        List<Peer2> peers = List.of(
                new Peer2("qemu-img convert -O raw", "qemu-img", "qemu-utils", 1.0, tmpfs.file("sparse-qemu.img"),
                        List.of("qemu-img", "convert", "-O", "raw", src.toString())),
                new Peer2("nbdcopy", "nbdcopy", "libnbd-bin", 1.0, tmpfs.file("sparse-nbdcopy.img"),
                        List.of("nbdcopy", src.toString())),
                new Peer2("dd bs=1M", "dd", "coreutils", 10.0, tmpfs.file("sparse-dd.img"),
                        List.of("dd", "if=" + src, "bs=1M", "status=none")));
        double[] peerBest = new double[peers.size()];
        java.util.Arrays.fill(peerBest, Double.MAX_VALUE);
        long[] peerBlocks = new long[peers.size()];
        double oursBest = Double.MAX_VALUE;
        long oursBlocks = 0;
        try (KcopydEngine engine = Kcopyd.start(settings)) {
            for (Runs.Loop run = runs.loop("sparse"); run.next();) {
                for (int i = 0; i < peers.size(); i++) {
                    Peer2 p = peers.get(i);
                    if (!run.peers() || !Peer.installed(p.program)) {
                        continue;
                    }
                    Files.deleteIfExists(p.output);
                    List<String> command = new java.util.ArrayList<>(p.command);
                    command.add(p.program.equals("dd") ? "of=" + p.output : p.output.toString());
                    peerBest[i] = run.best(peerBest[i], Peer.run(command));
                    Benchmark.require(Peer.same(src, p.output), p.name + " output " + p.output + " differs from " + src);
                    peerBlocks[i] = allocated(p.output);
                    Files.delete(p.output);
                }
                oursBest = run.best(oursBest, once(engine, src, ours));
                Benchmark.require(Peer.same(src, ours), "kcopyd output " + ours + " differs from " + src);
                oursBlocks = allocated(ours);
                Files.delete(ours);
            }
        }
        Files.deleteIfExists(src);
        String mine = Benchmark.rate(SIZE / oursBest);
        for (int i = 0; i < peers.size(); i++) {
            Peer2 p = peers.get(i);
            if (peerBest[i] == Double.MAX_VALUE) {
                bench.miss("sparse: " + p.program + " not installed (Debian package " + p.debianPackage + "): target "
                        + p.target + "x NOT CHECKED");
                continue;
            }
            bench.result("sparse", p.name, mine, Benchmark.rate(SIZE / peerBest[i]), peerBest[i] / oursBest, p.target);
            bench.measured("sparse", p.name + ": MiB allocated", String.valueOf(peerBlocks[i] >> 20), "-", true);
        }
        bench.measured("sparse", String.format(Locale.ROOT, "kcopyd: %.2f s, MiB allocated (data %d MiB)", oursBest,
                data >> 20), String.valueOf(oursBlocks >> 20), "-", true);
    }

    /** A peer of this scenario: its output file is appended to its command ({@code of=} for dd). */
    private record Peer2(String name, String program, String debianPackage, double target, Path output,
            List<String> command) {
    }

    /** @return the bytes of data written: scattered extents of 64 KiB to 2 MiB until 5% of the image */
    static long makeImage(Path file, long seed) throws IOException {
        Random random = new Random(seed);
        byte[] block = new byte[2 << 20];
        long written = 0;
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(SIZE);
            while (written < SIZE * DATA_SHARE) {
                int length = (16 + random.nextInt(497)) * 4096;
                long offset = (long) random.nextInt((int) ((SIZE - length) / 4096)) * 4096;
                random.nextBytes(block);
                f.seek(offset);
                f.write(block, 0, length);
                written += length;
            }
        }
        return written;
    }

    /** One timed sparse copy of {@code src} to the new file {@code dst}; seconds. */
    private static double once(KcopydEngine engine, Path src, Path dst) throws Exception {
        Files.deleteIfExists(dst);
        long start = System.nanoTime();
        try (BlockDevice source = engine.devices().open(src);
                BlockDevice out = engine.devices().create(dst, source.sizeInSectors());
                KcopydClient client = engine.createClient()) {
            CopyResult r = client.copy(IoRegion.whole(source), List.of(IoRegion.whole(out)), Set.of(CopyFlag.SPARSE))
                    .toCompletableFuture().join();
            Benchmark.require(r.isSuccess(), "kcopyd copy " + r);
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** @return the bytes the file system allocated to {@code file} ({@code stat}) */
    static long allocated(Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("stat", "--format=%b %B", file.toString()).redirectErrorStream(true).start();
        String[] out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim().split(" ");
        if (p.waitFor() != 0 || out.length != 2) {
            throw new IOException("stat " + file + ": " + String.join(" ", out));
        }
        return Long.parseLong(out[0]) * Long.parseLong(out[1]);
    }
}
