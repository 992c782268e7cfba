package org.kcopyd.impl.osgi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.testdevices.Forwarding;
import org.kcopyd.testdevices.ForwardingDevice;

/**
 * The opener's wrapper of a provider's device passes every {@link BlockDevice} method on, and
 * answers as the device does (a method the API gains fails here until it is forwarded); an owned
 * destination reaches the provider's device unwrapped in the offload methods; closing tells the
 * opener even when the device's close fails.
 */
class OwnedDeviceTest {

    @Test
    void everyMethodOfTheInterfaceIsPassedOnToTheProvidersDevice() {
        List<OwnedDevice> closed = new CopyOnWriteArrayList<>();

        List<String> checked = Forwarding.assertForwards(device -> new OwnedDevice(device, closed::add), Map.of());

        assertThat(checked).contains("extents(long, long)", "canOffloadTo(BlockDevice)",
                "offloadBeatsPagesTo(BlockDevice)", "offloadTo(long, long, BlockDevice, long)", "whenLost()", "close()");
        assertThat(closed).as("each close told the opener, the failed one too").hasSize(2);
    }

    /** A provider's device that offloads only to one device of its own, and records what it was offered. */
    private static final class OffloadingDevice extends ForwardingDevice {
        final List<BlockDevice> offered = new CopyOnWriteArrayList<>();
        private final BlockDevice partner;

        OffloadingDevice(BlockDevice partner) {
            super(new MemoryBlockDevice("provider source", 64));
            this.partner = partner;
        }

        @Override
        public boolean canOffloadTo(BlockDevice destination) {
            offered.add(destination);
            return destination == partner;
        }

        @Override
        public boolean offloadBeatsPagesTo(BlockDevice destination) {
            offered.add(destination);
            return destination == partner;
        }

        @Override
        public CompletionStage<Void> offloadTo(long sector, long count, BlockDevice destination, long destSector) {
            offered.add(destination);
            return destination == partner ? CompletableFuture.completedFuture(null)
                    : CompletableFuture.failedFuture(new UnsupportedOperationException("not my kind: "
                            + destination.name()));
        }
    }

    @Test
    void anOwnedDestinationIsOfferedToTheProvidersDeviceUnwrappedAnyOtherAsItIs() throws Exception {
        MemoryBlockDevice partner = new MemoryBlockDevice("provider destination", 64);
        OffloadingDevice provided = new OffloadingDevice(partner);
        OwnedDevice source = new OwnedDevice(provided, d -> { });
        OwnedDevice ownedDestination = new OwnedDevice(partner, d -> { });
        MemoryBlockDevice other = new MemoryBlockDevice("other", 64);

        assertThat(source.canOffloadTo(ownedDestination)).isTrue();
        assertThat(source.offloadBeatsPagesTo(ownedDestination)).isTrue();
        source.offloadTo(0, 8, ownedDestination, 8).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(source.canOffloadTo(other)).isFalse();
        assertThatThrownBy(() -> source.offloadTo(0, 8, other, 0).toCompletableFuture().get(10, TimeUnit.SECONDS))
                .hasRootCauseMessage("not my kind: other");

        assertThat(provided.offered).containsExactly(partner, partner, partner, other, other);
    }

    @Test
    void closingTellsTheOpenerAlsoWhenTheDevicesCloseFails() {
        List<OwnedDevice> closed = new CopyOnWriteArrayList<>();
        OwnedDevice owned = new OwnedDevice(new ForwardingDevice(new MemoryBlockDevice("m", 8)) {
            @Override
            public void close() throws IOException {
                throw new IOException("close of m failed");
            }
        }, closed::add);

        assertThatThrownBy(owned::close).isInstanceOf(IOException.class).hasMessage("close of m failed");
        assertThat(closed).containsExactly(owned);
    }

    @Test
    void ownedDevicesAreEqualWhenTheProvidersDevicesAreSoThatJobsSeeTheirOverlaps() {
        MemoryBlockDevice storage = new MemoryBlockDevice("export", 64);
        OwnedDevice first = new OwnedDevice(new SameStorage(storage), d -> { });
        OwnedDevice second = new OwnedDevice(new SameStorage(storage), d -> { });
        OwnedDevice other = new OwnedDevice(new SameStorage(new MemoryBlockDevice("other", 64)), d -> { });

        assertThat(second).isEqualTo(first).hasSameHashCodeAs(first);
        assertThat(other).isNotEqualTo(first);
        assertThat(org.kcopyd.api.IoRegion.of(first, 0, 8).overlaps(org.kcopyd.api.IoRegion.of(second, 4, 8))).isTrue();
        assertThat(first).as("not equal to a device that is not owned").isNotEqualTo(new SameStorage(storage));
    }

    /** A provider's device equal to another over the same storage, as two opens of one NBD export are. */
    private static final class SameStorage extends ForwardingDevice {
        SameStorage(BlockDevice storage) {
            super(storage);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof SameStorage other && other.inner == inner;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(inner);
        }
    }
}
