package org.kcopyd.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;

import org.junit.jupiter.api.Test;

/** {@link CopyResult}: the incomplete destinations derived or given, cancelled results, their checks. */
class CopyResultTest {

    private static final IOException FAILED = new IOException("failed");

    @Test
    void thePlainFactoriesDeriveTheIncompleteDestinationsFromTheFailures() {
        assertThat(CopyResult.of(2, null, null, null).incompleteDestinations()).isZero();
        assertThat(CopyResult.of(3, null, null, FAILED, null).incompleteDestinations()).isEqualTo(0b010);
        assertThat(CopyResult.of(3, FAILED, null, null, null).incompleteDestinations()).isEqualTo(0b111);
        assertThat(CopyResult.of(64, FAILED, new Throwable[64]).incompleteDestinations()).isEqualTo(-1L);
        assertThat(CopyResult.ofFlags(false, 0b100).incompleteDestinations()).isEqualTo(0b100);
        assertThat(CopyResult.of(2, null, null, null).cancelled()).isFalse();
    }

    @Test
    void aCancelledResultIsNoSuccessAndSaysWhichDestinationsAreIncomplete() {
        CopyResult r = CopyResult.of(2, null, new Throwable[2], true, 0b11);
        assertThat(r.cancelled()).isTrue();
        assertThat(r.isSuccess()).isFalse();
        assertThat(r.readError()).isFalse();
        assertThat(r.writeErrors()).isZero();
        assertThat(r.destinationIncomplete(1)).isTrue();
        assertThat(r.destinationIncomplete(2)).isFalse();
        assertThat(r).isNotEqualTo(CopyResult.of(2, null, null, null))
                .isEqualTo(CopyResult.of(2, null, new Throwable[2], true, 0b11))
                .hasSameHashCodeAs(CopyResult.of(2, null, new Throwable[2], true, 0b11));
        assertThat(r.toString()).isEqualTo("CopyResult[cancelled; incomplete 0x3]");
    }

    @Test
    void incompleteBitsThatContradictTheFailuresAreRefused() {
        assertThatThrownBy(() -> CopyResult.of(2, null, new Throwable[] {null, FAILED}, false, 0b01))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("incomplete destinations 0x1 leave out failed destinations 0x2");
        assertThatThrownBy(() -> CopyResult.of(2, FAILED, new Throwable[2], false, 0b01))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("a read failure leaves every destination incomplete");
        assertThatThrownBy(() -> CopyResult.of(2, null, new Throwable[2], true, 0b100))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("incomplete destinations 0x4 name a destination past the last of 2");
    }
}
