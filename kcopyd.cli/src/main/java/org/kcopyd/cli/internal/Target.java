package org.kcopyd.cli.internal;

import org.kcopyd.api.BlockDevice;

/**
 * One destination region of a job, in bytes: whole sectors for the engine, then a tail of less
 * than a sector that the command writes itself (a regular file's size need not be whole sectors).
 *
 * @param spec      the argument
 * @param operand   the examined file
 * @param startByte the region's first byte (a sector boundary)
 * @param length    the region's length in bytes
 */
record Target(RegionSpec spec, Operand operand, long startByte, long length) {

    /** @return the first byte after the region */
    long end() {
        return startByte + length;
    }

    /** @return the whole sectors of the region */
    long sectors() {
        return length / BlockDevice.SECTOR_SIZE;
    }

    /** @return the bytes past the whole sectors, 0..511 */
    int tail() {
        return (int) (length % BlockDevice.SECTOR_SIZE);
    }

    /** @return the first byte of the tail */
    long tailByte() {
        return startByte + sectors() * BlockDevice.SECTOR_SIZE;
    }

    /** @return the file's name or the device's URI as given */
    String name() {
        return operand.name();
    }

    /** @return true if the two regions are of one file and share a byte */
    boolean overlaps(Object identity, long otherStart, long otherEnd) {
        return operand.identity().equals(identity) && startByte < otherEnd && otherStart < end();
    }

    /** @return a byte range in words: in sectors where both ends are whole sectors */
    static String range(long start, long end) {
        int s = BlockDevice.SECTOR_SIZE;
        return start % s == 0 && end % s == 0 ? "sectors [" + start / s + ", " + end / s + ")"
                : "bytes [" + start + ", " + end + ")";
    }
}
