package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.ClientOptions;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.Throttle;

class IoThrottleTest {

    private static final long MS = 1_000_000;

    @Test
    void unlimitedByDefault() {
        IoThrottle t = new IoThrottle("t");
        assertThat(t.isLimiting()).isFalse();
        assertThat(t.delayNanos(1 << 20, 0)).isZero();
    }

    @Test
    void bandwidthCapBooksEachChunksTransferTime() {
        IoThrottle t = new IoThrottle("t");
        t.setBytesPerSecond(1_000_000);
        long now = 1_000 * MS;
        assertThat(t.delayNanos(100_000, now)).isZero();
        // 100 kB at 1 MB/s books 100 ms: a chunk 40 ms later waits the remaining 60 ms.
        assertThat(t.delayNanos(100_000, now + 40 * MS)).isEqualTo(60 * MS);
        assertThat(t.delayNanos(100_000, now + 100 * MS)).isZero();
    }

    @Test
    void timeShareDelaysWhenIoWasOutstandingTooLong() {
        IoThrottle t = new IoThrottle("t");
        t.setIoPercent(25);
        long now = 1_000 * MS;
        t.ioStarted(now);
        t.ioFinished(now + 100 * MS);
        // 100 ms of I/O in 100 ms: at 25 % it needs 300 ms idle, capped at one 100 ms step.
        assertThat(t.delayNanos(4096, now + 100 * MS)).isEqualTo(IoThrottle.MAX_DELAY_NANOS);
        assertThat(t.delayNanos(4096, now + 400 * MS)).isZero();
    }

    @Test
    void invalidValuesNameTheRange() {
        IoThrottle t = new IoThrottle("mirror");
        assertThatThrownBy(() -> t.setIoPercent(0))
                .hasMessage("throttle 'mirror' ioPercent 0 is outside the allowed range 1..100");
        assertThatThrownBy(() -> t.setBytesPerSecond(100))
                .hasMessageContaining("bytesPerSecond 100 is outside the allowed range");
        assertThatThrownBy(() -> t.setBytesPerSecond(1_000_000_000_001L))
                .hasMessage("throttle 'mirror' bytesPerSecond 1000000000001 is outside the allowed range "
                        + "0 or 4096..1000000000000");
        assertThat(t.bytesPerSecond()).as("nothing changed").isZero();
    }

    @Test
    void clientsSharingAThrottleShareItsBandwidth() throws Exception {
        Engine engine = new Engine(EngineSettings.builder().subJobKiB(64).build());
        try {
            Throttle shared = engine.throttle("resync");
            shared.setBytesPerSecond(4L << 20);
            assertThat(engine.throttle("resync")).isSameAs(shared);
            KcopydClient a = engine.createClient(ClientOptions.builder().throttle(shared).build());
            KcopydClient b = engine.createClient(ClientOptions.builder().throttle(shared).build());
            FaultyDevice src = new FaultyDevice("src", 8192);
            FaultyDevice dst = new FaultyDevice("dst", 8192);
            long start = System.nanoTime();
            var ja = a.copy(IoRegion.of(src, 0, 4096), List.of(IoRegion.of(dst, 0, 4096)), Set.of());
            var jb = b.copy(IoRegion.of(src, 4096, 4096), List.of(IoRegion.of(dst, 4096, 4096)), Set.of());
            ja.toCompletableFuture().get(20, TimeUnit.SECONDS);
            jb.toCompletableFuture().get(20, TimeUnit.SECONDS);
            long elapsedMs = (System.nanoTime() - start) / MS;
            // 4 MiB at 4 MiB/s together: the first 64 KiB chunk goes at once, the rest is paced.
            assertThat(elapsedMs).isGreaterThanOrEqualTo(900);
        } finally {
            engine.close();
        }
    }

    @Test
    void aThrottleFromAnotherFactoryIsRefused() {
        Engine one = new Engine(EngineSettings.defaults());
        Engine two = new Engine(EngineSettings.defaults());
        try {
            Throttle foreign = two.throttle("x");
            assertThatThrownBy(() -> one.createClient(ClientOptions.builder().throttle(foreign).build()))
                    .hasMessageContaining("was not created by this factory");
        } finally {
            one.close();
            two.close();
        }
    }

    @Test
    void theDefaultThrottleFollowsTheSettings() {
        Engine engine = new Engine(EngineSettings.builder().throttleIoPercent(50).build());
        try {
            assertThat(engine.throttle(Engine.DEFAULT_THROTTLE).ioPercent()).isEqualTo(50);
            engine.reconfigure(engine.settings().toBuilder().throttleBytesPerSecond(1 << 20).build());
            assertThat(engine.throttle(Engine.DEFAULT_THROTTLE).bytesPerSecond()).isEqualTo(1 << 20);
        } finally {
            engine.close();
        }
    }
}
