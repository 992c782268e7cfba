package org.kcopyd.mirror.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.kcopyd.mirror.internal.MirrorFixture.random;
import static org.kcopyd.mirror.internal.MirrorFixture.read;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.ClientBinding;
import org.kcopyd.api.ClientStatistics;
import org.kcopyd.api.CopyCallback;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyJob;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.PreparedCompletion;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.MirrorStatus;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * A resync copy refused for good fails its target legs with the reason instead of being retried
 * forever (the same leg twice once spun at 100% CPU); one that cannot run for a while is retried
 * after growing, bounded delays, on a scheduler, never in a loop.
 */
class ResyncFailureTest {

    private static final int SECTORS = 4096;

    @TempDir
    Path dir;
    private final MirrorFixture fixture = new MirrorFixture();
    private final RecordingScheduler scheduler = new RecordingScheduler();
    private final AtomicInteger attempts = new AtomicInteger();
    private final List<ClientBinding> bindings = new ArrayList<>();

    @AfterEach
    void close() throws IOException {
        fixture.close();
        bindings.forEach(ClientBinding::close);
        scheduler.shutdownNow();
    }

    private List<Path> paths(int n) {
        return java.util.stream.IntStream.range(0, n).mapToObj(i -> dir.resolve("leg" + i + ".img")).toList();
    }

    /** A binding to the engine whose copy attempt {@code n} (from 1) throws {@code faults.apply(n)} if not null. */
    private ClientBinding faulty(IntFunction<RuntimeException> faults) {
        ClientBinding binding = new ClientBinding(f -> new FaultyClient(f.createClient(64), faults, attempts));
        binding.bind(fixture.engine);
        bindings.add(binding);
        return binding;
    }

    private Backoff backoff() {
        return new Backoff(scheduler, Duration.ofMillis(1), Duration.ofMillis(8));
    }

