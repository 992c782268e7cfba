package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyJob;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.device.FileBlockDevice;
import org.kcopyd.device.MemoryBlockDevice;

/**
 * Copy offload between real files ({@link BlockDevice#offloadTo}: copy_file_range, reflink). With
 * {@link CopyFlag#OFFLOAD_ALWAYS}, used when source and destination are files of one file system
 * (no page-path read, no page in use),
 * refused by the kernel across file systems (tmpfs {@code /dev/shm} and the disk temporary
 * directory) and then copied through the pages, a destination that held data, regions at
 * unaligned offsets with a tail that is not a whole chunk, destinations of both kinds in one job,
 * a failed offload copied again with pages smaller than the chunk, {@link CopyFlag#NO_OFFLOAD},
 * sparse copies (only the data offloaded; nothing with {@link CopyFlag#SPARSE_ALWAYS}), and a
 * cancel while offloads are in flight. By default (auto), no offload where the source does not
 * advise it (this machine's ext4 and tmpfs: not even tried) and offload where it does; both flags
 * at once refused. Every destination ends byte-identical to the source.
 */
class OffloadCopyTest {

    private static final int SUB_JOB_KIB = 256;
    /** Sectors: 10 MiB and an odd 7 sectors, so the last chunk is partial and unaligned to 4 KiB. */
    private static final long SECTORS = 20480 + 7;
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Path SHM = Path.of("/dev/shm");
    private static final Set<CopyFlag> ALWAYS = EnumSet.of(CopyFlag.OFFLOAD_ALWAYS);

    @TempDir
    Path dir;

    private final List<Engine> engines = new ArrayList<>();
    private final List<BlockDevice> devices = new ArrayList<>();
    private final List<Path> shmFiles = new ArrayList<>();
    private Engine engine;

    @AfterEach
    void close() throws IOException {
        for (BlockDevice d : devices) {
            d.close();
        }
        engines.forEach(Engine::close);
        for (Path p : shmFiles) {
            Files.deleteIfExists(p);
        }
    }

    private KcopydClient client(int pages) {
        engine = new Engine(EngineSettings.builder().subJobKiB(SUB_JOB_KIB).subJobsPerJob(4).build());
        engines.add(engine);
        return engine.createClient(pages);
    }

    private static byte[] random(long sectors, long seed) {
        byte[] b = new byte[(int) (sectors * BlockDevice.SECTOR_SIZE)];
        new Random(seed).nextBytes(b);
        return b;
    }

    private BlockDevice open(Path p, DeviceOption... options) throws IOException {
        BlockDevice d = engine.devices().open(p, options);
        devices.add(d);
        return d;
    }

    private Path file(Path where, String name, byte[] content) throws IOException {
        Path p = where.resolve(name);
        Files.write(p, content);
        if (where.equals(SHM)) {
            shmFiles.add(p);
        }
        return p;
    }

