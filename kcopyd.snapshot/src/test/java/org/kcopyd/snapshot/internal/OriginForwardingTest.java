package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.ClientBinding;
import org.kcopyd.testdevices.Forwarding;

/**
 * The origin device with no snapshot attached is its device: reads, writes, flushes and block
 * status go straight to it. Every other {@link org.kcopyd.api.BlockDevice} method is named with why
 * the origin answers it itself (each one would let data reach or leave the origin's device
 * without the copy-on-write or the merge seeing it), so that a method the API gains fails this
 * test until someone decides whether an origin may pass it on.
 */
class OriginForwardingTest {

    @Test
    void anOriginWithoutSnapshotsPassesOnReadsWritesFlushesAndBlockStatus() {
        String copyFirst = "a write of any kind must copy the chunks the snapshots still need first: zeros and "
                + "discards go through write(), by the engine's fallback";
        String tail = "an origin with bytes past its last whole sector is refused (no snapshot would keep them): an "
                + "origin has none";
        String merged = "while a snapshot merges, the origin's data is partly in the COW store: the kernel must "
                + "not read the device behind the merge's back";
        List<String> checked = Forwarding.assertForwards(
                device -> new Origin(device, new ClientBinding(factory -> null), SnapshotFixture.WAIT, 4),
                Map.ofEntries(
                        Map.entry("isReadOnly", "the component opens every origin read-write, and writes go through "
                                + "the origin"),
                        Map.entry("close", "the origin's device is closed by Origins, after the last snapshot left"),
                        Map.entry("supportsWriteZeroes", copyFirst), Map.entry("writeZeroes", copyFirst),
                        Map.entry("supportsDiscard", copyFirst), Map.entry("discard", copyFirst),
                        Map.entry("requiresSequentialWrites", "copy-on-write writes chunks to the origin in any "
                                + "order; origins are files, disks and NBD exports"),
                        Map.entry("canOffloadTo", merged), Map.entry("offloadBeatsPagesTo", merged),
                        Map.entry("offloadTo", merged),
                        Map.entry("isNonBlocking", "false: a write waits for the chunks it overwrites to be copied "
                                + "to every snapshot's COW store"),
                        Map.entry("tailBytes", tail), Map.entry("readTail", tail), Map.entry("writeTail", tail)));
        assertThat(checked).containsExactly("extents(long, long)", "flush()", "minimumBlockBytes()", "name()",
                "read(long, ByteBuffer)", "sizeInSectors()", "whenLost()", "write(long, ByteBuffer)");
    }
}
