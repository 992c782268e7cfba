package org.kcopyd.control.internal.service;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ComponentOutcomesTest {

    @Test
    void aFailureTextGivesItsMessageAndTellsARefusalAndAClaim() {
        String refusal = "java.lang.IllegalArgumentException: chunkSectors 24 is not a power of two\n\tat x.y(Z.java:1)";
        assertThat(ComponentOutcomes.failureMessage(refusal)).isEqualTo("chunkSectors 24 is not a power of two");
        assertThat(new ComponentOutcomes.Outcome(ComponentOutcomes.State.FAILED, "m",
                ComponentOutcomes.exceptionClass(refusal)).refused()).isTrue();
        String claimed = "org.kcopyd.device.FileClaimedException: /a is the origin of snapshot s1";
        ComponentOutcomes.Outcome o = new ComponentOutcomes.Outcome(ComponentOutcomes.State.FAILED, "m",
                ComponentOutcomes.exceptionClass(claimed));
        assertThat(o.inUse()).isTrue();
        assertThat(o.refused()).isFalse();
        assertThat(ComponentOutcomes.failureMessage("java.io.IOException")).isEqualTo("IOException");
        assertThat(ComponentOutcomes.failureMessage(null)).contains("without a reason");
    }
}
