package org.kcopyd.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class RunsTest {

    /** The JVM's compilation time and clock, as the runs see them; each run lasts one second. */
    private long compileMillis;
    private long nanos;
    private final List<String> reported = new ArrayList<>();

    private Runs runs(int warmup, int timed) {
        return new Runs(warmup, timed, (scenario, loop) -> reported.add(scenario + ": " + loop.summary()),
                () -> compileMillis, () -> nanos);
    }

    /** One second of runs, of which the JIT compiled {@code jit} milliseconds. */
    private void oneSecond(long jit) {
        nanos += 1_000_000_000L;
        compileMillis += jit;
    }

    /** A run's kind: W warm-up with the peers, w warm-up of kcopyd alone, T timed (with the peers). */
    private static String kind(Runs.Loop run) {
        return run.timing() ? (run.peers() ? "T" : "t?") : run.peers() ? "W" : "w";
    }

    @Test
    void aFixedNumberOfWarmUpRunsOfEveryProgramComeFirstAndDoNotCount() {
        List<String> kinds = new ArrayList<>();
        double best = Double.MAX_VALUE;
        double[] seconds = {0.1, 0.2, 0.9, 0.5, 0.7};
        int i = 0;
        for (Runs.Loop run = runs(2, 3).loop("s"); run.next();) {
            kinds.add(kind(run));
            best = run.best(best, seconds[i++]);
            oneSecond(900); // a busy JIT does not lengthen a fixed warm-up
        }
        assertThat(kinds).containsExactly("W", "W", "T", "T", "T");
        assertThat(best).as("the fastest timed run, not the faster warm-up runs").isEqualTo(0.5);
        assertThat(reported).containsExactly("s: 2, the last 90% JIT; 2700 ms JIT in timed runs");
    }

    @Test
    void autoWarmsUpKcopydAloneUntilTheJitCompilesForUnderFivePercentOfTwoRunsInARow() {
        long[] jit = {800, 300, 100, 20, 300, 40, 10, 60, 0, 0};
        List<String> kinds = new ArrayList<>();
        int i = 0;
        for (Runs.Loop run = runs(Runs.AUTO, 3).loop("nbd-read"); run.next();) {
            kinds.add(kind(run));
            oneSecond(jit[i++]);
        }
        assertThat(kinds).as("the peers in the first warm-up run and the timed ones only")
                .containsExactly("W", "w", "w", "w", "w", "w", "w", "T", "T", "T");
        assertThat(reported).containsExactly("nbd-read: 7, the last 1% JIT; 60 ms JIT in timed runs");
    }

    @Test
    void autoStopsWarmingUpAfterTheMostRunsWhenTheJitNeverQuietens() {
        int warmups = 0;
        int timed = 0;
        for (Runs.Loop run = runs(Runs.AUTO, 2).loop("s"); run.next();) {
            if (run.timing()) {
                timed++;
            } else {
                warmups++;
            }
            oneSecond(500);
        }
        assertThat(warmups).isEqualTo(Runs.MOST_WARMUPS);
        assertThat(timed).isEqualTo(2);
    }

    @Test
    void autoWarmsUpTwiceWhenTheJitIsQuietAlready() {
        List<String> kinds = new ArrayList<>();
        for (Runs.Loop run = runs(Runs.AUTO, 1).loop("s"); run.next();) {
            kinds.add(kind(run));
            oneSecond(49);
        }
        assertThat(kinds).containsExactly("W", "w", "T");
    }

    @Test
    void withoutWarmUpEveryRunCounts() {
        List<String> kinds = new ArrayList<>();
        double best = Double.MAX_VALUE;
        for (Runs.Loop run = runs(0, 2).loop("s"); run.next();) {
            kinds.add(kind(run));
            best = run.best(best, 0.3);
        }
        assertThat(kinds).containsExactly("T", "T");
        assertThat(best).isEqualTo(0.3);
        assertThat(reported).containsExactly("s: 0; 0 ms JIT in timed runs");
    }

    @Test
    void theReportSaysHowItWarmsUp() {
        assertThat(runs(1, 5).describe()).isEqualTo("best of 5 after 1 untimed warm-up run of each program");
        assertThat(runs(Runs.AUTO, 5).describe()).isEqualTo("best of 5 after 1 untimed run of each program and "
                + "more of kcopyd until the JIT compiles for under 5% of 2 runs in a row (at most 12 in all)");
    }

    @Test
    void autoIsTheCommandLinesDefault() throws Exception {
        assertThat(BenchOptions.parse().warmup).isEqualTo(Runs.AUTO);
        assertThat(BenchOptions.parse("--warmup", "auto").warmup).isEqualTo(Runs.AUTO);
        assertThat(BenchOptions.parse("--warmup", "3").warmup).isEqualTo(3);
    }

    @Test
    void refusesLessThanAutoAndNoTimedRun() {
        assertThatThrownBy(() -> runs(-2, 3)).hasMessageContaining("warm-up runs -2 (at least 0, or -1 for until");
        assertThatThrownBy(() -> runs(1, 0)).hasMessageContaining("timed runs 0 (at least 1)");
    }
}
