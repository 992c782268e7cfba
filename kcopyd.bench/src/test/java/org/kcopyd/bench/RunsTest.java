package org.kcopyd.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class RunsTest {

    @Test
    void warmUpRunsComeFirstAndDoNotCount() {
        Runs runs = new Runs(2, 3);
        List<Integer> numbers = new ArrayList<>();
        double best = Double.MAX_VALUE;
        double[] seconds = {0.1, 0.2, 0.9, 0.5, 0.7};
        for (int run = runs.first(); run < runs.timed(); run++) {
            numbers.add(run);
            best = runs.best(run, best, seconds[run - runs.first()]);
        }
        assertThat(numbers).containsExactly(-2, -1, 0, 1, 2);
        assertThat(best).as("the fastest timed run, not the faster warm-up runs").isEqualTo(0.5);
    }

    @Test
    void withoutWarmUpEveryRunCounts() {
        Runs runs = new Runs(0, 2);
        assertThat(runs.first()).isZero();
        assertThat(runs.best(0, Double.MAX_VALUE, 0.3)).isEqualTo(0.3);
    }

    @Test
    void refusesNegativeWarmUpAndNoTimedRun() {
        assertThatThrownBy(() -> new Runs(-1, 3)).hasMessageContaining("warm-up runs -1 (at least 0)");
        assertThatThrownBy(() -> new Runs(1, 0)).hasMessageContaining("timed runs 0 (at least 1)");
    }
}
