package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.BlockIo;

/**
 * The persistent exception store on a COW device: which origin chunk is held in which COW
 * chunk, as dm-snapshot's persistent store keeps it.
 *
 * <p>Layout, in chunks of {@code chunkSectors}: chunk 0 is the header (magic, version, valid
 * and merging flags, chunk size, origin size, reason for invalidity); then areas of one
 * metadata chunk followed by E data chunks, E being the number of 16-byte entries
 * (old chunk, new chunk) a metadata chunk holds. An entry is written, in one sector, and the
 * device flushed, only after its data chunk is durable; a zero "new chunk" is a free slot. So a
 * process killed at any moment leaves a store whose entries all point at complete copies;
 * slots that were allocated but never committed are holes, skipped on load.
 *
 * <p>Thread-safe: mutations are serialized; lookups are lock-free.
 */
final class CowStore {

    static final long MAGIC = 0x4b43504453534e50L;
    static final int VERSION = 1;
    private static final int SECTOR = BlockDevice.SECTOR_SIZE;
    private static final int ENTRY = 16;

    private final BlockDevice device;
    private final int chunkSectors;
    private final int perArea;
    private final long totalChunks;
    private final long originSectors;
    private final Map<Long, Long> chunks = new ConcurrentHashMap<>();
    private final Map<Long, Long> slots = new ConcurrentHashMap<>();
    private long nextSlot;
    private volatile boolean valid = true;
    private volatile boolean merging;
    private volatile String invalidReason;

    private CowStore(BlockDevice device, int chunkSectors, long originSectors) {
        this.device = device;
        this.chunkSectors = chunkSectors;
        this.perArea = chunkSectors * SECTOR / ENTRY;
        this.totalChunks = device.sizeInSectors() / chunkSectors;
        this.originSectors = originSectors;
    }

    /**
     * Opens the store on a COW device: loads it if it has a header, else starts an empty one.
     *
     * @throws IOException if the device cannot be read or holds a store of another shape
     */
    static CowStore open(BlockDevice device, int chunkSectors, long originSectors) throws IOException {
        CowStore store = new CowStore(device, chunkSectors, originSectors);
        if (store.totalChunks < 3) {
            throw new IOException("COW store " + device.name() + " holds " + store.totalChunks
                    + " chunks of " + chunkSectors + " sectors; at least 3 are needed");
        }
        ByteBuffer header = store.readSectors(0, 1);
        long magic = header.getLong(0);
        if (magic == 0) {
            store.writeHeader();
        } else {
            store.load(header);
        }
        return store;
    }

    private void load(ByteBuffer header) throws IOException {
        if (header.getLong(0) != MAGIC) {
            throw new IOException(device.name() + " is not a kcopyd COW store (bad magic)");
        }
        int version = header.getInt(8);
        if (version != VERSION) {
            throw new IOException(device.name() + " has COW store version " + version + ", this bundle reads "
                    + VERSION);
        }
        int storedChunk = header.getInt(16);
        if (storedChunk != chunkSectors) {
            throw new IOException(device.name() + " was made with chunks of " + storedChunk
                    + " sectors, not the configured " + chunkSectors);
        }
        long storedOrigin = header.getLong(24);
        if (storedOrigin != originSectors) {
            throw new IOException(device.name() + " belongs to an origin of " + storedOrigin
                    + " sectors, not " + originSectors);
        }
        valid = header.getInt(12) == 1;
        merging = header.getInt(20) == 1;
        int reasonLength = header.getInt(32);
        if (reasonLength > 0) {
            byte[] reason = new byte[Math.min(reasonLength, SECTOR - 36)];
            header.get(36, reason);
            invalidReason = new String(reason, StandardCharsets.UTF_8);
        }
        long slot = 0;
        for (long area = 0; metadataChunk(area) < totalChunks; area++) {
            ByteBuffer meta = readSectors(metadataChunk(area) * chunkSectors, chunkSectors);
            for (int i = 0; i < perArea; i++, slot++) {
                long oldChunk = meta.getLong(i * ENTRY);
                long newChunk = meta.getLong(i * ENTRY + 8);
                if (newChunk != 0) {
                    chunks.put(oldChunk, newChunk);
                    slots.put(oldChunk, slot);
                    nextSlot = slot + 1;
                }
            }
        }
    }

