package org.kcopyd.api;

/** How {@link BlockDeviceOpener} opens a file or raw block device. */
public enum DeviceOption {
    /** Open for reading and writing; without it the device is read-only. */
    READ_WRITE,
    /**
     * Bypass the page cache (O_DIRECT). Requests whose position, length or buffer are not
     * aligned to the file system's block size go through the page cache instead.
     */
    DIRECT,
    /** Every write is durable when it completes (O_DSYNC). */
    DSYNC
}
