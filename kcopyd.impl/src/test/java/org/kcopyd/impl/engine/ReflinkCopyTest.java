package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.testdevices.LoopMount;
import org.kcopyd.testdevices.Peers;

/**
 * The default copy ({@code --offload=auto}) on real file systems that share blocks, XFS and Btrfs,
 * each made in a sparse image and loop-mounted on a directory of its own under the test's
 * temporary directory: a source of {@value #MIB} MiB of random data with a 1 MiB hole in it,
 * copied by the engine to a new file and over an existing file of other data, ends
 * byte-identical, every extent of the destination shared with the source (FIEMAP's
 * {@code FIEMAP_EXTENT_SHARED}, read by {@code filefrag}: a reflink, no data moved), the hole
 * still a hole, and the engine read no byte through its pages. With {@link CopyFlag#NO_OFFLOAD}
 * the same copy shares nothing, which shows the check can tell.
 *
 * <p>Needs root, loop devices, {@code mkfs.xfs}/{@code mkfs.btrfs} and {@code filefrag}: without
 * them, or where the kernel refuses the mount, the test is skipped naming what is missing, or
 * failed with {@code -Dkcopyd.peers.required=true} ({@link Peers#missing}). Every mount is undone
 * and its image deleted after each test, failed or not.
 */
class ReflinkCopyTest {

    private static final int MIB = 6;
    private static final long BYTES = (long) MIB << 20;
    /** The source's hole: bytes [2 MiB, 3 MiB). */
    private static final long HOLE_FROM = 2L << 20;
    private static final long HOLE_TO = 3L << 20;
    private static final long SECTORS = BYTES / BlockDevice.SECTOR_SIZE;

    @TempDir
    Path dir;

    private LoopMount mount;
    private Engine engine;

    @AfterEach
    void unmount() throws IOException {
        try {
            if (engine != null) {
                engine.close();
            }
        } finally {
            if (mount != null) {
                mount.close();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(LoopMount.Kind.class)
    void byDefaultACopyToANewFileIsAReflinkThatKeepsTheHole(LoopMount.Kind kind) throws Exception {
        Path fs = mount(kind);
        Path src = source(fs.resolve("src"), 1);
        Path dst = fs.resolve("dst");
        OffloadCountingDevice counted;
        try (BlockDevice s = engine.devices().open(src);
                BlockDevice d = engine.devices().create(dst, SECTORS)) {
            counted = new OffloadCountingDevice(s);
            assertThat(copy(counted, d, Set.of()).isSuccess()).isTrue();
        }

        assertReflinked(kind, src, dst, counted);
    }

    @ParameterizedTest
    @EnumSource(LoopMount.Kind.class)
    void byDefaultACopyOverAnExistingFileIsAReflinkThatKeepsTheHole(LoopMount.Kind kind) throws Exception {
        Path fs = mount(kind);
        Path src = source(fs.resolve("src"), 2);
        Path dst = fs.resolve("old");
        byte[] old = new byte[(int) BYTES];
        new Random(3).nextBytes(old);
        Files.write(dst, old);
        assertThat(FileExtents.of(dst).covers(0, BYTES)).as("the existing file holds data everywhere").isTrue();
        OffloadCountingDevice counted;
        try (BlockDevice s = engine.devices().open(src);
                BlockDevice d = engine.devices().open(dst, DeviceOption.READ_WRITE)) {
            counted = new OffloadCountingDevice(s);
            assertThat(copy(counted, d, Set.of()).isSuccess()).isTrue();
        }

        assertReflinked(kind, src, dst, counted);
    }

    @ParameterizedTest
    @EnumSource(LoopMount.Kind.class)
    void withNoOffloadTheCopySharesNothing(LoopMount.Kind kind) throws Exception {
        Path fs = mount(kind);
        Path src = source(fs.resolve("src"), 4);
        Path dst = fs.resolve("dst");
        OffloadCountingDevice counted;
        try (BlockDevice s = engine.devices().open(src);
                BlockDevice d = engine.devices().create(dst, SECTORS)) {
            counted = new OffloadCountingDevice(s);
            assertThat(copy(counted, d, EnumSet.of(CopyFlag.NO_OFFLOAD)).isSuccess()).isTrue();
        }

        assertThat(Files.mismatch(src, dst)).as("first differing byte").isEqualTo(-1L);
        assertThat(counted.offloads).hasValue(0);
        assertThat(counted.reads.get()).as("page-path reads").isPositive();
        FileExtents extents = FileExtents.of(dst);
        assertThat(extents.extents()).as(kind + " extents of the copy").isNotEmpty()
                .noneMatch(FileExtents.Extent::shared);
        assertThat(FileExtents.of(src).extents()).as(kind + " extents of the source").noneMatch(FileExtents.Extent::shared);
    }

    private void assertReflinked(LoopMount.Kind kind, Path src, Path dst, OffloadCountingDevice counted)
            throws Exception {
        assertThat(Files.mismatch(src, dst)).as("first differing byte").isEqualTo(-1L);
        assertThat(counted.reads).as("page-path reads of the source").hasValue(0);
        assertThat(counted.offloadedSectors).hasValue(SECTORS);
        FileExtents extents = FileExtents.of(dst);
        assertThat(extents.extents()).as(kind + " extents of the copy").isNotEmpty()
                .allMatch(FileExtents.Extent::shared);
        assertThat(extents.covers(0, HOLE_FROM)).as("data before the hole").isTrue();
        assertThat(extents.covers(HOLE_TO, BYTES)).as("data after the hole").isTrue();
        assertThat(extents.isHole(HOLE_FROM, HOLE_TO)).as("the hole, in " + extents).isTrue();
        assertThat(FileExtents.of(src).extents()).as(kind + " extents of the source").allMatch(FileExtents.Extent::shared);
    }

    /** Mounts a new {@code kind} file system and starts the engine; skips (or fails) if it cannot. */
    private Path mount(LoopMount.Kind kind) {
        String missing = LoopMount.unavailable(kind);
        if (missing != null) {
            Peers.missing(missing);
        }
        try {
            mount = LoopMount.create(kind, dir.resolve(kind.type() + ".img"), dir.resolve(kind.type()),
                    kind.leastBytes());
        } catch (IOException e) {
            Peers.missing("the kernel did not mount a " + kind.type() + " image: " + e.getMessage());
        }
        engine = new Engine(EngineSettings.builder().build());
        return mount.directory();
    }

    /** A file of random data with a hole at [{@link #HOLE_FROM}, {@link #HOLE_TO}). */
    private static Path source(Path p, long seed) throws IOException {
        Random random = new Random(seed);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            write(ch, 0, HOLE_FROM, random);
            write(ch, HOLE_TO, BYTES - HOLE_TO, random);
        }
        return p;
    }

    private static void write(FileChannel ch, long at, long length, Random random) throws IOException {
        byte[] b = new byte[(int) length];
        random.nextBytes(b);
        ByteBuffer buf = ByteBuffer.wrap(b);
        while (buf.hasRemaining()) {
            ch.write(buf, at + buf.position());
        }
    }

    private CopyResult copy(BlockDevice from, BlockDevice to, Set<CopyFlag> flags) throws Exception {
        try (KcopydClient client = engine.createClient(256)) {
            return client.copyJob(IoRegion.whole(from), List.of(IoRegion.whole(to)), flags, null, null).result()
                    .toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }
}
