package org.kcopyd.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.device.MemoryBlockDevice;

/**
 * Our client's extents from our server's BLOCK_STATUS, over a Unix socket: the server answers
 * from its device's extents (a sparse file's holes as HOLE), a device that does not know answers
 * data, and the holes read as zeros.
 */
class BlockStatusTest {

    private static final long SECTORS = 16L * 2048;

    @TempDir
    Path dir;

    private NbdServer server;
    private BlockDevice client;
    private BlockDevice file;

    @AfterEach
    void close() throws Exception {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
        if (file != null) {
            file.close();
        }
    }

    private static List<Extent> extents(BlockDevice d, long sector, long count) throws Exception {
        return d.extents(sector, count).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @Test
    void aSparseFilesHolesReachTheClient() throws Exception {
        Path p = dir.resolve("sparse.img");
        byte[] data = new byte[64 * 1024];
        new Random(1).nextBytes(data);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(SECTORS * 512);
            f.seek(3L << 20);
            f.write(data);
            f.seek((SECTORS - 8) * 512);
            f.write(data, 0, 4096);
        }
        file = new FileDeviceOpener(false).open(p);
        server = NbdServer.builder().export("disk", file, true).startUnix(dir.resolve("nbd.sock"));
        client = NbdClient.connect(server.uri("disk"), NbdClientOptions.defaults());

        for (long[] range : new long[][] {{0, SECTORS}, {8, 100}, {6000, 200}, {SECTORS - 16, 16}}) {
            assertThat(extents(client, range[0], range[1])).as("sectors %d+%d", range[0], range[1])
                .isEqualTo(extents(file, range[0], range[1]));
        }
        assertThat(extents(client, 0, SECTORS)).containsExactly(new Extent(0, 6144, Extent.Type.HOLE),
            new Extent(6144, 128, Extent.Type.DATA), new Extent(6272, SECTORS - 8 - 6272, Extent.Type.HOLE),
            new Extent(SECTORS - 8, 8, Extent.Type.DATA));
        ByteBuffer hole = ByteBuffer.allocate(4096);
        client.read(100, hole).toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(hole.array()).containsOnly(0);
    }

    @Test
    void aDeviceThatDoesNotKnowItsHolesIsAllData() throws Exception {
        server = NbdServer.builder().export("disk", new MemoryBlockDevice("mem", 2048), false)
            .startUnix(dir.resolve("nbd.sock"));
        client = NbdClient.connect(server.uri("disk"), NbdClientOptions.defaults());

        assertThat(extents(client, 0, 2048)).containsExactly(new Extent(0, 2048, Extent.Type.DATA));
        assertThat(extents(client, 7, 1)).containsExactly(new Extent(7, 1, Extent.Type.DATA));
    }
}
