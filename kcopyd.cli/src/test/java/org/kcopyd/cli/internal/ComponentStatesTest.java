package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * What DS's failure text of a component says (ConfigurationCheck, the runtime's --config-dir
 * check, reports it): the exception's message, and whether the values were refused.
 */
class ComponentStatesTest {

    private static final String TRACE = "java.lang.IllegalArgumentException: snapshot 's1': chunkSectors 7 is not a "
            + "power of two\n\tat org.kcopyd.snapshot.internal.SnapshotComponent.activate(SnapshotComponent.java:50)\n";

    @Test
    void failureTextsGiveTheMessageAndWhetherValuesWereRefused() {
        assertThat(ComponentStates.failureMessage(TRACE))
                .isEqualTo("snapshot 's1': chunkSectors 7 is not a power of two");
        assertThat(ComponentStates.isRefusal(TRACE)).isTrue();
        assertThat(ComponentStates.isRefusal("java.io.IOException: disk full\n")).isFalse();
        assertThat(ComponentStates.failureMessage("java.io.IOException\n\tat x\n")).isEqualTo("IOException");
        assertThat(ComponentStates.failureMessage(null)).contains("without a reason");
    }
}
