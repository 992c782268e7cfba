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
 * copied sparsely keeps its holes), before and after writes that copy chunks to a snapshot.
 * Snapshot devices answer "data", the default: which chunks are in the COW store says nothing of holes.
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
        assertThat(extents(snap.device())).containsExactly(new Extent(0, SECTORS, Extent.Type.DATA));
    }
}
