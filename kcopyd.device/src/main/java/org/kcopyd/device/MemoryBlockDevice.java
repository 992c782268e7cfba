package org.kcopyd.device;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.kcopyd.api.BlockDevice;

/**
 * A block device in heap memory, sparse: storage is allocated in 1 MiB segments on first write,
 * and unwritten, zeroed or discarded segments read as zeros. Supports write-zeroes and discard.
 * Thread-safe for concurrent requests; overlapping concurrent writes race, as on a real disk.
 */
public final class MemoryBlockDevice implements BlockDevice {

    private static final int SEGMENT_SHIFT = 20;
    private static final int SEGMENT = 1 << SEGMENT_SHIFT;
    private static final CompletionStage<Void> DONE = CompletableFuture.completedStage(null);

    private final String name;
    private final long sectors;
    private final boolean readOnly;
    private final AtomicReferenceArray<byte[]> segments;

    /**
     * @param name          a name for messages
     * @param sizeInSectors size in 512-byte sectors, at least 1
     */
    public MemoryBlockDevice(String name, long sizeInSectors) {
        this(name, sizeInSectors, false);
    }

    private MemoryBlockDevice(String name, long sizeInSectors, boolean readOnly) {
        if (sizeInSectors < 1) {
            throw new IllegalArgumentException("size " + sizeInSectors + " sectors is below the minimum 1");
        }
        long bytes = sizeInSectors * SECTOR_SIZE;
        long count = (bytes + SEGMENT - 1) >>> SEGMENT_SHIFT;
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("size " + sizeInSectors + " sectors is too large for memory");
        }
        this.name = name;
        this.sectors = sizeInSectors;
        this.readOnly = readOnly;
        this.segments = new AtomicReferenceArray<>((int) count);
    }

    private MemoryBlockDevice(MemoryBlockDevice shared) {
        this.name = shared.name + " (read-only)";
        this.sectors = shared.sectors;
        this.readOnly = true;
        this.segments = shared.segments;
    }

    /** @return a read-only view sharing this device's data */
    public MemoryBlockDevice readOnlyView() {
        return new MemoryBlockDevice(this);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long sizeInSectors() {
        return sectors;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    private IOException checkRange(long sector, long bytes) {
        if (sector < 0 || bytes % SECTOR_SIZE != 0 || sector + bytes / SECTOR_SIZE > sectors) {
            return new IOException("request of " + bytes + " bytes at sector " + sector + " is outside device '"
                    + name + "' of " + sectors + " sectors");
        }
        return null;
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        IOException bad = checkRange(sector, dst.remaining());
        if (bad != null) {
            return CompletableFuture.failedStage(bad);
        }
        long pos = sector * SECTOR_SIZE;
        while (dst.hasRemaining()) {
            int index = (int) (pos >>> SEGMENT_SHIFT);
            int offset = (int) (pos & (SEGMENT - 1));
            int n = Math.min(dst.remaining(), SEGMENT - offset);
            byte[] segment = segments.get(index);
            if (segment == null) {
                int end = dst.position() + n;
                while (dst.position() < end) {
                    dst.put((byte) 0);
                }
            } else {
                dst.put(segment, offset, n);
            }
            pos += n;
        }
        return DONE;
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        if (readOnly) {
            return CompletableFuture.failedStage(new IOException("device '" + name + "' is read-only"));
        }
        IOException bad = checkRange(sector, src.remaining());
        if (bad != null) {
            return CompletableFuture.failedStage(bad);
        }
        long pos = sector * SECTOR_SIZE;
        while (src.hasRemaining()) {
            int index = (int) (pos >>> SEGMENT_SHIFT);
            int offset = (int) (pos & (SEGMENT - 1));
            int n = Math.min(src.remaining(), SEGMENT - offset);
            src.get(segment(index), offset, n);
            pos += n;
        }
        return DONE;
    }

    private byte[] segment(int index) {
        byte[] segment = segments.get(index);
        if (segment == null) {
            segments.compareAndSet(index, null, new byte[SEGMENT]);
            segment = segments.get(index);
        }
        return segment;
    }

    @Override
    public CompletionStage<Void> flush() {
        return DONE;
    }

    @Override
    public boolean supportsWriteZeroes() {
        return true;
    }

    @Override
    public CompletionStage<Void> writeZeroes(long sector, long count) {
        if (readOnly) {
            return CompletableFuture.failedStage(new IOException("device '" + name + "' is read-only"));
        }
        IOException bad = checkRange(sector, count * SECTOR_SIZE);
        if (bad != null) {
            return CompletableFuture.failedStage(bad);
        }
        long pos = sector * SECTOR_SIZE;
        long end = pos + count * SECTOR_SIZE;
        while (pos < end) {
            int index = (int) (pos >>> SEGMENT_SHIFT);
            int offset = (int) (pos & (SEGMENT - 1));
            int n = (int) Math.min(end - pos, SEGMENT - offset);
            byte[] segment = segments.get(index);
            if (segment != null) {
                if (n == SEGMENT) {
                    segments.set(index, null);
                } else {
                    Arrays.fill(segment, offset, offset + n, (byte) 0);
                }
            }
            pos += n;
        }
        return DONE;
    }

    @Override
    public boolean supportsDiscard() {
        return true;
    }

    /** Discarded sectors read back as zeros. */
    @Override
    public CompletionStage<Void> discard(long sector, long count) {
        return writeZeroes(sector, count);
    }

    @Override
    public String toString() {
        return "MemoryBlockDevice[" + name + ", " + sectors + " sectors]";
    }
}
