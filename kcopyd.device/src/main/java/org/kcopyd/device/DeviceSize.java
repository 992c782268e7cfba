package org.kcopyd.device;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The size in bytes of a regular file or a block device. For a block device, where
 * {@link FileChannel#size()} may answer 0, Linux's {@code /sys/dev/block/MAJOR:MINOR/size}
 * gives the capacity in 512-byte sectors.
 */
final class DeviceSize {

    private DeviceSize() {
    }

    /**
     * @param name the file's name for messages
     * @param same where the very file opened as {@code channel} is looked at (its name, or
     *             {@code /proc/self/fd/N} of its descriptor)
     */
    static long of(Path name, Path same, FileChannel channel) throws IOException {
        long size = channel.size();
        if (size > 0 || Files.isRegularFile(same)) {
            return size;
        }
        long rdev = ((Number) Files.getAttribute(same, "unix:rdev")).longValue();
        Path sys = Path.of("/sys/dev/block/" + DeviceBacking.major(rdev) + ":" + DeviceBacking.minor(rdev) + "/size");
        if (!Files.isReadable(sys)) {
            throw new IOException("cannot tell the size of " + name + ": " + sys + " is not readable");
        }
        return Long.parseLong(Files.readString(sys).trim()) * 512;
    }
}
