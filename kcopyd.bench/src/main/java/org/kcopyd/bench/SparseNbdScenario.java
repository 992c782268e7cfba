package org.kcopyd.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.Extent;
import org.kcopyd.api.Kcopyd;
import org.kcopyd.api.KcopydEngine;
import org.kcopyd.nbd.NbdClient;
import org.kcopyd.nbd.NbdClientOptions;
import org.kcopyd.nbd.NbdUri;

/**
 * The {@code sparse-nbd} scenario (issue 13): {@link SparseScenario}'s image (8 GiB on tmpfs, 5%
 * data in scattered extents) served by nbdkit's {@code file} plugin on a Unix socket, which answers
 * {@code base:allocation} block status from the file's holes, copied to a new tmpfs file by the
 * engine through its NBD client ({@link CopyFlag#SPARSE}, as {@code copy --sparse=auto} does: the
 * source's holes are asked for with NBD_CMD_BLOCK_STATUS and not read) and, alternately, by
 * {@code nbdcopy URI DEST} (sparse-aware), both with {@link NbdScenarios#CONNECTIONS} connections;
 * best of N, target 1.0x. Before the timed runs the scenario checks once that the export reports
 * holes to our client (else the race would not be the sparse one it claims); every output is
 * compared with {@code cmp}, and kcopyd's must be sparse: at most twice the source file's
 * allocation (a copy that wrote the holes allocates the whole 8 GiB, about 20 times); the
 * allocations of both outputs and of the source are reported. kcopyd's time
 * includes connecting and creating the destination, not the engine's start. Single-threaded; any
 * failed check ends the run with an {@link IllegalStateException} naming the file.
 */
final class SparseNbdScenario {

    static final String NAME = "sparse-nbd";
    private static final double TARGET = 1.0;

    private final Benchmark bench;
    private final ScratchDirectory tmpfs;
    private final EngineSettings settings;
    private final Runs runs;

    SparseNbdScenario(Benchmark bench, ScratchDirectory tmpfs, EngineSettings settings, Runs runs) {
        this.bench = bench;
        this.tmpfs = tmpfs;
        this.settings = settings;
        this.runs = runs;
    }

    void run() throws Exception {
        if (!NbdScenarios.peersInstalled(bench, NAME)) {
            return;
        }
        Path src = tmpfs.file("sparse-nbd-src.img");
        Path ours = tmpfs.file("sparse-nbd-kcopyd.img");
        Path theirs = tmpfs.file("sparse-nbd-nbdcopy.img");
        SparseScenario.makeImage(src, 13);
        long sourceBlocks = SparseScenario.allocated(src);
        double peerBest = Double.MAX_VALUE;
        double oursBest = Double.MAX_VALUE;
        long peerBlocks = 0;
        long oursBlocks = 0;
        try (NbdkitServer nbdkit = NbdkitServer.start(tmpfs.file("sparse-nbdkit.sock"), "file", src.toString());
                KcopydEngine engine = Kcopyd.start(settings)) {
            requireHolesReported(nbdkit);
            for (Runs.Loop run = runs.loop(NAME); run.next();) {
                if (run.peers()) {
                    Files.deleteIfExists(theirs);
                    peerBest = run.best(peerBest, Peer.run(List.of("nbdcopy", "--connections=" + NbdScenarios.CONNECTIONS,
                            nbdkit.uri(), theirs.toString())));
                    Benchmark.require(Peer.same(src, theirs), "nbdcopy output " + theirs + " differs from " + src);
                    peerBlocks = SparseScenario.allocated(theirs);
                    Files.delete(theirs);
                }

                Files.deleteIfExists(ours);
                oursBest = run.best(oursBest, NbdScenarios.fromNbd(engine, nbdkit.socket(), List.of(ours), true,
                        Set.of(CopyFlag.SPARSE)));
                Benchmark.require(Peer.same(src, ours), "kcopyd output " + ours + " differs from " + src);
                oursBlocks = SparseScenario.allocated(ours);
                Benchmark.require(oursBlocks <= 2 * sourceBlocks, "kcopyd output " + ours + " allocates "
                        + oursBlocks + " bytes, more than twice the source's " + sourceBlocks + ": not a sparse copy");
                Files.delete(ours);
            }
        } finally {
            Files.deleteIfExists(theirs);
            Files.deleteIfExists(ours);
            Files.deleteIfExists(src);
        }
        bench.result(NAME, "nbdcopy, nbdkit file export, " + NbdScenarios.CONNECTIONS + " conn",
                Benchmark.rate(SparseScenario.SIZE / oursBest), Benchmark.rate(SparseScenario.SIZE / peerBest),
                peerBest / oursBest, TARGET);
        bench.measured(NAME, "nbdcopy: MiB allocated", String.valueOf(peerBlocks >> 20), "-", true);
        bench.measured(NAME, String.format(Locale.ROOT, "kcopyd: %.2f s, MiB allocated (source %d MiB)",
                oursBest, sourceBlocks >> 20), String.valueOf(oursBlocks >> 20), "-", true);
    }

    /** Our client's view of the export's start must include a hole: nbdkit answered block status. */
    private static void requireHolesReported(NbdkitServer nbdkit) throws Exception {
        try (BlockDevice source = NbdClient.connect(NbdUri.unix(nbdkit.socket(), ""), NbdClientOptions.defaults())) {
            List<Extent> extents = source.extents(0, source.sizeInSectors()).toCompletableFuture().join();
            Benchmark.require(extents.stream().anyMatch(e -> e.type().readsAsZeros()), "the nbdkit export "
                    + nbdkit.uri() + " reported no hole to kcopyd's client in " + extents.size()
                    + " extents: block status (base:allocation) not answered");
        }
    }
}
