package org.kcopyd.api;

import java.util.Objects;

/**
 * A run of sectors of a device and what the device knows of its content: the answer of
 * {@link BlockDevice#extents(long, long)}.
 *
 * <p>Validated when built: {@code sector >= 0}, {@code count >= 1}, {@code sector + count} does
 * not overflow; errors are {@link IllegalArgumentException}s naming the bad value. Immutable and
 * thread-safe.
 *
 * @param sector the first sector, in 512-byte sectors from the start of the device
 * @param count  the number of 512-byte sectors, at least 1
 * @param type   what the run holds
 * @since 1.2.0
 */
public record Extent(long sector, long count, Type type) {

    /** What a run of sectors holds, as far as the device knows. */
    public enum Type {
        /** Data, or unknown: reads must be done to learn the content. */
        DATA,
        /** Allocated, but reads return zeros (an unwritten or zeroed extent). */
        ZERO,
        /** Not allocated: a hole; reads return zeros (NBD's {@code NBD_STATE_HOLE|NBD_STATE_ZERO}). */
        HOLE;

        /** @return true if reads of such a run return zeros ({@link #ZERO} and {@link #HOLE}) */
        public boolean readsAsZeros() {
            return this != DATA;
        }
    }

    /** Validates the run as described in the class documentation. */
    public Extent {
        Objects.requireNonNull(type, "type is null");
        if (sector < 0) {
            throw new IllegalArgumentException("extent start sector " + sector + " is negative");
        }
        if (count < 1) {
            throw new IllegalArgumentException("extent sector count " + count + " is below the minimum 1");
        }
        if (sector > Long.MAX_VALUE - count) {
            throw new IllegalArgumentException("extent of " + count + " sectors at sector " + sector
                    + " overflows a 64-bit sector number");
        }
    }

    /** @return the first sector after the run ({@code sector + count}) */
    public long endSector() {
        return sector + count;
    }

    @Override
    public String toString() {
        return type + "[" + sector + ", " + endSector() + ")";
    }
}
