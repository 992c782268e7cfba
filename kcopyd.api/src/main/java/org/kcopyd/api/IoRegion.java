package org.kcopyd.api;

import java.util.Objects;

/**
 * A range of sectors on one block device: dm-kcopyd's {@code struct io_region}.
 *
 * <p>Validated when built: the device is not null, {@code sector >= 0}, {@code count >= 1},
 * {@code sector + count} does not overflow and does not pass the device's end
 * ({@link BlockDevice#sizeInSectors()} at the time of construction; the engine checks again
 * when a job is submitted), and the region starts and ends on multiples of the device's
 * minimum block, {@link BlockDevice#minimumBlockBytes()} (since 1.5). Errors are
 * {@link IllegalArgumentException}s naming the bad value and the limit.
 *
 * @param device the block device; never null
 * @param sector the first sector, in 512-byte sectors from the start of the device
 * @param count  the number of 512-byte sectors, at least 1
 */
public record IoRegion(BlockDevice device, long sector, long count) {

    /** Validates the region as described in the class documentation. */
    public IoRegion {
        Objects.requireNonNull(device, "device is null");
        if (sector < 0) {
            throw new IllegalArgumentException("start sector " + sector + " is negative on device '"
                    + device.name() + "'");
        }
        if (count < 1) {
            throw new IllegalArgumentException("sector count " + count + " is below the minimum 1 on device '"
                    + device.name() + "'");
        }
        if (sector > Long.MAX_VALUE - count) {
            throw new IllegalArgumentException("region of " + count + " sectors at sector " + sector
                    + " overflows a 64-bit sector number on device '" + device.name() + "'");
        }
        long size = device.sizeInSectors();
        if (sector + count > size) {
            throw new IllegalArgumentException("region [" + sector + ", " + (sector + count)
                    + ") ends past the device end " + size + " of '" + device.name() + "'");
        }
        int block = device.minimumBlockBytes();
        long blockSectors = Math.max(1, block / BlockDevice.SECTOR_SIZE);
        if (sector % blockSectors != 0 || count % blockSectors != 0) {
            throw new IllegalArgumentException("region [" + sector + ", " + (sector + count) + ") of '" + device.name()
                    + "' is not aligned to its minimum block of " + block + " bytes: its start and length must be "
                    + "multiples of " + blockSectors + " sectors");
        }
    }

    /**
     * Creates a region.
     *
     * @param device the block device
     * @param sector the first sector (512-byte units)
     * @param count  the number of sectors, at least 1
     * @return the validated region
     * @throws IllegalArgumentException if the region is invalid for the device
     */
    public static IoRegion of(BlockDevice device, long sector, long count) {
        return new IoRegion(device, sector, count);
    }

    /**
     * A region covering the whole device.
     *
     * @param device the block device, at least one sector long
     * @return the region {@code [0, device.sizeInSectors())}
     */
    public static IoRegion whole(BlockDevice device) {
        return new IoRegion(device, 0, device.sizeInSectors());
    }

    /** @return the first sector after the region ({@code sector + count}) */
    public long endSector() {
        return sector + count;
    }

    /** @return the region's length in bytes ({@code count * 512}) */
    public long byteCount() {
        return count * BlockDevice.SECTOR_SIZE;
    }

    /**
     * Tells whether two regions share a sector on the same device: devices equal either way round
     * ({@link Object#equals} of one or of the other), so that a view of a device (read-only, hashing
     * what is read) that is equal to the device it shows is the same device whichever side asks.
     *
     * @param other another region
     * @return true when both are on equal devices and their sector ranges intersect
     */
    public boolean overlaps(IoRegion other) {
        return (device.equals(other.device) || other.device.equals(device)) && sector < other.endSector()
                && other.sector < endSector();
    }

    @Override
    public String toString() {
        return device.name() + "[" + sector + ", " + endSector() + ")";
    }
}
