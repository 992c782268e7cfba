package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.device.KcopydHeaders.Header;
import org.kcopyd.device.KcopydHeaders.Kind;

/**
 * {@link KcopydHeaders}: a COW store's magic at sector 0, a region log's at sector 0 or in its
 * second copy (sector 32, or 16 in version 2) are recognised with what they record; zeros, other
 * data and files too short for a header are nothing; nothing is written.
 */
class KcopydHeadersTest {

    private static final UUID ID = UUID.fromString("0f8f2c4e-1b2a-4c3d-9e8f-112233445566");

    private static MemoryBlockDevice device(long sectors) {
        return new MemoryBlockDevice("d", sectors);
    }

    private static void header(MemoryBlockDevice d, long sector, long magic, int version, String mirror)
            throws IOException {
        ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN).putLong(0, magic).putInt(8, version)
                .putLong(32, ID.getMostSignificantBits()).putLong(40, ID.getLeastSignificantBits());
        if (mirror != null) {
            byte[] name = mirror.getBytes(StandardCharsets.UTF_8);
            b.putInt(56, name.length).put(60, name);
        }
        BlockIo.await(d.write(sector, b));
    }

    @Test
    void aCowStoreIsRecognisedAtSectorZero() throws IOException {
        MemoryBlockDevice d = device(128);
        header(d, 0, KcopydHeaders.COW_STORE_MAGIC, 3, null);
        assertThat(KcopydHeaders.read(d)).containsExactly(new Header(Kind.COW_STORE, 0, 3, ID, null));
        assertThat(KcopydHeaders.find(d, Kind.COW_STORE).describe())
                .isEqualTo("a kcopyd COW store (cowStoreId " + ID + ")");
        assertThat(KcopydHeaders.find(d, Kind.REGION_LOG)).isNull();
    }

    @Test
    void aRegionLogIsRecognisedByEitherCopy() throws IOException {
        MemoryBlockDevice first = device(128);
        header(first, 0, KcopydHeaders.REGION_LOG_MAGIC, 3, "m1");
        assertThat(KcopydHeaders.find(first, Kind.REGION_LOG).describe())
                .isEqualTo("the region log of mirror 'm1' (regionLogId " + ID + ")");

        MemoryBlockDevice second = device(128);
        header(second, KcopydHeaders.REGION_LOG_COPY_2, KcopydHeaders.REGION_LOG_MAGIC, 3, "m1");
        assertThat(KcopydHeaders.read(second))
                .containsExactly(new Header(Kind.REGION_LOG, KcopydHeaders.REGION_LOG_COPY_2, 3, ID, "m1"));

        MemoryBlockDevice v2 = device(128);
        header(v2, KcopydHeaders.REGION_LOG_V2_COPY_2, KcopydHeaders.REGION_LOG_MAGIC, 2, "old");
        assertThat(KcopydHeaders.find(v2, Kind.REGION_LOG).mirror()).isEqualTo("old");
    }

    @Test
    void aStoreOverALogCopyIsBoth() throws IOException {
        MemoryBlockDevice d = device(128);
        header(d, KcopydHeaders.REGION_LOG_COPY_2, KcopydHeaders.REGION_LOG_MAGIC, 3, "m1");
        header(d, 0, KcopydHeaders.COW_STORE_MAGIC, 3, null);
        assertThat(KcopydHeaders.read(d)).extracting(Header::kind).containsExactly(Kind.COW_STORE, Kind.REGION_LOG);
    }

    @Test
    void anUnknownVersionIsStillKcopydsButRecordsNothingKnown() throws IOException {
        MemoryBlockDevice d = device(128);
        header(d, 0, KcopydHeaders.REGION_LOG_MAGIC, 9, "m1");
        Header h = KcopydHeaders.find(d, Kind.REGION_LOG);
        assertThat(h.id()).isNull();
        assertThat(h.describe()).isEqualTo("a kcopyd region log header (version 9, at sector 0)");
        assertThat(h.erasure()).isEqualTo("zero its first 64 sectors, its two header copies");
    }

    @Test
    void zerosOtherDataAndShortFilesHoldNoHeader() throws IOException {
        assertThat(KcopydHeaders.read(device(128))).isEmpty();
        assertThat(KcopydHeaders.read(device(20))).isEmpty();
        MemoryBlockDevice other = device(16);
        BlockIo.await(other.write(0, ByteBuffer.wrap("just some data".repeat(40).getBytes(StandardCharsets.UTF_8),
                0, 512)));
        assertThat(KcopydHeaders.read(other)).isEmpty();
        // Copy 2 of a version 2 log counts only with version 2: anything else there is data.
        MemoryBlockDevice data = device(128);
        header(data, KcopydHeaders.REGION_LOG_V2_COPY_2, KcopydHeaders.REGION_LOG_MAGIC, 3, "m1");
        assertThat(KcopydHeaders.read(data)).isEmpty();
    }

    /** A file read directly finds what its device finds, wherever it ends; it is not written. */
    @Test
    void aFileReadDirectlyHoldsWhatItsDeviceHolds(@TempDir Path dir) throws IOException {
        MemoryBlockDevice store = device(64);
        header(store, 0, KcopydHeaders.COW_STORE_MAGIC, 3, null);
        Path storeFile = file(dir.resolve("store"), store, 64 * 512);
        assertThat(KcopydHeaders.read(storeFile)).containsExactly(new Header(Kind.COW_STORE, 0, 3, ID, null));
        assertThat(KcopydHeaders.read(file(dir.resolve("odd"), store, 1000))).as("not whole sectors")
                .containsExactly(new Header(Kind.COW_STORE, 0, 3, ID, null));

        MemoryBlockDevice log = device(64);
        header(log, KcopydHeaders.REGION_LOG_COPY_2, KcopydHeaders.REGION_LOG_MAGIC, 3, "m1");
        assertThat(KcopydHeaders.read(file(dir.resolve("log"), log, 33 * 512)))
                .containsExactly(new Header(Kind.REGION_LOG, KcopydHeaders.REGION_LOG_COPY_2, 3, ID, "m1"));
        assertThat(KcopydHeaders.read(file(dir.resolve("short"), log, 32 * 512 + 511))).as("ends inside copy 2")
                .isEmpty();
        assertThat(KcopydHeaders.read(Files.createFile(dir.resolve("empty")))).isEmpty();
        assertThat(Files.readAllBytes(storeFile)).as("nothing written").isEqualTo(bytes(store, 64 * 512));
        assertThatThrownBy(() -> KcopydHeaders.read(dir.resolve("missing"))).isInstanceOf(NoSuchFileException.class);
    }

    private static byte[] bytes(MemoryBlockDevice d, int length) throws IOException {
        ByteBuffer all = ByteBuffer.allocate((int) d.sizeInSectors() * 512);
        BlockIo.await(d.read(0, all));
        return Arrays.copyOf(all.array(), length);
    }

    private static Path file(Path path, MemoryBlockDevice d, int length) throws IOException {
        return Files.write(path, bytes(d, length));
    }
}
