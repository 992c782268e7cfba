package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.UUID;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.snapshot.Snapshot;
import org.kcopyd.snapshot.internal.CowStore.CowHeader;

/**
 * Decides what may be done with the file at a snapshot's COW store path, and does only that:
 * <ul>
 * <li>nothing there: a new store is created (never over anything, not even a dangling link),
 *     unless the configuration names a store identity and does not ask to format, which means
 *     the store is missing;</li>
 * <li>a file whose header is the store the configuration names (identity, chunk size, origin
 *     size): it is adopted as it is, whether or not format is asked for;</li>
 * <li>any other kcopyd COW store (another identity, none configured, another chunk or origin
 *     size, a version this bundle cannot read): refused, even when format is asked for: a
 *     configuration left with format=true (a configuration file applied at every start) must not
 *     destroy the store it made the first time;</li>
 * <li>a file that holds no kcopyd COW store (zeros, anything else, an older format, a header
 *     whose checksum fails): formatted if the configuration asks for it, else refused.</li>
 * </ul>
 * The file is claimed as "the COW store of snapshot NAME" before its first byte is read, so the
 * origin (in any spelling), another snapshot's store or a mirror leg is refused at once. A
 * refused file is not written; a refusal is an {@link IllegalArgumentException} (the
 * configuration names the wrong file), a file that cannot be read or created an {@link IOException}.
 */
final class CowStoreOpener {

    private static final String NEVER_FORMATTED = "a kcopyd COW store is never formatted, not even with "
            + Snapshot.CONFIG_FORMAT + "=true (--format)";

    private final FileDeviceOpener files;

    CowStoreOpener(FileDeviceOpener files) {
        this.files = files;
    }

    /**
     * @param originSectors the size of the origin the store is for
     * @return the store, open; its device is the caller's to close
     * @throws IllegalArgumentException if the file is refused (the message says why and what to do)
     * @throws IOException if the file cannot be opened, created, read or written
     */
    CowStore open(SnapshotSettings s, long originSectors) throws IOException {
        Path path = s.cowStore();
        String purpose = "the COW store of snapshot " + s.name();
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            if (s.cowStoreId() != null && !s.format()) {
                throw new IllegalArgumentException(s.label() + ": its COW store " + path + " (" + s.cowStoreId()
                        + ") does not exist; a new, empty store would silently change the snapshot's moment, so none "
                        + "is made (" + Snapshot.CONFIG_FORMAT + "=true makes one)");
            }
            BlockDevice device;
            try {
                device = files.createNew(path, s.cowStoreSectors(), purpose);
            } catch (FileSystemException e) {
                throw new IOException(s.label() + ": cannot create its COW store " + path + ": " + reason(e), e);
            }
            try {
                return CowStore.format(device, s.chunkSectors(), originSectors, newId(s));
            } catch (IOException | RuntimeException e) {
                device.close();
                Files.deleteIfExists(path);
                throw e;
            }
        }
        if (!Files.exists(path)) {
            throw new IllegalArgumentException(s.label() + ": its COW store " + path + " is a symbolic link to nothing");
        }
        BlockDevice device;
        try {
            device = files.open(path, purpose, DeviceOption.READ_WRITE);
        } catch (FileSystemException e) {
            throw new IOException(s.label() + ": cannot open its COW store " + path + ": " + reason(e), e);
        }
        try {
            CowHeader header = CowStore.readHeader(device);
            if (header.usable() && header.id().equals(s.cowStoreId())) {
                String mismatch = header.mismatch(s.cowStoreId(), s.chunkSectors(), originSectors);
                if (mismatch == null) {
                    return CowStore.adopt(device, header);
                }
                throw new IllegalArgumentException(s.label() + ": " + path + " is its COW store " + header.id()
                        + ", but " + mismatch + ", so it is not adopted; " + NEVER_FORMATTED + ": give the snapshot "
                        + "the origin and chunk size the store was made for, or delete " + path
                        + " yourself to start afresh");
            }
            if (!header.formattable()) {
                throw new IllegalArgumentException(notAStoreToFormat(s, path, header));
            }
            if (s.format()) {
                return CowStore.format(device, s.chunkSectors(), originSectors, newId(s));
            }
            if (s.cowStoreId() == null) {
                throw new IllegalArgumentException(s.label() + ": " + path + " exists and the configuration names no "
                        + Snapshot.CONFIG_COW_STORE_ID + ", so it is not adopted: " + header.describe() + " ("
                        + Snapshot.CONFIG_FORMAT + "=true, or --format, overwrites it with a new store)");
            }
            throw new IllegalArgumentException(s.label() + ": " + path + " is not its COW store " + s.cowStoreId()
                    + ": " + header.describe() + " (" + Snapshot.CONFIG_FORMAT + "=true, or --format, overwrites it "
                    + "with a new store)");
        } catch (IOException | RuntimeException e) {
            device.close();
            throw e;
        }
    }

    /** The refusal of a kcopyd COW store that is not the configured one, or that this bundle cannot read. */
    private static String notAStoreToFormat(SnapshotSettings s, Path path, CowHeader header) {
        if (!header.usable()) {
            return s.label() + ": " + path + " is not adopted: " + header.problem() + "; " + NEVER_FORMATTED
                    + ": delete " + path + " yourself to start afresh";
        }
        return s.label() + ": " + path + " is " + header.describe() + ", and the configuration names "
                + (s.cowStoreId() == null ? "no " + Snapshot.CONFIG_COW_STORE_ID
                : Snapshot.CONFIG_COW_STORE_ID + " " + s.cowStoreId()) + ", so it is not adopted; " + NEVER_FORMATTED
                + ": set " + Snapshot.CONFIG_COW_STORE_ID + "=" + header.id() + " (--cow-store-id " + header.id()
                + ") to reopen it, or delete " + path + " yourself to start afresh";
    }

    /**
     * @return why a file operation failed, in words: the JDK's message for a missing file or a
     *         refused permission is only the path
     */
    static String reason(FileSystemException e) {
        if (e instanceof NoSuchFileException) {
            Path parent = e.getFile() == null ? null : Path.of(e.getFile()).getParent();
            return parent != null && !Files.isDirectory(parent) ? "no such directory " + parent
                    : "no such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "it exists already";
        }
        return e.getReason() != null ? e.getReason().toLowerCase(Locale.ROOT) : e.toString();
    }

    /** A formatted store keeps the identity the configuration chose, so asking again finds it made. */
    private static UUID newId(SnapshotSettings s) {
        return s.cowStoreId() != null ? s.cowStoreId() : UUID.randomUUID();
    }
}
