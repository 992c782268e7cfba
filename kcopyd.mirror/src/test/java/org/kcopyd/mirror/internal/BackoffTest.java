package org.kcopyd.mirror.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BackoffTest {

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    @Test
    void delaysDoubleUpToTheMaximumAndStartOverAfterAReset() throws Exception {
        Backoff backoff = new Backoff(scheduler, Duration.ofMillis(1), Duration.ofMillis(10));
        CountDownLatch ran = new CountDownLatch(7);
        List<Long> delays = new ArrayList<>();

        for (int i = 0; i < 6; i++) {
            delays.add(backoff.retry(ran::countDown));
        }
        backoff.reset();
        delays.add(backoff.retry(ran::countDown));

        assertThat(delays).containsExactly(1L, 2L, 4L, 8L, 10L, 10L, 1L);
        assertThat(ran.await(10, TimeUnit.SECONDS)).as("every retry ran on the scheduler").isTrue();
    }

    @Test
    void aStoppedSchedulerRunsNothingAndSaysSo() {
        Backoff backoff = new Backoff(scheduler, Duration.ofMillis(1), Duration.ofMillis(10));
        scheduler.shutdownNow();

        assertThat(backoff.retry(() -> { })).isEqualTo(-1);
    }

    @Test
    void theDelaysMustBeSensible() {
        assertThatThrownBy(() -> new Backoff(scheduler, Duration.ZERO, Duration.ofMillis(10)))
                .hasMessageContaining("first must be at least 1 ms");
        assertThatThrownBy(() -> new Backoff(scheduler, Duration.ofMillis(20), Duration.ofMillis(10)))
                .hasMessageContaining("and at most max");
    }
}
