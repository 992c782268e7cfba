package org.kcopyd.device;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Set;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.DeviceOption;

/**
 * Opens regular files and raw block devices as {@link FileBlockDevice}s.
 *
 * <p>O_DIRECT is {@code com.sun.nio.file.ExtendedOpenOption.DIRECT}, looked up through the system
 * class loader so that the bundle does not import a JDK-internal package (frameworks differ in
 * exporting it). Where it is missing, asking for {@link DeviceOption#DIRECT} fails clearly.
 */
public final class FileDeviceOpener implements BlockDeviceOpener {

    private static final OpenOption DIRECT_OPTION = lookupDirect();

    private final boolean directByDefault;

    /**
     * @param directByDefault open with O_DIRECT even when {@link DeviceOption#DIRECT} is not given
     */
    public FileDeviceOpener(boolean directByDefault) {
        this.directByDefault = directByDefault;
    }

    private static OpenOption lookupDirect() {
        try {
            Class<?> type = Class.forName("com.sun.nio.file.ExtendedOpenOption", false,
                    ClassLoader.getSystemClassLoader());
            for (Object constant : type.getEnumConstants()) {
                if ("DIRECT".equals(((Enum<?>) constant).name())) {
                    return (OpenOption) constant;
                }
            }
        } catch (ClassNotFoundException | RuntimeException e) {
            return null;
        }
        return null;
    }

    @Override
    public BlockDevice open(Path path, DeviceOption... options) throws IOException {
        Set<DeviceOption> opts = options.length == 0 ? EnumSet.noneOf(DeviceOption.class) : EnumSet.of(options[0], options);
        BasicFileAttributes attrs = Files.readAttributes(path, BasicFileAttributes.class);
        if (!attrs.isRegularFile() && !attrs.isOther()) {
            throw new IOException(path + " is neither a regular file nor a block device");
        }
        return openChannel(path, opts, false);
    }

    @Override
    public BlockDevice create(Path path, long sizeInSectors, DeviceOption... options) throws IOException {
        if (sizeInSectors < 1) {
            throw new IllegalArgumentException("size " + sizeInSectors + " sectors is below the minimum 1 for " + path);
        }
        Set<DeviceOption> opts = EnumSet.of(DeviceOption.READ_WRITE, options);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            long bytes = sizeInSectors * BlockDevice.SECTOR_SIZE;
            if (ch.size() > bytes) {
                ch.truncate(bytes);
            } else if (ch.size() < bytes) {
                // Extends the file sparsely: one byte at the end.
                ch.write(java.nio.ByteBuffer.allocate(1), bytes - 1);
            }
        }
        return openChannel(path, opts, true);
    }

    private BlockDevice openChannel(Path path, Set<DeviceOption> opts, boolean created) throws IOException {
        boolean readWrite = opts.contains(DeviceOption.READ_WRITE);
        Set<OpenOption> base = new HashSet<>();
        base.add(StandardOpenOption.READ);
        if (readWrite) {
            base.add(StandardOpenOption.WRITE);
        }
        if (opts.contains(DeviceOption.DSYNC)) {
            base.add(StandardOpenOption.DSYNC);
        }
        FileChannel channel = FileChannel.open(path, base);
        FileChannel direct = null;
        try {
            boolean wantDirect = opts.contains(DeviceOption.DIRECT) || directByDefault;
            int alignment = 512;
            if (wantDirect) {
                if (DIRECT_OPTION == null) {
                    throw new IOException("O_DIRECT is not available in this Java runtime (opening " + path + ")");
                }
                alignment = (int) Math.max(512, Files.getFileStore(path).getBlockSize());
                Set<OpenOption> withDirect = new HashSet<>(base);
                withDirect.add(DIRECT_OPTION);
                direct = FileChannel.open(path, withDirect);
            }
            long bytes = DeviceSize.of(path, channel);
            Object identity = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
            return new FileBlockDevice(path, channel, direct, alignment, !readWrite, bytes / BlockDevice.SECTOR_SIZE,
                    identity != null ? identity : path.toRealPath());
        } catch (IOException | RuntimeException e) {
            channel.close();
            if (direct != null) {
                direct.close();
            }
            throw e;
        }
    }
}
