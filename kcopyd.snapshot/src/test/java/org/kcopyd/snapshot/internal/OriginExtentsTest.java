package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kcopyd.snapshot.internal.SnapshotFixture.pattern;
import static org.kcopyd.snapshot.internal.SnapshotFixture.write;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;

/**
 * The origin device tells where its data is from its file (so an origin exported over NBD or
 * copied sparsely keeps its holes), before and after writes that copy chunks to a snapshot. A
 * snapshot device answers the origin's runs for chunks not copied to its COW store (they read as
 * the origin does) and data for the copied ones, so a snapshot copied sparsely (a backup of a
 * sparse disk) skips the origin's holes and keeps what was there before later origin writes.
 */
class OriginExtentsTest {

    private static final long SECTORS = 4096;

    @TempDir
    Path dir;

    private final SnapshotFixture fixture = new SnapshotFixture();

    @AfterEach
    void close() throws Exception {
        fixture.close();
    }

    private static List<Extent> extents(BlockDevice d) {
        return d.extents(0, d.sizeInSectors()).toCompletableFuture().join();
    }

    @Test
    void anOriginsHolesAreItsFilesAndWritesThroughItBecomeData() throws Exception {
        BlockDevice file = fixture.emptyFile(dir.resolve("origin.img"), SECTORS);
        write(file, 1024, pattern(64 * 1024, 1));
        Origin origin = fixture.origin(file);
        assertThat(extents(origin)).isEqualTo(extents(file)).containsExactly(new Extent(0, 1024, Extent.Type.HOLE),
                new Extent(1024, 128, Extent.Type.DATA), new Extent(1152, SECTORS - 1152 - 8, Extent.Type.HOLE),
                new Extent(SECTORS - 8, 8, Extent.Type.DATA));
        SnapshotVolume snap = origin.attach("s", fixture.newStore(dir.resolve("cow.img"), 4 * SECTORS, 16, SECTORS));

        write(origin, 2048, pattern(8192, 2));

        List<Extent> after = extents(origin);
        assertThat(after).isEqualTo(extents(file));
        assertThat(after.stream().filter(e -> e.sector() <= 2048 && 2048 < e.endSector()).findFirst().orElseThrow()
                .type()).isEqualTo(Extent.Type.DATA);
        assertThat(extents(snap.device())).as("the copied chunk [2048, 2064) is data, the rest the origin's runs")
                .containsExactly(new Extent(0, 1024, Extent.Type.HOLE), new Extent(1024, 128, Extent.Type.DATA),
                        new Extent(1152, 2048 - 1152, Extent.Type.HOLE), new Extent(2048, 16, Extent.Type.DATA),
                        new Extent(2064, SECTORS - 2064 - 8, Extent.Type.HOLE),
                        new Extent(SECTORS - 8, 8, Extent.Type.DATA));
    }

    @Test
    void aSnapshotCopiedThroughItsHolesReadsAsTheOriginDidBeforeLaterWrites() throws Exception {
        BlockDevice file = fixture.emptyFile(dir.resolve("origin.img"), SECTORS);
        byte[] before = pattern(64 * 1024, 1);
        write(file, 1024, before);
        Origin origin = fixture.origin(file);
        SnapshotVolume snap = origin.attach("s", fixture.newStore(dir.resolve("cow.img"), 4 * SECTORS, 16, SECTORS));
        // After the snapshot: a hole and the data both overwritten in the origin.
        write(origin, 512, pattern(8192, 3));
        write(origin, 1040, pattern(8192, 4));

        byte[] expected = new byte[(int) SECTORS * BlockDevice.SECTOR_SIZE];
        System.arraycopy(before, 0, expected, 1024 * BlockDevice.SECTOR_SIZE, before.length);
        byte[] copied = new byte[expected.length];
        // What a sparse copy does: read the data runs, take the hole runs as zeros.
        for (Extent run : extents(snap.device())) {
            if (run.type() == Extent.Type.DATA) {
                java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) run.count() * BlockDevice.SECTOR_SIZE);
                snap.device().read(run.sector(), buf).toCompletableFuture().join();
                System.arraycopy(buf.array(), 0, copied, (int) run.sector() * BlockDevice.SECTOR_SIZE, buf.capacity());
            }
        }
        assertThat(copied).as("the snapshot copied by its runs").isEqualTo(expected);
    }
}
