package org.kcopyd.impl.osgi;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.Extent;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.nbd.NbdServer;
import org.kcopyd.nbd.internal.osgi.NbdDeviceProvider;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * An {@code nbd+unix} device opened read-only through the opener service, as the daemon and any
 * OSGi consumer open one (kcopyd.nbd's provider bound to the engine component, the provider's
 * read-only device wrapped by the opener): its extents are the export's block status, so a sparse
 * copy through the component's client reads only the export's data. Before the wrappers passed
 * {@code extents} on, the device answered all data and the copy read the whole export. The export
 * is kcopyd.nbd's server in this JVM, serving a device whose holes are known and which counts
 * the sectors read from it.
 */
class DeviceOpenerNbdTest {

    /** 16 MiB. */
    private static final long SIZE = 32_768;
    /** Where the export's runs start: data, hole, data, hole; the last ends at {@link #SIZE}. */
    private static final long[] RUNS = {0, 2048, 20_000, 20_512};
    private static final long DATA_SECTORS = 2048 + 512;

    @TempDir
    Path dir;

    private final ActiveComponent active = new ActiveComponent();
    private final LaidOutDevice exported = new LaidOutDevice();
    private NbdServer server;

    /** The export: memory with random data in the data runs, answering its runs as extents, counting reads. */
    private static final class LaidOutDevice extends ForwardingDevice {
        final MemoryBlockDevice memory;
        final AtomicLong sectorsRead = new AtomicLong();

        LaidOutDevice() {
            this(new MemoryBlockDevice("sparse export", SIZE));
        }

        private LaidOutDevice(MemoryBlockDevice memory) {
            super(memory);
            this.memory = memory;
            Random random = new Random(21);
            for (int i = 0; i < RUNS.length; i += 2) {
                byte[] data = new byte[Math.toIntExact((RUNS[i + 1] - RUNS[i]) * SECTOR_SIZE)];
                random.nextBytes(data);
                data[0] |= 1;
                memory.write(RUNS[i], ByteBuffer.wrap(data)).toCompletableFuture().join();
            }
        }

        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            sectorsRead.addAndGet(dst.remaining() / SECTOR_SIZE);
            return super.read(sector, dst);
        }

        @Override
        public CompletionStage<List<Extent>> extents(long sector, long count) {
            List<Extent> runs = new ArrayList<>();
            for (int i = 0; i < RUNS.length; i++) {
                long start = Math.max(sector, RUNS[i]);
                long end = Math.min(sector + count, i + 1 < RUNS.length ? RUNS[i + 1] : SIZE);
                if (start < end) {
                    runs.add(new Extent(start, end - start, i % 2 == 0 ? Extent.Type.DATA : Extent.Type.HOLE));
                }
            }
            return CompletableFuture.completedFuture(runs);
        }
    }

    @BeforeEach
    void serveAndBindTheNbdProvider() throws IOException {
        server = NbdServer.builder().export("sparse", exported, true).startUnix(dir.resolve("nbd.sock"));
        active.component.bindUriProvider(new NbdDeviceProvider(),
                ActiveComponent.providerProperties(7, null, new String[] {"nbd", "nbd+unix"}));
    }

    @AfterEach
    void stop() throws IOException {
        active.close();
        server.close();
    }

    private BlockDevice openThroughTheOpener() throws IOException {
        return active.openerFor("a.consumer").open(URI.create(server.uri("sparse").toString()));
    }

    @Test
    void theExtentsOfAnNbdDeviceOpenedReadOnlyThroughTheOpenerAreTheExportsBlockStatus() throws Exception {
        try (BlockDevice device = openThroughTheOpener()) {
            assertThat(device.isReadOnly()).isTrue();
            assertThat(device.supportsWriteZeroes()).isFalse();

            List<Extent> runs = new ArrayList<>();
            for (long at = 0; at < SIZE; at = runs.get(runs.size() - 1).endSector()) {
                runs.addAll(device.extents(at, SIZE - at).toCompletableFuture().get(10, TimeUnit.SECONDS));
            }

            assertThat(coalesced(runs)).containsExactly(new Extent(0, 2048, Extent.Type.DATA),
                    new Extent(2048, 20_000 - 2048, Extent.Type.HOLE), new Extent(20_000, 512, Extent.Type.DATA),
                    new Extent(20_512, SIZE - 20_512, Extent.Type.HOLE));
        }
    }

    @Test
    void aSparseCopyFromItThroughTheComponentsClientReadsOnlyTheExportsData() throws Exception {
        MemoryBlockDevice destination = new MemoryBlockDevice("destination", SIZE);
        try (BlockDevice source = openThroughTheOpener();
                KcopydClient client = active.clientFactoryFor("a.consumer").createClient(64)) {
            CopyResult result = client.copy(IoRegion.whole(source), List.of(IoRegion.whole(destination)),
                    Set.of(CopyFlag.SPARSE)).toCompletableFuture().get(30, TimeUnit.SECONDS);

            assertThat(result.isSuccess()).as(result.toString()).isTrue();
        }

        assertThat(exported.sectorsRead.get()).as("sectors read from the export").isEqualTo(DATA_SECTORS);
        assertThat(bytes(destination)).isEqualTo(bytes(exported.memory));
    }

    /** @return the runs with neighbours of one type merged (NBD servers may split runs anywhere) */
    private static List<Extent> coalesced(List<Extent> runs) {
        List<Extent> merged = new ArrayList<>();
        for (Extent e : runs) {
            Extent last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            Extent.Type type = e.type().readsAsZeros() ? Extent.Type.HOLE : Extent.Type.DATA;
            if (last != null && last.type() == type) {
                merged.set(merged.size() - 1, new Extent(last.sector(), last.count() + e.count(), type));
            } else {
                merged.add(new Extent(e.sector(), e.count(), type));
            }
        }
        return merged;
    }

    private static byte[] bytes(MemoryBlockDevice device) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(device.sizeInSectors() * BlockDevice.SECTOR_SIZE));
        device.read(0, b).toCompletableFuture().join();
        return b.array();
    }
}