    private long metadataChunk(long area) {
        return 1 + area * (perArea + 1L);
    }

    /** @return the COW chunk of entry slot {@code slot} */
    long dataChunk(long slot) {
        return metadataChunk(slot / perArea) + 1 + slot % perArea;
    }

    private ByteBuffer readSectors(long sector, int count) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(count * SECTOR).order(ByteOrder.LITTLE_ENDIAN);
        BlockIo.await(device.read(sector, b));
        return b.clear();
    }

    private void writeSector(long sector, ByteBuffer b) throws IOException {
        BlockIo.await(device.write(sector, b.clear()));
        BlockIo.await(device.flush());
    }

    private synchronized void writeHeader() throws IOException {
        ByteBuffer h = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
        h.putLong(0, MAGIC).putInt(8, VERSION).putInt(12, valid ? 1 : 0).putInt(16, chunkSectors)
                .putInt(20, merging ? 1 : 0).putLong(24, originSectors);
        if (invalidReason != null) {
            byte[] reason = invalidReason.getBytes(StandardCharsets.UTF_8);
            int n = Math.min(reason.length, SECTOR - 36);
            h.putInt(32, n).put(36, reason, 0, n);
        }
        writeSector(0, h);
    }

    int chunkSectors() {
        return chunkSectors;
    }

    BlockDevice device() {
        return device;
    }

    /** @return the COW chunk holding origin chunk {@code chunk}, or null if it was never copied */
    Long lookup(long chunk) {
        return chunks.get(chunk);
    }

    long used() {
        return chunks.size();
    }

    long capacity() {
        long areas = (totalChunks - 1) / (perArea + 1L);
        long rest = (totalChunks - 1) % (perArea + 1L);
        return areas * perArea + Math.max(0, rest - 1);
    }

    boolean isValid() {
        return valid;
    }

    boolean isMerging() {
        return merging;
    }

    String invalidReason() {
        return invalidReason;
    }

    /** @return origin chunks held, in no particular order */
    List<Long> heldChunks() {
        return new ArrayList<>(chunks.keySet());
    }

    /** @return a free slot, or -1 when the store is full */
    synchronized long allocate() {
        if (nextSlot >= capacity()) {
            return -1;
        }
        return nextSlot++;
    }

    /** Records that origin chunk {@code chunk} is held in slot {@code slot}'s data chunk, durably. */
    synchronized void commit(long chunk, long slot) throws IOException {
        writeEntry(slot, chunk, dataChunk(slot));
        chunks.put(chunk, dataChunk(slot));
        slots.put(chunk, slot);
    }

    /** Forgets origin chunk {@code chunk} (merged back), durably. */
    synchronized void remove(long chunk) throws IOException {
        Long slot = slots.get(chunk);
        if (slot == null) {
            return;
        }
        writeEntry(slot, 0, 0);
        chunks.remove(chunk);
        slots.remove(chunk);
    }

    private void writeEntry(long slot, long oldChunk, long newChunk) throws IOException {
        long byteInArea = (slot % perArea) * ENTRY;
        long sector = metadataChunk(slot / perArea) * chunkSectors + byteInArea / SECTOR;
        ByteBuffer b = readSectors(sector, 1);
        int at = (int) (byteInArea % SECTOR);
        b.putLong(at, oldChunk).putLong(at + 8, newChunk);
        writeSector(sector, b);
    }

    synchronized void setMerging(boolean on) throws IOException {
        merging = on;
        writeHeader();
    }

    /** Empties the store after a merge: every slot is free again. */
    synchronized void reset() throws IOException {
        for (long slot : new ArrayList<>(slots.values())) {
            writeEntry(slot, 0, 0);
        }
        chunks.clear();
        slots.clear();
        nextSlot = 0;
    }

    /** Marks the store invalid, durably if the device still takes writes. */
    synchronized void invalidate(String reason) {
        if (!valid) {
            return;
        }
        valid = false;
        invalidReason = reason;
        try {
            writeHeader();
        } catch (IOException e) {
            invalidReason = reason + " (and the COW header could not be written: " + e.getMessage() + ")";
        }
    }
}
