package org.kcopyd.support.component;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class DelaysTest {

    @Test
    void delaysDoubleUpToTheMaximumAndStartOverAfterAReset() {
        Delays delays = new Delays(Duration.ofMillis(1), Duration.ofMillis(10));
        List<Long> said = new ArrayList<>();

        for (int i = 0; i < 6; i++) {
            said.add(delays.next());
        }
        assertThat(delays.peek()).isEqualTo(10);
        delays.reset();
        said.add(delays.next());

        assertThat(said).containsExactly(1L, 2L, 4L, 8L, 10L, 10L, 1L);
    }

    @Test
    void theDelaysMustBeSensible() {
        assertThatThrownBy(() -> new Delays(Duration.ZERO, Duration.ofMillis(10)))
                .hasMessage("backoff from PT0S to PT0.01S: first must be at least 1 ms and at most max");
        assertThatThrownBy(() -> new Delays(Duration.ofMillis(20), Duration.ofMillis(10)))
                .hasMessageContaining("and at most max");
    }

    @Test
    void aWaitIsSaidInMillisecondsBelowASecondElseInWholeSecondsRoundedUp() {
        assertThat(Delays.say(0)).isEqualTo("0 ms");
        assertThat(Delays.say(999)).isEqualTo("999 ms");
        assertThat(Delays.say(1000)).isEqualTo("1 s");
        assertThat(Delays.say(1001)).isEqualTo("2 s");
    }
}
