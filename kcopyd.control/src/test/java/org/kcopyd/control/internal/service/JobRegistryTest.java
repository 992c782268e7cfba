package org.kcopyd.control.internal.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.kcopyd.control.ControlException;

/** The jobs by identity: numbers never given twice, ended jobs kept for a while and at most so many. */
class JobRegistryTest {

    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-27T08:00:00Z"));
    private final JobRegistry registry = new JobRegistry(Duration.ofMinutes(10), 3, 4, now::get);

    /** A job whose progress the test sets. */
    private static final class Fixed extends ControlJob {
        final AtomicLong done = new AtomicLong();

        Fixed(String id, Instant at) {
            this(id, at, System::nanoTime);
        }

        Fixed(String id, Instant at, java.util.function.LongSupplier nanoTime) {
            super(id, "copy", "a -> b", at, nanoTime);
        }

        @Override
        long bytesTotal() {
            return 1000;
        }

        @Override
        long bytesDone() {
            return done.get();
        }

        @Override
        void requestCancel() {
        }
    }

    private Fixed add() {
        Fixed j = new Fixed(registry.reserve(), now.get());
        registry.put(j);
        return j;
    }

    private void end(Fixed j) {
        j.end(new ControlJob.Outcome("completed", null, null), now.get());
    }

    @Test
    void identitiesAreNumbersNeverGivenTwice() {
        Fixed a = add();
        String wasted = registry.reserve();
        Fixed b = add();
        assertThat(a.id()).isEqualTo("1");
        assertThat(wasted).isEqualTo("2");
        assertThat(b.id()).isEqualTo("3");
        assertThat(registry.get("2")).isNull();
        assertThat(registry.all()).containsExactly(a, b);
    }

    @Test
    void endedJobsAreForgottenAfterTenMinutesRunningOnesNever() {
        Fixed running = add();
        Fixed ended = add();
        end(ended);
        now.set(now.get().plus(Duration.ofMinutes(10)));
        assertThat(registry.get(ended.id())).as("exactly 10 minutes: still kept").isSameAs(ended);
        now.set(now.get().plusSeconds(1));
        assertThat(registry.get(ended.id())).isNull();
        now.set(now.get().plus(Duration.ofDays(1)));
        assertThat(registry.all()).containsExactly(running);
    }

    @Test
    void atMostSoManyEndedJobsAreKeptTheOldestEndedForgottenFirst() {
        Fixed first = add();
        Fixed second = add();
        Fixed third = add();
        Fixed fourth = add();
        end(second);
        now.set(now.get().plusSeconds(1));
        end(first);
        now.set(now.get().plusSeconds(1));
        end(fourth);
        now.set(now.get().plusSeconds(1));
        end(third);
        assertThat(registry.all()).as("second ended first").containsExactly(first, third, fourth);
    }

    @Test
    void runningJobsAreBoundedAndTheRefusalNamesTheLimit() {
        for (int i = 0; i < 4; i++) {
            add();
        }
        assertThatThrownBy(registry::reserve).isInstanceOf(ControlException.class)
                .hasMessageContaining("4 jobs are running").hasMessageContaining("is 4")
                .extracting(e -> ((ControlException) e).code()).isEqualTo(ControlException.Code.CONFLICT);
        end((Fixed) registry.all().get(0));
        assertThat(registry.reserve()).isEqualTo("5");
    }

    /**
     * Hostile review: a job still running with every byte done (its last writes in flight) showed secondsLeft
     * 0.0. It shows no time left (null) until it has ended, and its rate as before.
     */
    @Test
    void aRunningJobWithEveryByteDoneHasNoTimeLeftUntilItEnds() {
        AtomicLong nanos = new AtomicLong();
        Fixed j = new Fixed(registry.reserve(), now.get(), nanos::get);
        registry.put(j);
        j.started();
        nanos.set(1_000_000_000L);
        j.done.set(500);
        assertThat(j.view().secondsLeft()).isEqualTo(1.0);
        nanos.set(2_000_000_000L);
        j.done.set(1000);
        assertThat(j.view().state()).isEqualTo("running");
        assertThat(j.view().bytesDone()).isEqualTo(j.view().bytesTotal());
        assertThat(j.view().bytesPerSecond()).isEqualTo(500.0);
        assertThat(j.view().secondsLeft()).as("not 0: the job has not ended").isNull();
        end(j);
        assertThat(j.view().state()).isEqualTo("completed");
        assertThat(j.view().secondsLeft()).isNull();
    }

    @Test
    void anEndedJobKeepsItsOutcomeAndBytesAndIsEndedOnce() {
        Fixed j = add();
        j.done.set(400);
        assertThat(j.view().state()).isEqualTo("running");
        j.cancel();
        assertThat(j.view().state()).isEqualTo("cancelling");
        assertThat(j.end(new ControlJob.Outcome("cancelled", null, null), now.get())).isTrue();
        assertThat(j.end(new ControlJob.Outcome("completed", null, null), now.get())).isFalse();
        j.done.set(900);
        assertThat(j.view().state()).isEqualTo("cancelled");
        assertThat(j.view().bytesDone()).isEqualTo(400);
        assertThat(j.view().bytesPerSecond()).isNull();
        assertThat(j.view().endedAt()).isEqualTo(now.get());
    }
}
