package org.kcopyd.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.nbd.internal.osgi.NbdDeviceProvider;
import org.kcopyd.testdevices.Peers;

/**
 * Block status with real peers: nbdinfo --map of our server exporting a sparse file shows its
 * holes as "hole,zero"; our client's extents of nbdkit's sparse-random export show its holes,
 * which read as zeros, also through the URI provider's read-only device (what the opener service
 * and the daemon open an {@code nbd:} source as); with nbdkit's noextents filter the export is all
 * data.
 */
class BlockStatusIT {

    @TempDir
    Path dir;

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private static List<Extent> extents(BlockDevice d, long sector, long count) throws Exception {
        return d.extents(sector, count).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @Test
    void nbdinfoMapShowsASparseFilesHoles() throws Exception {
        Peers.require("nbdinfo", "libnbd-bin");
        Path p = dir.resolve("sparse.img");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(8L << 20);
            byte[] data = new byte[1 << 20];
            new Random(2).nextBytes(data);
            f.seek(2L << 20);
            f.write(data);
        }
        BlockDevice file = new FileDeviceOpener(false).open(p);
        toClose.add(file);
        NbdServer server = NbdServer.builder().export("disk", file, true).startUnix(dir.resolve("nbd.sock"));
        toClose.add(server);

        PeerProcess.Result map = PeerProcess.run(dir, Duration.ofSeconds(30), "nbdinfo", "--map",
            server.uri("disk").toString());

        assertThat(map.exitCode()).as(map.output()).isZero();
        List<String> lines = map.output().strip().lines().map(l -> String.join(" ", l.strip().split("\\s+"))).toList();
        assertThat(lines).containsExactly("0 2097152 3 hole,zero", "2097152 1048576 0 data",
            "3145728 5242880 3 hole,zero");
    }

    /** Starts nbdkit with these arguments on a Unix socket; returns its URI. */
    private NbdUri nbdkitUri(String... arguments) throws IOException {
        Peers.require("nbdkit", "nbdkit");
        Path socket = dir.resolve("nbdkit.sock");
        List<String> command = new ArrayList<>(List.of("nbdkit", "--exit-with-parent", "-f", "-U", socket.toString()));
        command.addAll(List.of(arguments));
        toClose.add(PeerProcess.server(dir, socket, command.toArray(new String[0])));
        return NbdUri.unix(socket, "");
    }

    private BlockDevice nbdkit(String... arguments) throws IOException {
        BlockDevice device = NbdClient.connect(nbdkitUri(arguments), NbdClientOptions.defaults());
        toClose.add(device);
        return device;
    }

    /** @return the device's extents from its start to its end, asked again where an answer stops short */
    private static List<Extent> allExtents(BlockDevice d) throws Exception {
        long sectors = d.sizeInSectors();
        List<Extent> runs = new ArrayList<>();
        for (long at = 0; at < sectors; at = runs.get(runs.size() - 1).endSector()) {
            runs.addAll(extents(d, at, sectors - at));
        }
        return runs;
    }

    @Test
    void sparseRandomsHolesAreHolesThatReadAsZeros() throws Exception {
        BlockDevice d = nbdkit("sparse-random", "64M", "seed=11", "runlength=65536");
        long sectors = d.sizeInSectors();
        List<Extent> runs = allExtents(d);
        long holes = runs.stream().filter(e -> e.type().readsAsZeros()).mapToLong(Extent::count).sum();
        assertThat(holes).as("sparse-random is mostly holes").isGreaterThan(sectors / 2);
        assertThat(runs.stream().filter(e -> e.type() == Extent.Type.DATA).count()).isGreaterThan(50);
        int checked = 0;
        for (Extent e : runs) {
            if (e.type().readsAsZeros() && checked++ < 20) {
                ByteBuffer b = ByteBuffer.allocate((int) Math.min(e.count(), 2048) * 512);
                d.read(e.sector(), b).toCompletableFuture().get(30, TimeUnit.SECONDS);
                assertThat(b.array()).as("%s", e).containsOnly(0);
            }
        }
    }

    @Test
    void openedReadOnlyByTheUriProviderTheExportsHolesAreStillHoles() throws Exception {
        NbdUri uri = nbdkitUri("sparse-random", "64M", "seed=11", "runlength=65536");
        List<Extent> direct;
        try (BlockDevice d = NbdClient.connect(uri, NbdClientOptions.defaults())) {
            direct = allExtents(d);
        }

        try (BlockDevice d = new NbdDeviceProvider().open(URI.create(uri.toString()))) {
            assertThat(d.isReadOnly()).isTrue();
            List<Extent> throughProvider = allExtents(d);

            assertThat(throughProvider).isEqualTo(direct);
            assertThat(throughProvider.stream().filter(e -> e.type().readsAsZeros()).mapToLong(Extent::count).sum())
                .as("sparse-random is mostly holes").isGreaterThan(d.sizeInSectors() / 2);
        }
    }

    @Test
    void withTheNoextentsFilterTheExportIsAllData() throws Exception {
        BlockDevice d = nbdkit("--filter=noextents", "sparse-random", "64M", "seed=11", "runlength=65536");

        assertThat(extents(d, 0, d.sizeInSectors())).containsExactly(new Extent(0, d.sizeInSectors(),
            Extent.Type.DATA));
    }
}
