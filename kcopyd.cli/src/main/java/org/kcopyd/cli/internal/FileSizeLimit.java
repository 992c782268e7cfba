package org.kcopyd.cli.internal;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * The largest file a directory's file system can hold, where it is certain from the file system's
 * type: the JDK has no call for it, and a file system refuses a larger file only with a bare
 * "File too large" (EFBIG). The limits are upper bounds (a file system made without large-file
 * features holds less, and then its own refusal is all there is).
 *
 * @param bytes      the largest file size in bytes
 * @param fileSystem the file system, for messages, e.g. {@code "ext4, blocks of 4096 bytes"}
 */
record FileSizeLimit(long bytes, String fileSystem) {

    /** ext4 addresses a file's blocks with 32-bit logical block numbers. */
    private static final long EXT4_BLOCKS = (1L << 32) - 1;
    /** FAT keeps a file's size in 32 bits. */
    private static final long FAT_BYTES = (1L << 32) - 1;

    /** @return the limit of the file system holding {@code dir}, if known */
    static Optional<FileSizeLimit> of(Path dir) {
        try {
            FileStore store = Files.getFileStore(dir);
            String type = store.type().toLowerCase(Locale.ROOT);
            return switch (type) {
                case "ext4" -> {
                    long block = store.getBlockSize();
                    yield block > 0 && block <= Long.MAX_VALUE / EXT4_BLOCKS
                            ? Optional.of(new FileSizeLimit(EXT4_BLOCKS * block, "ext4, blocks of " + block + " bytes"))
                            : Optional.empty();
                }
                case "vfat", "msdos", "fat" -> Optional.of(new FileSizeLimit(FAT_BYTES, type));
                default -> Optional.empty();
            };
        } catch (IOException | UnsupportedOperationException e) {
            return Optional.empty();
        }
    }

    /** @return the type of the file system holding {@code dir} ({@code ext4}, {@code xfs}...), or null */
    static String typeOf(Path dir) {
        try {
            return Files.getFileStore(dir).type();
        } catch (IOException e) {
            return null;
        }
    }
}
