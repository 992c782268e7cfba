package org.kcopyd.control.internal.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The moving window of a job's rate: unknown at first, the recent rate once known, bounded. */
class RateWindowTest {

    private static final long S = 1_000_000_000L;

    @Test
    void theRateIsUnknownUntilTheSamplesSpanHalfASecond() {
        RateWindow w = new RateWindow();
        assertThat(w.bytesPerSecond()).isNull();
        w.record(0, 0);
        assertThat(w.bytesPerSecond()).isNull();
        w.record(S / 4, 1000);
        assertThat(w.bytesPerSecond()).isNull();
        assertThat(w.secondsLeft(5000)).isNull();
        w.record(S, 4000);
        assertThat(w.bytesPerSecond()).isCloseTo(4000.0, within(1e-6));
        assertThat(w.secondsLeft(8000)).isCloseTo(2.0, within(1e-6));
    }

    /**
     * Hostile review: a running job with every byte done (its last writes in flight, its destinations still to be
     * flushed and closed) showed secondsLeft 0.0, as if it had ended. The time left is unknown then, not 0.
     */
    @Test
    void nothingLeftToDoIsNoTimeLeftKnownNotZero() {
        RateWindow w = new RateWindow();
        w.record(0, 0);
        w.record(S, 8000);
        assertThat(w.bytesPerSecond()).isCloseTo(8000.0, within(1e-6));
        assertThat(w.secondsLeft(0)).isNull();
        assertThat(w.secondsLeft(-1)).isNull();
        assertThat(w.secondsLeft(1)).isCloseTo(1.0 / 8000, within(1e-9));
    }

    @Test
    void theRateIsThatOfTheLastFiveSecondsNotOfTheWholeJob() {
        RateWindow w = new RateWindow();
        // 10 s at 1000 B/s, then 10 s at 5000 B/s: the window sees only the recent rate.
        long bytes = 0;
        for (int t = 0; t <= 10; t++) {
            w.record(t * S, bytes);
            bytes += 1000;
        }
        bytes -= 1000;
        for (int t = 11; t <= 20; t++) {
            bytes += 5000;
            w.record(t * S, bytes);
        }
        assertThat(w.bytesPerSecond()).isCloseTo(5000.0, within(1e-6));
    }

    @Test
    void aStalledJobHasRateZeroAndNoTimeLeft() {
        RateWindow w = new RateWindow();
        w.record(0, 100);
        w.record(2 * S, 100);
        assertThat(w.bytesPerSecond()).isZero();
        assertThat(w.secondsLeft(100)).isNull();
    }

    @Test
    void frequentLooksKeepTheWindowBounded() throws Exception {
        RateWindow w = new RateWindow();
        for (long t = 0; t < 100_000; t++) {
            w.record(t * 1_000_000L, t * 10);
        }
        java.lang.reflect.Field f = RateWindow.class.getDeclaredField("samples");
        f.setAccessible(true);
        assertThat(((java.util.ArrayDeque<?>) f.get(w)).size()).isLessThanOrEqualTo(RateWindow.MAX_SAMPLES);
        assertThat(w.bytesPerSecond()).isCloseTo(10_000.0, within(1e-3));
    }
}