    @Test
    void theSameDeviceAsTwoLegsFailsTheSecondWithTheEnginesReasonInsteadOfSpinning() throws Exception {
        List<Path> paths = paths(2);
        byte[] data = random(SECTORS * 512, 1);
        BlockDevice leg = fixture.leg(paths.get(0), data);

        // Claims refuse this when a mirror opens; here the volume is given the device twice.
        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, List.of(leg, leg), faulty(n -> null), backoff());
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);

        MirrorStatus status = mirror.status();
        assertThat(status.legs().get(0).state()).isEqualTo(LegState.IN_SYNC);
        assertThat(status.legs().get(1).state()).isEqualTo(LegState.FAILED);
        assertThat(status.legs().get(1).failure()).startsWith("resync of region ").contains("refused: dest[0] sectors")
                .contains("overlap the source");
        assertThat(attempts.get()).as("each refused copy tried once, not requeued")
                .isLessThanOrEqualTo(MirrorResync.RESYNC_PARALLEL);
        assertThat(scheduler.delays).as("a permanent refusal is not retried").isEmpty();
        assertThat(read(leg)).isEqualTo(data);
    }

    @Test
    void aCopyRefusedForGoodFailsEveryTargetLegWithTheReason() throws Exception {
        List<Path> paths = paths(3);
        byte[] data = random(SECTORS * 512, 2);
        List<BlockDevice> legs = List.of(fixture.leg(paths.get(0), data), fixture.leg(paths.get(1), new byte[SECTORS * 512]),
                fixture.leg(paths.get(2), new byte[SECTORS * 512]));

        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs,
                faulty(n -> new IllegalArgumentException("injected refusal " + n)), backoff());
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);

        MirrorStatus status = mirror.status();
        assertThat(status.legs().get(0).state()).isEqualTo(LegState.IN_SYNC);
        for (int leg = 1; leg < 3; leg++) {
            assertThat(status.legs().get(leg).state()).isEqualTo(LegState.FAILED);
            assertThat(status.legs().get(leg).failure()).contains("refused: injected refusal");
        }
        assertThat(attempts.get()).isLessThanOrEqualTo(MirrorResync.RESYNC_PARALLEL);
        assertThat(scheduler.delays).isEmpty();
        assertThat(read(legs.get(0))).isEqualTo(data);
    }

    @Test
    void aFullClientIsRetriedAfterGrowingBoundedDelaysAndTheResyncCompletes() throws Exception {
        List<Path> paths = paths(2);
        byte[] data = random(SECTORS * 512, 3);
        List<BlockDevice> legs = List.of(fixture.leg(paths.get(0), data),
                fixture.leg(paths.get(1), new byte[SECTORS * 512]));

        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs,
                faulty(n -> n <= 30 ? new RejectedExecutionException("injected: admission bound reached") : null),
                backoff());
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);

        assertThat(mirror.status().legs()).allSatisfy(l -> assertThat(l.state()).isEqualTo(LegState.IN_SYNC));
        assertThat(read(legs.get(1))).isEqualTo(data);
        List<Long> delays = List.copyOf(scheduler.delays);
        // 30 refusals, at most RESYNC_PARALLEL per pause: at least 8 pauses.
        assertThat(delays).hasSizeGreaterThanOrEqualTo(30 / MirrorResync.RESYNC_PARALLEL);
        assertThat(delays.get(0)).isEqualTo(1L);
        for (int i = 1; i < delays.size(); i++) {
            assertThat(delays.get(i)).as("delay " + i + " of " + delays).isEqualTo(Math.min(8, 2 * delays.get(i - 1)));
        }
        assertThat(attempts.get()).isLessThan(30 + 64 + MirrorResync.RESYNC_PARALLEL * delays.size());
    }

    @Test
    void aClientClosedUnderTheResyncIsRetried() throws Exception {
        List<Path> paths = paths(2);
        byte[] data = random(SECTORS * 512, 4);
        List<BlockDevice> legs = List.of(fixture.leg(paths.get(0), data),
                fixture.leg(paths.get(1), new byte[SECTORS * 512]));

        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs,
                faulty(n -> n <= 6 ? new IllegalStateException("injected: client closed") : null), backoff());
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);

        assertThat(mirror.status().legs()).allSatisfy(l -> assertThat(l.state()).isEqualTo(LegState.IN_SYNC));
        assertThat(read(legs.get(1))).isEqualTo(data);
        assertThat(scheduler.delays).isNotEmpty();
    }

    @Test
    void transientAndPermanentFailuresAreToldApart() {
        assertThat(MirrorResync.isTransient(new RejectedExecutionException())).isTrue();
        assertThat(MirrorResync.isTransient(new IllegalStateException("closed"))).isTrue();
        assertThat(MirrorResync.isTransient(new IOException("no KcopydClientFactory service became available"))).isTrue();
        assertThat(MirrorResync.isTransient(new IllegalArgumentException("overlap"))).isFalse();
        assertThat(MirrorResync.isTransient(new NullPointerException())).isFalse();
    }

    @Test
    void withNoInSyncLegLeftTheResyncStopsAndSaysSo() throws Exception {
        List<Path> paths = paths(2);
        MirrorFixture.FailingLeg first = new MirrorFixture.FailingLeg(fixture.leg(paths.get(0), random(SECTORS * 512, 5)));
        first.failReads = true;
        List<BlockDevice> legs = List.of(first, fixture.leg(paths.get(1), new byte[SECTORS * 512]));

        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs, faulty(n -> null), backoff());

        Throwable failure = org.assertj.core.api.Assertions.catchThrowable(
                () -> mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS));
        assertThat(failure).isInstanceOf(ExecutionException.class).cause()
                .hasMessage("mirror 'm' has no in-sync leg left: the resync stopped");
        assertThat(mirror.status().legs().get(0).state()).isEqualTo(LegState.FAILED);
        assertThat(mirror.status().legs().get(1).state()).as("never declared in sync").isEqualTo(LegState.RESYNCING);
        assertThat(mirror.status().legs().get(1).failure()).as("H42 #3: not 'resyncing' with nothing said")
                .startsWith("its resync stopped: no leg in sync is left to copy from; leg 0 failed: resync read of region ");
        assertThat(mirror.status().regionsToResync()).as("H43 F7: the regions not copied are still to resync")
                .isPositive();
        // H43 F4: a write acknowledged on the leg being resynced could never be read back.
        assertThat(catchThrowable(() -> mirror.device().write(0, ByteBuffer.wrap(new byte[512]))
                .toCompletableFuture().get(10, TimeUnit.SECONDS))).isInstanceOf(ExecutionException.class).cause()
                .hasMessage("mirror 'm' has no in-sync leg left");
    }

    /**
     * H43 F1: a region dirty at the last stop is copied from the default leg to the other legs in
     * sync. A read of the default leg that fails there must write nothing over them: IGNORE_ERROR
     * wrote the chunk as zeros over the in-sync leg, which then alone held the region's data. The
     * default leg is failed, and the region copied from the leg in sync to the legs left (none here).
     */
    @Test
    void aFailedReadOfTheSourceWritesNothingOverALegInSync() throws Exception {
        List<Path> paths = paths(2);
        byte[] data = random(SECTORS * 512, 41);
        MirrorVolume first = fixture.mirror(dir.resolve("log"), paths, List.of(fixture.leg(paths.get(0), data),
                fixture.leg(paths.get(1), new byte[SECTORS * 512])), faulty(n -> null), backoff());
        first.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        fixture.log.markDirty(3);
        fixture.closeDevices();
        long from = 3L * MirrorFixture.REGION;
        BlockDevice unreadable = new ForwardingDevice(fixture.leg(paths.get(0), null)) {
            @Override
            public CompletionStage<Void> read(long sector, ByteBuffer dst) {
                long end = sector + dst.remaining() / 512;
                return sector < from + MirrorFixture.REGION && end > from
                        ? CompletableFuture.failedFuture(new IOException("EIO in region 3"))
                        : super.read(sector, dst);
            }
        };

        MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, List.of(unreadable,
                fixture.leg(paths.get(1), null)), faulty(n -> null), backoff());
        mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);

        assertThat(mirror.status().legs().get(0).state()).isEqualTo(LegState.FAILED);
        assertThat(mirror.status().legs().get(0).failure()).startsWith("resync read of region 3 failed: ");
        assertThat(Files.readAllBytes(paths.get(1))).as("the leg in sync as it was, no zeros")
                .isEqualTo(data);
    }

    /** Records the delay of every task scheduled on it. */
    private static final class RecordingScheduler extends ScheduledThreadPoolExecutor {
        final List<Long> delays = Collections.synchronizedList(new ArrayList<>());

        RecordingScheduler() {
            super(1);
        }

        @Override
        public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
            delays.add(unit.toMillis(delay));
            return super.schedule(command, delay, unit);
        }
    }

    /** A client whose copy attempts throw the injected faults before reaching the real client. */
    private static final class FaultyClient implements KcopydClient {
        private final KcopydClient inner;
        private final IntFunction<RuntimeException> faults;
        private final AtomicInteger attempts;

        FaultyClient(KcopydClient inner, IntFunction<RuntimeException> faults, AtomicInteger attempts) {
            this.inner = inner;
            this.faults = faults;
            this.attempts = attempts;
        }

        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public int pages() {
            return inner.pages();
        }

        @Override
        public <C> CompletionStage<CopyResult> copy(IoRegion from, List<IoRegion> dests, Set<CopyFlag> flags,
                CopyCallback<? super C> callback, C context) {
            RuntimeException fault = faults.apply(attempts.incrementAndGet());
            if (fault != null) {
                throw fault;
            }
            return inner.copy(from, dests, flags, callback, context);
        }

        @Override
        public <C> CopyJob copyJob(IoRegion from, List<IoRegion> dests, Set<CopyFlag> flags,
                CopyCallback<? super C> callback, C context) {
            RuntimeException fault = faults.apply(attempts.incrementAndGet());
            if (fault != null) {
                throw fault;
            }
            return inner.copyJob(from, dests, flags, callback, context);
        }

        @Override
        public <C> CompletionStage<CopyResult> zero(List<IoRegion> dests, Set<CopyFlag> flags,
                CopyCallback<? super C> callback, C context) {
            return inner.zero(dests, flags, callback, context);
        }

        @Override
        public <C> CopyJob zeroJob(List<IoRegion> dests, Set<CopyFlag> flags, CopyCallback<? super C> callback,
                C context) {
            return inner.zeroJob(dests, flags, callback, context);
        }

        @Override
        public <C> PreparedCompletion prepareCallback(CopyCallback<? super C> callback, C context) {
            return inner.prepareCallback(callback, context);
        }

        @Override
        public CompletionStage<Void> flush() {
            return inner.flush();
        }

        @Override
        public ClientStatistics statistics() {
            return inner.statistics();
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
