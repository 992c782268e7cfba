package org.kcopyd.nbd.internal.osgi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.nbd.internal.client.ReadOnlyDevice;
import org.kcopyd.testdevices.Forwarding;

/**
 * The provider's device opened without READ_WRITE passes every {@link BlockDevice} method on but
 * those that would write (a method the API gains fails here until it is decided): its extents and
 * offload as a source included. It refuses writes, write-zeroes and discards with an IOException
 * naming the device, claims support for neither, and leaves the device unchanged.
 */
class ReadOnlyDeviceTest {

    @Test
    void everyMethodButThoseThatWriteIsPassedOnToTheDevice() {
        String refused = "refused with an IOException: the device was opened without READ_WRITE";
        String claimsNone = "false: the operation is refused on this device, whatever the device supports";

        List<String> checked = Forwarding.assertForwards(ReadOnlyDevice::new, Map.of(
                "isReadOnly", "true: the device was opened without READ_WRITE",
                "write", refused, "writeZeroes", refused, "discard", refused, "writeTail", refused,
                "supportsWriteZeroes", claimsNone, "supportsDiscard", claimsNone));

        assertThat(checked).containsExactly("canOffloadTo(BlockDevice)", "close()", "extents(long, long)", "flush()",
                "isNonBlocking()", "minimumBlockBytes()", "name()", "offloadBeatsPagesTo(BlockDevice)",
                "offloadTo(long, long, BlockDevice, long)", "read(long, ByteBuffer)", "readTail(ByteBuffer)",
                "requiresSequentialWrites()", "sizeInSectors()", "tailBytes()", "whenLost()");
    }

    @Test
    void writesWriteZeroesAndDiscardsAreRefusedAndNotClaimed() throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("m", 16);
        OsgiFixture.write(memory, 0, filled(512));
        assertThat(memory.supportsWriteZeroes()).isTrue();
        BlockDevice readOnly = new ReadOnlyDevice(memory);

        assertThat(readOnly.isReadOnly()).isTrue();
        assertThat(readOnly.supportsWriteZeroes()).isFalse();
        assertThat(readOnly.supportsDiscard()).isFalse();
        assertThatThrownBy(() -> OsgiFixture.write(readOnly, 0, new byte[512]))
                .hasRootCauseInstanceOf(IOException.class).hasRootCauseMessage("write refused: m was opened read-only");
        assertThatThrownBy(() -> readOnly.writeZeroes(0, 1).toCompletableFuture().get(10, TimeUnit.SECONDS))
                .hasRootCauseInstanceOf(IOException.class)
                .hasRootCauseMessage("write-zeroes refused: m was opened read-only");
        assertThatThrownBy(() -> readOnly.discard(0, 1).toCompletableFuture().get(10, TimeUnit.SECONDS))
                .hasRootCauseInstanceOf(IOException.class).hasRootCauseMessage("discard refused: m was opened read-only");
        assertThat(OsgiFixture.read(memory, 0, 512)).isEqualTo(filled(512));
    }

    private static byte[] filled(int n) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) 0x3c);
        return b;
    }
}
