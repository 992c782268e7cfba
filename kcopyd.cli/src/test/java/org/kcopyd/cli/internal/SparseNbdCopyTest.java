package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
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
import org.kcopyd.testdevices.ForwardingDevice;
import org.kcopyd.testdevices.Peers;

/**
 * Sparse copies through NBD, engine, devices and protocol together: from nbdkit's sparse-random
 * export with block status (its holes are not read) and without it (noextents: every byte read,
 * the zeros still found), to new files that stay sparse and equal a dense copy; and from a sparse
 * file to our server exporting a file that held random data, which ends byte-identical with its
 * zero ranges punched through NBD_CMD_WRITE_ZEROES.
 */
class SparseNbdCopyTest {

    @TempDir
    Path dir;

    private final KcopydEngine engine = Kcopyd.start(EngineSettings.defaults());
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
        engine.close();
    }

    /** A source that counts the bytes read from it. */
    private static final class Counting extends ForwardingDevice {
        long bytesRead;

        Counting(BlockDevice device) {
            super(device);
        }

        @Override
        public java.util.concurrent.CompletionStage<Void> read(long sector, java.nio.ByteBuffer dst) {
            synchronized (this) {
                bytesRead += dst.remaining();
            }
            return super.read(sector, dst);
        }

        @Override
        public java.util.concurrent.CompletionStage<List<org.kcopyd.api.Extent>> extents(long sector, long count) {
            return inner.extents(sector, count);
        }
    }

    private BlockDevice nbdkit(String... arguments) throws Exception {
        Peers.require("nbdkit", "nbdkit");
        Path socket = dir.resolve("nbdkit-" + toClose.size() + ".sock");
        List<String> command = new ArrayList<>(List.of("nbdkit", "--exit-with-parent", "-f", "-U", socket.toString()));
        command.addAll(List.of(arguments));
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(dir.resolve("nbdkit.log").toFile()).start();
        toClose.add(() -> {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        });
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() -> Files.exists(socket));
        BlockDevice d = NbdClient.connect(NbdUri.unix(socket, ""), NbdClientOptions.defaults());
        toClose.add(d);
        return d;
    }

    private CopyResult copy(BlockDevice src, BlockDevice dst, Set<CopyFlag> flags) throws Exception {
        try (KcopydClient client = engine.createClient(2048)) {
            return client.copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)), flags).toCompletableFuture()
                .get(60, TimeUnit.SECONDS);
        }
    }

    private BlockDevice newFile(String name, long sectors) throws IOException {
        BlockDevice d = engine.devices().create(dir.resolve(name), sectors);
        toClose.add(d);
        return d;
    }

    @Test
    void fromNbdkitWithAndWithoutBlockStatusToNewFilesThatStaySparse() throws Exception {
        Counting withStatus = new Counting(nbdkit("sparse-random", "64M", "seed=5", "runlength=65536"));
        Counting without = new Counting(nbdkit("--filter=noextents", "sparse-random", "64M", "seed=5",
            "runlength=65536"));
        Counting dense = new Counting(nbdkit("sparse-random", "64M", "seed=5", "runlength=65536"));
        long sectors = withStatus.sizeInSectors();

        assertThat(copy(withStatus, newFile("a.img", sectors), Set.of(CopyFlag.SPARSE)).isSuccess()).isTrue();
        assertThat(copy(without, newFile("b.img", sectors), Set.of(CopyFlag.SPARSE)).isSuccess()).isTrue();
        assertThat(copy(dense, newFile("dense.img", sectors), Set.of()).isSuccess()).isTrue();

        assertThat(Files.mismatch(dir.resolve("a.img"), dir.resolve("dense.img"))).isEqualTo(-1);
        assertThat(Files.mismatch(dir.resolve("b.img"), dir.resolve("dense.img"))).isEqualTo(-1);
        long size = sectors * 512;
        assertThat(withStatus.bytesRead).as("holes are not read").isLessThan(size / 4);
        assertThat(without.bytesRead).as("without block status every byte is read").isEqualTo(size);
        long allocatedA = SparseCopyCommandTest.allocatedBytes(dir.resolve("a.img"));
        assertThat(allocatedA).isLessThan(size / 4);
        // Found after reading rather than told: zero runs under 64 KiB next to data fall elsewhere, as data.
        assertThat(SparseCopyCommandTest.allocatedBytes(dir.resolve("b.img"))).isLessThan(size / 4)
                .isLessThan(allocatedA * 3 / 2);
        assertThat(SparseCopyCommandTest.allocatedBytes(dir.resolve("dense.img"))).isGreaterThanOrEqualTo(size);
    }

    @Test
    void toOurServerExportingAFileThatHeldDataWhichEndsIdenticalAndPunched() throws Exception {
        long bytes = 32L << 20;
        Path src = dir.resolve("src.img");
        Random random = new Random(6);
        try (RandomAccessFile f = new RandomAccessFile(src.toFile(), "rw")) {
            f.setLength(bytes);
            byte[] b = new byte[256 * 1024];
            for (int i = 0; i < 8; i++) {
                random.nextBytes(b);
                f.seek(i * 4L * 1024 * 1024 + 1234 * 512L);
                f.write(b);
            }
        }
        Path target = dir.resolve("target.img");
        byte[] noise = new byte[(int) bytes];
        random.nextBytes(noise);
        Files.write(target, noise);
        BlockDevice exported = engine.devices().open(target, DeviceOption.READ_WRITE);
        toClose.add(exported);
        NbdServer server = NbdServer.builder().export("disk", exported, false).startUnix(dir.resolve("our.sock"));
        toClose.add(server);
        BlockDevice remote = NbdClient.connect(server.uri("disk"), NbdClientOptions.defaults());
        toClose.add(remote);
        BlockDevice source = engine.devices().open(src);
        toClose.add(source);

        CopyResult r = copy(source, remote, Set.of(CopyFlag.SPARSE, CopyFlag.FLUSH));

        assertThat(r.isSuccess()).as(r.toString()).isTrue();
        assertThat(Files.mismatch(src, target)).isEqualTo(-1);
        assertThat(SparseCopyCommandTest.allocatedBytes(target)).isLessThan(4L << 20);
    }
}
