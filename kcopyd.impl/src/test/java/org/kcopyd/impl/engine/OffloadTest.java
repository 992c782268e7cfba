package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * {@link Offload}'s decision, asked through the API alone ({@link BlockDevice#canOffloadTo},
 * {@link BlockDevice#offloadBeatsPagesTo}): by default a source that accepts a destination is
 * offloaded from only if it also advises it, a device that gives no advice (the API's default)
 * never; {@code OFFLOAD_ALWAYS} offloads wherever the source accepts, {@code NO_OFFLOAD} nowhere;
 * a wrapper that passes the advice on (the tests' counting device) advises as the device it wraps.
 */
class OffloadTest {

    private final BlockDevice destination = new MemoryBlockDevice("destination", 8);

    /** A device of any bundle: accepts {@code destination} and advises {@code advice}, or gives no advice (null). */
    private BlockDevice source(Boolean advice) {
        return new ForwardingDevice(new MemoryBlockDevice("source", 8)) {
            @Override
            public boolean canOffloadTo(BlockDevice d) {
                return d == destination;
            }

            @Override
            public boolean offloadBeatsPagesTo(BlockDevice d) {
                return advice == null ? super.offloadBeatsPagesTo(d) : advice && d == destination;
            }
        };
    }

    @Test
    void byDefaultOnlyAnAdvisingSourceIsOffloadedFrom() {
        assertThat(Offload.of(Set.of())).isEqualTo(Offload.AUTO);
        assertThat(Offload.AUTO.offloads(source(true), destination)).isTrue();
        assertThat(Offload.AUTO.offloads(source(false), destination)).isFalse();
        assertThat(Offload.AUTO.offloads(source(null), destination)).as("no advice: the API's default").isFalse();
    }

    @Test
    void adviceWithoutAcceptanceIsNotEnough() {
        BlockDevice other = new MemoryBlockDevice("other", 8);
        assertThat(source(true).canOffloadTo(other)).isFalse();
        assertThat(Offload.AUTO.offloads(source(true), other)).isFalse();
        assertThat(Offload.ALWAYS.offloads(source(true), other)).isFalse();
    }

    @Test
    void alwaysIgnoresTheAdviceAndNeverOffloadsNothing() {
        assertThat(Offload.of(EnumSet.of(CopyFlag.OFFLOAD_ALWAYS))).isEqualTo(Offload.ALWAYS);
        assertThat(Offload.of(EnumSet.of(CopyFlag.NO_OFFLOAD))).isEqualTo(Offload.NEVER);
        for (Boolean advice : new Boolean[] {true, false, null}) {
            assertThat(Offload.ALWAYS.offloads(source(advice), destination)).as("advice " + advice).isTrue();
            assertThat(Offload.NEVER.offloads(source(advice), destination)).as("advice " + advice).isFalse();
        }
        assertThatThrownBy(() -> Offload.of(EnumSet.of(CopyFlag.OFFLOAD_ALWAYS, CopyFlag.NO_OFFLOAD)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NO_OFFLOAD")
                .hasMessageContaining("OFFLOAD_ALWAYS");
    }

    @Test
    void aWrapperThatPassesOffloadOnPassesTheAdviceOn() {
        assertThat(new OffloadCountingDevice(source(true)).offloadBeatsPagesTo(destination)).isTrue();
        assertThat(Offload.AUTO.offloads(new OffloadCountingDevice(source(true)), destination)).isTrue();
        assertThat(new OffloadCountingDevice(source(false)).offloadBeatsPagesTo(destination)).isFalse();
        assertThat(Offload.AUTO.offloads(new OffloadCountingDevice(source(null)), destination)).isFalse();
        assertThat(new OffloadCountingDevice(source(false)).advise(true).offloadBeatsPagesTo(destination))
                .as("the counting device's own override").isTrue();
    }
}
