package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.Extent;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * A source whose calls never block ({@link BlockDevice#isNonBlocking}, an NBD export) is read from
 * the client's worker thread, without a hand-off to an I/O thread per chunk; a blocking one only
 * from I/O threads. Whatever completes a read, the destinations are never written from the
 * worker (a file destination blocks): not after a read completed on the device's own thread, not
 * after one that completed at once, not for a sparse chunk of zeros.
 */
class NonBlockingSourceTest {

    private static final long SECTORS = 8192;

    private final List<Engine> engines = new ArrayList<>();
    private final ExecutorService deviceThread = Executors.newSingleThreadExecutor(r -> new Thread(r, "device-thread"));

    @AfterEach
    void close() {
        engines.forEach(Engine::close);
        deviceThread.shutdownNow();
    }

    private KcopydClient client() {
        Engine engine = new Engine(EngineSettings.builder().subJobKiB(64).subJobsPerJob(4).build());
        engines.add(engine);
        return engine.createClient(256);
    }

    /** A device that records the threads its reads and writes were called on, answering as configured. */
    private static class Recording extends ForwardingDevice {
        final Set<String> readThreads = ConcurrentHashMap.newKeySet();
        final Set<String> writeThreads = ConcurrentHashMap.newKeySet();
        private final boolean nonBlocking;
        private final ExecutorService completeOn;

        /** @param completeOn where reads complete (a device's own thread), or null: at once, in the call */
        Recording(BlockDevice inner, boolean nonBlocking, ExecutorService completeOn) {
            super(inner);
            this.nonBlocking = nonBlocking;
            this.completeOn = completeOn;
        }

        @Override
        public boolean isNonBlocking() {
            return nonBlocking;
        }

        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            readThreads.add(Thread.currentThread().getName());
            if (completeOn == null) {
                return super.read(sector, dst);
            }
            return CompletableFuture.supplyAsync(() -> super.read(sector, dst), completeOn)
                    .thenCompose(stage -> stage);
        }

        @Override
        public CompletionStage<Void> write(long sector, ByteBuffer src) {
            writeThreads.add(Thread.currentThread().getName());
            return super.write(sector, src);
        }

        @Override
        public boolean supportsWriteZeroes() {
            return inner.supportsWriteZeroes();
        }

        @Override
        public CompletionStage<Void> writeZeroes(long sector, long count) {
            writeThreads.add(Thread.currentThread().getName());
            return inner.writeZeroes(sector, count);
        }
    }

    /** The client's worker thread is {@code kcopyd-NAME}, the engine's I/O threads {@code kcopyd-io-...}. */
    private static boolean worker(String thread) {
        return thread.startsWith("kcopyd-") && !thread.startsWith("kcopyd-io");
    }

    private static MemoryBlockDevice random(String name, long seed, boolean holes) {
        byte[] b = new byte[Math.toIntExact(SECTORS * BlockDevice.SECTOR_SIZE)];
        new Random(seed).nextBytes(b);
        if (holes) {
            // Zeros from 1 MiB to 3 MiB: whole sparse chunks of zeros.
            java.util.Arrays.fill(b, 1 << 20, 3 << 20, (byte) 0);
        }
        MemoryBlockDevice d = new MemoryBlockDevice(name, SECTORS);
        d.write(0, ByteBuffer.wrap(b)).toCompletableFuture().join();
        return d;
    }

    private static byte[] content(BlockDevice d) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(d.sizeInSectors() * BlockDevice.SECTOR_SIZE));
        d.read(0, b).toCompletableFuture().join();
        return b.array();
    }

    private static CopyResult copy(KcopydClient client, BlockDevice from, BlockDevice to, Set<CopyFlag> flags)
            throws Exception {
        return client.copy(IoRegion.whole(from), List.of(IoRegion.whole(to)), flags).toCompletableFuture()
                .get(30, TimeUnit.SECONDS);
    }

    @Test
    void aNonBlockingSourceIsReadFromTheWorkerAndItsDestinationWrittenFromIoThreads() throws Exception {
        MemoryBlockDevice data = random("src", 1, false);
        Recording source = new Recording(data, true, deviceThread);
        Recording dest = new Recording(new MemoryBlockDevice("dst", SECTORS), false, null);

        CopyResult r = copy(client(), source, dest, Set.of());

        assertThat(r.isSuccess()).as(r.toString()).isTrue();
        assertThat(content(dest)).isEqualTo(content(data));
        assertThat(source.readThreads).as("reads started on the client's worker").isNotEmpty()
                .allMatch(NonBlockingSourceTest::worker);
        // Written on the device's thread that completed the read, or on an I/O thread where the read
        // completed before the worker asked to be told: never on the worker.
        assertThat(dest.writeThreads).isNotEmpty().noneMatch(NonBlockingSourceTest::worker);
    }

    @Test
    void aReadThatCompletesAtOnceStillHasItsWritesOnIoThreads() throws Exception {
        MemoryBlockDevice data = random("src", 2, false);
        Recording source = new Recording(data, true, null);
        Recording dest = new Recording(new MemoryBlockDevice("dst", SECTORS), false, null);

        CopyResult r = copy(client(), source, dest, Set.of());

        assertThat(r.isSuccess()).as(r.toString()).isTrue();
        assertThat(content(dest)).isEqualTo(content(data));
        assertThat(source.readThreads).isNotEmpty().allMatch(NonBlockingSourceTest::worker);
        assertThat(dest.writeThreads).as("never the worker, which read").isNotEmpty()
                .allMatch(n -> n.startsWith("kcopyd-io-"));
    }

    @Test
    void aSparseCopyOfANonBlockingSourceWritesItsZerosFromIoThreads() throws Exception {
        MemoryBlockDevice data = random("src", 3, true);
        Recording source = new Recording(data, true, null);
        MemoryBlockDevice held = random("dst", 4, false);
        Recording dest = new Recording(held, false, null);

        CopyResult r = copy(client(), source, dest, Set.of(CopyFlag.SPARSE));

        assertThat(r.isSuccess()).as(r.toString()).isTrue();
        assertThat(content(dest)).as("the destination held data: its zeros are written").isEqualTo(content(data));
        assertThat(dest.writeThreads).isNotEmpty().allMatch(n -> n.startsWith("kcopyd-io"));
    }

    @Test
    void aBlockingSourceIsReadOnlyFromIoThreads() throws Exception {
        MemoryBlockDevice data = random("src", 5, false);
        Recording source = new Recording(data, false, null);
        Recording dest = new Recording(new MemoryBlockDevice("dst", SECTORS), false, null);

        CopyResult r = copy(client(), source, dest, Set.of());

        assertThat(r.isSuccess()).as(r.toString()).isTrue();
        assertThat(source.readThreads).isNotEmpty().allMatch(n -> n.startsWith("kcopyd-io"));
        assertThat(dest.writeThreads).isNotEmpty().allMatch(n -> n.startsWith("kcopyd-io"));
    }

    @Test
    void subJobsStartingTogetherAskANonBlockingSourceWhereItsDataIsOnce() throws Exception {
        // Each question of an NBD server walks its file from there to the next hole: one is enough.
        MemoryBlockDevice data = random("src", 6, true);
        CompletableFuture<Void> gate = new CompletableFuture<>();
        AtomicInteger asked = new AtomicInteger();
        Recording source = new Recording(data, true, deviceThread) {
            @Override
            public CompletionStage<List<Extent>> extents(long sector, long count) {
                asked.incrementAndGet();
                return gate.thenComposeAsync(open -> inner.extents(sector, count), deviceThread);
            }
        };
        MemoryBlockDevice dest = new MemoryBlockDevice("dst", SECTORS);
        KcopydClient client = client();
        String worker = "kcopyd-" + client.name();

        CompletableFuture<CopyResult> copy = client.copy(IoRegion.whole(source), List.of(IoRegion.whole(dest)),
                Set.of(CopyFlag.SPARSE)).toCompletableFuture();
        // The worker starts every sub-job's chunk, then waits: by then all of them have asked, or waited for the answer.
        await().atMost(Duration.ofSeconds(20)).until(() -> asked.get() > 0 && parked(worker));
        int before = asked.get();
        gate.complete(null);

        CopyResult r = copy.get(30, TimeUnit.SECONDS);
        assertThat(r.isSuccess()).as(r.toString()).isTrue();
        assertThat(content(dest)).isEqualTo(content(data));
        assertThat(before).as("questions of the 4 sub-jobs that started together").isEqualTo(1);
    }

    private static boolean parked(String threadName) {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals(threadName)
                && (t.getState() == Thread.State.WAITING || t.getState() == Thread.State.TIMED_WAITING));
    }
}