    /** A file of {@code sectors} that reads as zeros and holds no data (a new destination). */
    private Path empty(Path where, String name, long sectors) throws IOException {
        Path p = file(where, name, new byte[0]);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(sectors * BlockDevice.SECTOR_SIZE);
        }
        return p;
    }

    private static CopyResult run(KcopydClient client, IoRegion from, List<IoRegion> to, Set<CopyFlag> flags)
            throws Exception {
        return client.copyJob(from, to, flags, null, null).result().toCompletableFuture()
                .get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    private void assumeTwoFileSystems() throws IOException {
        assumeTrue(Files.isDirectory(SHM) && Files.isWritable(SHM), "this machine has no writable /dev/shm");
        assumeTrue(!Files.getFileStore(SHM).name().equals(Files.getFileStore(dir).name())
                        || !Files.getFileStore(SHM).type().equals(Files.getFileStore(dir).type()),
                "/dev/shm and the temporary directory " + dir + " are on one file system");
        assumeTrue(((FileBlockDevice) open(file(dir, "probe", new byte[512]))).knowsHoles(),
                "files have no system calls here (JNA, Linux): nothing can be offloaded");
    }

    private void assumeOffloadable() throws IOException {
        assumeTrue(((FileBlockDevice) open(file(dir, "probe", new byte[512]))).knowsHoles(),
                "files have no system calls here (JNA, Linux): nothing can be offloaded");
    }

    @Test
    void aCopyBetweenFilesOfOneFileSystemIsOffloadedWholeWithoutPagesOrReads() throws Exception {
        KcopydClient client = client(1024);
        assumeOffloadable();
        byte[] data = random(SECTORS, 1);
        OffloadCountingDevice src = new OffloadCountingDevice(open(file(dir, "src", data)));
        BlockDevice dst = open(empty(dir, "dst", SECTORS), DeviceOption.READ_WRITE);
        AtomicInteger mostPages = new AtomicInteger();
        CopyJob job = client.copyJob(IoRegion.whole(src), List.of(IoRegion.whole(dst)), ALWAYS, (r, w, c) -> {
            mostPages.set(client.statistics().pagesInUse());
        }, null);
        CopyResult result = job.result().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);

        assertThat(result.isSuccess()).isTrue();
        assertThat(src.reads).as("page-path reads of the source").hasValue(0);
        assertThat(src.offloadedSectors).hasValue(SECTORS);
        assertThat(src.offloads).as("8 MiB chunks: 10 MiB and 7 sectors").hasValue(2);
        assertThat(mostPages).hasValue(0);
        assertThat(job.bytesDone()).isEqualTo(SECTORS * BlockDevice.SECTOR_SIZE);
        assertThat(client.statistics().bytesRead()).isEqualTo(SECTORS * BlockDevice.SECTOR_SIZE);
        assertThat(client.statistics().bytesWritten()).isEqualTo(SECTORS * BlockDevice.SECTOR_SIZE);
        assertThat(Files.readAllBytes(dir.resolve("dst"))).isEqualTo(data);
    }

    @Test
    void anAdvisedOffloadGoesInLargerChunksThan8MiB() throws Exception {
        KcopydClient client = client(1024);
        assumeOffloadable();
        byte[] data = random(SECTORS, 4);
        OffloadCountingDevice src = new OffloadCountingDevice(open(file(dir, "src", data))).advise(true);
        BlockDevice dst = open(empty(dir, "dst", SECTORS), DeviceOption.READ_WRITE);
        CopyJob job = client.copyJob(IoRegion.whole(src), List.of(IoRegion.whole(dst)), EnumSet.noneOf(CopyFlag.class),
                null, null);
        CopyResult result = job.result().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);

        assertThat(result.isSuccess()).isTrue();
        assertThat(src.reads).as("page-path reads of the source").hasValue(0);
        assertThat(src.offloadedSectors).hasValue(SECTORS);
        assertThat(src.offloads).as("advised (a reflink): one call of 10 MiB (32 MiB chunks), where ALWAYS makes two")
                .hasValue(1);
        assertThat(Files.readAllBytes(dir.resolve("dst"))).isEqualTo(data);
    }

    @Test
    void noOffloadCopiesThroughThePages() throws Exception {
        KcopydClient client = client(1024);
        assumeOffloadable();
        byte[] data = random(SECTORS, 2);
        OffloadCountingDevice src = new OffloadCountingDevice(open(file(dir, "src", data)));
        BlockDevice dst = open(empty(dir, "dst", SECTORS), DeviceOption.READ_WRITE);

        CopyResult result = run(client, IoRegion.whole(src), List.of(IoRegion.whole(dst)),
                EnumSet.of(CopyFlag.NO_OFFLOAD));

        assertThat(result.isSuccess()).isTrue();
        assertThat(src.offloads).hasValue(0);
        assertThat(src.reads.get()).isPositive();
        assertThat(Files.readAllBytes(dir.resolve("dst"))).isEqualTo(data);
    }

    @Test
    void byDefaultExt4AndTmpfsCopyThroughThePagesWithoutTryingTheKernel() throws Exception {
        KcopydClient client = client(1024);
        assumeOffloadable();
        int checked = 0;
        for (Path where : new Path[] {dir, SHM}) {
            if (!Files.isDirectory(where) || !Files.isWritable(where)) {
                continue;
            }
            String type = Files.getFileStore(where).type();
            if (!type.startsWith("ext") && !type.equals("tmpfs")) {
                continue;
            }
            byte[] data = random(SECTORS, 20 + checked);
            OffloadCountingDevice src = new OffloadCountingDevice(open(file(where, "auto-src-" + checked, data)));
            BlockDevice dst = open(empty(where, "auto-dst-" + checked, SECTORS), DeviceOption.READ_WRITE);
            assertThat(src.canOffloadTo(dst)).as("the kernel would be asked with OFFLOAD_ALWAYS on " + type).isTrue();

            CopyResult result = run(client, IoRegion.whole(src), List.of(IoRegion.whole(dst)), Set.of());

            assertThat(result.isSuccess()).isTrue();
            assertThat(src.offloads).as("offloads on " + type).hasValue(0);
            assertThat(src.reads.get()).as("page-path reads on " + type).isPositive();
            assertThat(Files.readAllBytes(where.resolve("auto-dst-" + checked))).isEqualTo(data);
            checked++;
        }
        assumeTrue(checked > 0, "neither " + dir + " nor " + SHM + " is ext4 or tmpfs");
    }

    @Test
    void byDefaultASourceThatAdvisesOffloadIsOffloaded() throws Exception {
        KcopydClient client = client(1024);
        assumeOffloadable();
        byte[] data = random(SECTORS, 24);
        // As a file of XFS or NFS would: the kernel copies (here copy_file_range on this file system).
        OffloadCountingDevice src = new OffloadCountingDevice(open(file(dir, "src", data))).advise(true);
        BlockDevice dst = open(empty(dir, "dst", SECTORS), DeviceOption.READ_WRITE);

        CopyResult result = run(client, IoRegion.whole(src), List.of(IoRegion.whole(dst)), Set.of());

        assertThat(result.isSuccess()).isTrue();
        assertThat(src.reads).as("page-path reads of the source").hasValue(0);
        assertThat(src.offloadedSectors).hasValue(SECTORS);
        assertThat(Files.readAllBytes(dir.resolve("dst"))).isEqualTo(data);
    }

    @Test
    void bothOffloadFlagsAreRefusedNamingThem() throws Exception {
        KcopydClient client = client(1024);
        BlockDevice src = new MemoryBlockDevice("src", 8);
        BlockDevice dst = new MemoryBlockDevice("dst", 8);
        Set<CopyFlag> both = EnumSet.of(CopyFlag.NO_OFFLOAD, CopyFlag.OFFLOAD_ALWAYS);

        assertThatThrownBy(() -> client.copyJob(IoRegion.whole(src), List.of(IoRegion.whole(dst)), both, null, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NO_OFFLOAD")
                .hasMessageContaining("OFFLOAD_ALWAYS");
    }

    @Test
    void sparseAlwaysReadsEverythingToFindItsZeros() throws Exception {
        KcopydClient client = client(1024);
        assumeOffloadable();
        byte[] data = random(SECTORS, 16);
        Arrays.fill(data, 1 << 20, 2 << 20, (byte) 0);
        OffloadCountingDevice src = new OffloadCountingDevice(open(file(dir, "src", data)));
        BlockDevice dst = open(file(dir, "dst", random(SECTORS, 17)), DeviceOption.READ_WRITE);

        CopyResult result = run(client, IoRegion.whole(src), List.of(IoRegion.whole(dst)),
                EnumSet.of(CopyFlag.SPARSE_ALWAYS, CopyFlag.OFFLOAD_ALWAYS));

        assertThat(result.isSuccess()).isTrue();
        assertThat(src.offloads).hasValue(0);
        assertThat(src.reads.get()).isPositive();
        assertThat(Files.readAllBytes(dir.resolve("dst"))).isEqualTo(data);
    }

    @Test
    void aDestinationThatHeldDataAtUnalignedOffsetsEndsWithTheSourceAndNothingElseChanges() throws Exception {
        KcopydClient client = client(1024);
        assumeOffloadable();
        long count = SECTORS - 20;
        byte[] data = random(SECTORS, 3);
        byte[] before = random(SECTORS + 9, 4);
        OffloadCountingDevice src = new OffloadCountingDevice(open(file(dir, "src", data)));
        BlockDevice dst = open(file(dir, "dst", before), DeviceOption.READ_WRITE);

        CopyResult result = run(client, IoRegion.of(src, 3, count), List.of(IoRegion.of(dst, 5, count)), ALWAYS);

        assertThat(result.isSuccess()).isTrue();
        assertThat(src.reads).hasValue(0);
        assertThat(src.offloadedSectors).hasValue(count);
        byte[] expected = before.clone();
        System.arraycopy(data, 3 * 512, expected, 5 * 512, (int) count * 512);
        assertThat(Files.readAllBytes(dir.resolve("dst"))).isEqualTo(expected);
    }

    @Test
    void acrossFileSystemsTheKernelRefusesOnceAndThePagesCopyEverything() throws Exception {
        KcopydClient client = client(64);
        assumeTwoFileSystems();
        byte[] data = random(SECTORS, 5);
        String name = "kcopyd-offload-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        OffloadCountingDevice src = new OffloadCountingDevice(open(file(SHM, name, data)));
        BlockDevice dst = open(file(dir, "dst", random(SECTORS, 6)), DeviceOption.READ_WRITE);

        CopyResult result = run(client, IoRegion.whole(src), List.of(IoRegion.whole(dst)), ALWAYS);

        assertThat(result.isSuccess()).isTrue();
        assertThat(src.offloadedSectors).as("no offload succeeded").hasValue(0);
        // Once per job: only the chunks handed out before the first refusal came back tried.
        assertThat(src.offloads.get()).isBetween(1, 2);
        assertThat(src.offloadFailures.get()).isEqualTo(src.offloads.get());
        assertThat(src.reads.get()).isPositive();
        assertThat(Files.readAllBytes(dir.resolve("dst"))).isEqualTo(data);
    }

    @Test
    void destinationsOfEveryKindInOneJobEachGetTheSource() throws Exception {
        KcopydClient client = client(1024);
        assumeTwoFileSystems();
        byte[] data = random(SECTORS, 7);
        OffloadCountingDevice src = new OffloadCountingDevice(open(file(dir, "src", data)));
        BlockDevice sameFs = open(empty(dir, "same", SECTORS), DeviceOption.READ_WRITE);
        MemoryBlockDevice memory = new MemoryBlockDevice("memory", SECTORS);
        String name = "kcopyd-offload-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        BlockDevice otherFs = open(file(SHM, name, random(SECTORS, 8)), DeviceOption.READ_WRITE);
        BlockDevice sameFsHeldData = open(file(dir, "held", random(SECTORS, 9)), DeviceOption.READ_WRITE);

        CopyResult result = run(client, IoRegion.whole(src), List.of(IoRegion.whole(sameFs), IoRegion.whole(memory),
                IoRegion.whole(otherFs), IoRegion.whole(sameFsHeldData)), ALWAYS);

        assertThat(result.isSuccess()).isTrue();
        assertThat(src.reads.get()).as("the memory device needs the pages").isPositive();
        assertThat(src.offloadedSectors).as("both same-file-system files, every sector")
                .hasValue(2 * SECTORS);
        assertThat(Files.readAllBytes(dir.resolve("same"))).isEqualTo(data);
        assertThat(Files.readAllBytes(dir.resolve("held"))).isEqualTo(data);
        assertThat(Files.readAllBytes(SHM.resolve(name))).isEqualTo(data);
        byte[] fromMemory = new byte[data.length];
        memory.read(0, java.nio.ByteBuffer.wrap(fromMemory)).toCompletableFuture().join();
        assertThat(fromMemory).isEqualTo(data);
    }

    @Test
    void underIgnoreErrorAnUnreadableChunkIsZerosOnEveryDestinationTheOffloadedOneToo() throws Exception {
        KcopydClient client = client(1024);
        assumeOffloadable();
        byte[] data = random(SECTORS, 18);
        OffloadCountingDevice src = new OffloadCountingDevice(open(file(dir, "src", data))).failReadAt(512);
        BlockDevice file = open(file(dir, "dst", random(SECTORS, 19)), DeviceOption.READ_WRITE);
        MemoryBlockDevice memory = new MemoryBlockDevice("memory", SECTORS);

        CopyResult result = run(client, IoRegion.whole(src), List.of(IoRegion.whole(file), IoRegion.whole(memory)),
                EnumSet.of(CopyFlag.IGNORE_ERROR, CopyFlag.OFFLOAD_ALWAYS));

        assertThat(result.readError()).isTrue();
        assertThat(src.offloads.get()).as("the readable chunks").isPositive();
        // Chunks of 256 KiB (512 sectors): the second could not be read.
        byte[] expected = data.clone();
        Arrays.fill(expected, 512 * 512, 1024 * 512, (byte) 0);
        assertThat(Files.readAllBytes(dir.resolve("dst"))).isEqualTo(expected);
        byte[] fromMemory = new byte[data.length];
        memory.read(0, java.nio.ByteBuffer.wrap(fromMemory)).toCompletableFuture().join();
        assertThat(fromMemory).isEqualTo(expected);
    }

    @Test
    void aFailedOffloadIsCopiedAgainThroughPagesSmallerThanItsChunk() throws Exception {
        KcopydClient client = client(16);
        assumeOffloadable();
        byte[] data = random(SECTORS, 10);
        OffloadCountingDevice src = new OffloadCountingDevice(open(file(dir, "src", data))).failAt(0);
        BlockDevice dst = open(file(dir, "dst", random(SECTORS, 11)), DeviceOption.READ_WRITE);

        CopyResult result = run(client, IoRegion.whole(src), List.of(IoRegion.whole(dst)), ALWAYS);

        assertThat(result.isSuccess()).as("an offload failure is not the job's: the pages copy it").isTrue();
        assertThat(src.offloadFailures).hasValue(1);
        // The first 8 MiB chunk copied again in 64 KiB pieces (16 pages), and with it every later chunk:
        // offload to that destination stopped for the rest of the job.
        assertThat(src.reads.get()).as("page-path reads").isGreaterThanOrEqualTo(128);
        assertThat(src.offloads).as("the other chunk handed out with it, at most").hasValueBetween(1, 2);
        assertThat(Files.readAllBytes(dir.resolve("dst"))).isEqualTo(data);
    }

    @Test
    void aSparseCopyOffloadsTheDataAndZeroesTheHolesOfADestinationThatHeldData() throws Exception {
        KcopydClient client = client(1024);
        assumeOffloadable();
        byte[] data = random(SECTORS, 12);
        // Holes: the first MiB, 3 MiB in the middle and the unaligned end.
        Arrays.fill(data, 0, 1 << 20, (byte) 0);
        Arrays.fill(data, 4 << 20, 7 << 20, (byte) 0);
        Arrays.fill(data, 10 << 20, data.length, (byte) 0);
        Path srcPath = empty(dir, "src", SECTORS);
        try (var ch = java.nio.channels.FileChannel.open(srcPath, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(data, 1 << 20, 3 << 20), 1 << 20);
            ch.write(java.nio.ByteBuffer.wrap(data, 7 << 20, 3 << 20), 7 << 20);
        }
        OffloadCountingDevice src = new OffloadCountingDevice(open(srcPath));
        BlockDevice dst = open(file(dir, "dst", random(SECTORS, 13)), DeviceOption.READ_WRITE);

        CopyResult result = run(client, IoRegion.whole(src), List.of(IoRegion.whole(dst)), EnumSet.of(CopyFlag.SPARSE,
                CopyFlag.OFFLOAD_ALWAYS));

        assertThat(result.isSuccess()).isTrue();
        assertThat(src.reads).hasValue(0);
        // Only the data, 6 MiB of the 10: the 7 sectors of hole at the end are shorter than
        // SPARSE_MIN_RUN but at the chunk's edge, not between data, so they are zeroed, not copied.
        assertThat(src.offloadedSectors.get()).as("offloaded sectors").isEqualTo(6L << 20 >> 9);
        assertThat(Files.readAllBytes(dir.resolve("dst"))).isEqualTo(data);
    }

    @Test
    void aCancelWhileOffloadsAreInFlightLetsThemFinishAndCopiesNothingAfter() throws Exception {
        KcopydClient client = client(1024);
        assumeOffloadable();
        long sectors = 8 * 16384L;
        byte[] data = random(sectors, 14);
        byte[] before = random(sectors, 15);
        OffloadCountingDevice src = new OffloadCountingDevice(open(file(dir, "src", data))).holdFrom(16384);
        BlockDevice dst = open(file(dir, "dst", before), DeviceOption.READ_WRITE);

        CopyJob job = client.copyJob(IoRegion.whole(src), List.of(IoRegion.whole(dst)), ALWAYS, null, null);
        // 4 sub-jobs: chunk 0 copies, chunks 1-3 wait in the kernel's place; then chunk 0's sub-job takes chunk 4.
        await().atMost(WAIT).until(() -> src.held.get() == 4);
        assertThat(job.cancel()).isTrue();
        src.release();
        CopyResult result = job.result().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);

        assertThat(result.cancelled()).isTrue();
        assertThat(result.incompleteDestinations()).isEqualTo(1L);
        assertThat(src.offloads).as("no chunk handed out after the cancel").hasValue(5);
        assertThat(job.bytesDone()).isEqualTo(5L * 16384 * 512);
        byte[] after = Files.readAllBytes(dir.resolve("dst"));
        int copied = 5 * 16384 * 512;
        assertThat(Arrays.copyOf(after, copied)).isEqualTo(Arrays.copyOf(data, copied));
        assertThat(Arrays.copyOfRange(after, copied, after.length))
                .isEqualTo(Arrays.copyOfRange(before, copied, before.length));
    }
}
