package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.UUID;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.device.DeviceBacking;
import org.kcopyd.device.DeviceIdentity;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.device.KcopydHeaders;
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
 * <li>a file that holds a mirror's region log (its header, either copy): refused, even when
 *     format is asked for;</li>
 * <li>a file that holds no kcopyd COW store (zeros, anything else, an older format, a header
 *     whose checksum fails): formatted if the configuration asks for it, else refused.</li>
 * </ul>
 * The file is claimed as "the COW store of snapshot NAME" before its first byte is read, so the
 * origin (in any spelling), another snapshot's store or a mirror leg is refused at once.
 *
 * <p>A store belongs to one origin: a new store records the origin's {@linkplain OriginIdentity
 * identity} and path; the store named is adopted only if the origin's identity now is the one
 * recorded, or the one the configuration confirms ({@value Snapshot#CONFIG_ORIGIN_ID}, which must
 * be the origin's identity now in any case), and if the origin's fingerprint, recorded when the
 * store was last closed, still matches. A store of version 2 recorded no origin: it is adopted
 * only when the configuration confirms the origin. These checks come before anything is
 * written, so a store with an interrupted merge never resumes it into another origin.
 *
 * <p>A refused file is not written; a refusal is an {@link IllegalArgumentException} (the
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
     * @param origin the origin's own device (not a snapshot-aware view of it), open at {@code s.origin()}
     * @return the store, open; its device is the caller's to close
     * @throws IllegalArgumentException if the file is refused (the message says why and what to do)
     * @throws IOException if the file cannot be opened, created, read or written
     */
    CowStore open(SnapshotSettings s, BlockDevice origin) throws IOException {
        Path path = s.cowStore();
        long originSectors = origin.sizeInSectors();
        String originId = OriginIdentity.of(s);
        String originPath = s.remoteOrigin() ? s.originUri().toString() : s.origin().toAbsolutePath().toString();
        if (s.originId() != null && !DeviceIdentity.matches(s.originId(), originId)) {
            throw new IllegalArgumentException(s.label() + ": " + Snapshot.CONFIG_ORIGIN_ID + " " + s.originId()
                    + " is not the identity of its origin " + s.originName() + ", which is " + originId + ", so nothing "
                    + "is opened or written (" + Snapshot.CONFIG_ORIGIN_ID + " confirms the origin named, and only it)");
        }
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
                return CowStore.format(device, s.chunkSectors(), originSectors, newId(s), originId, originPath);
            } catch (IOException | RuntimeException e) {
                device.close();
                Files.deleteIfExists(path);
                throw e;
            }
        }
        if (!Files.exists(path)) {
            throw new IllegalArgumentException(s.label() + ": its COW store " + path + " is a symbolic link to nothing");
        }
        if (!s.remoteOrigin()) {
            refuseSharedWithOrigin(s);
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
                    String refused = originRefusal(s, header.originId(), header.originPath(), originId);
                    if (refused != null) {
                        throw new IllegalArgumentException(s.label() + ": " + refused);
                    }
                    refused = changedRefusal(s, header, originId, origin);
                    if (refused != null) {
                        throw new IllegalArgumentException(refused);
                    }
                    return CowStore.adopt(device, header, originId, originPath);
                }
                throw new IllegalArgumentException(s.label() + ": " + path + " is its COW store " + header.id()
                        + ", but " + mismatch + ", so it is not adopted; " + NEVER_FORMATTED + ": give the snapshot "
                        + "the origin and chunk size the store was made for, or delete " + path
                        + " yourself to start afresh");
            }
            if (header.formattable()) {
                refuseRegionLog(s, path, device);
            }
            if (!header.formattable()) {
                throw new IllegalArgumentException(notAStoreToFormat(s, path, header));
            }
            if (s.format()) {
                return CowStore.format(device, s.chunkSectors(), originSectors, newId(s), originId, originPath);
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

    /**
     * Whether the file at the settings' COW store path holds the store they name, so that opening
     * the snapshot would adopt it and create, format or write nothing, as far as can be told
     * without the origin: the configuration names a store identity, and the file (symbolic links
     * followed) holds a COW store this bundle reads, with that identity and the configured chunk
     * size, made for the origin the configuration names (the identity it recorded, or the one
     * {@value Snapshot#CONFIG_ORIGIN_ID} confirms). The origin's size and fingerprint need the
     * origin: they are checked when it opens. Reads the file's first sector through a read-only
     * device (registered as read by this process for that moment, as any reader), claims nothing
     * and writes nothing; the calling thread does the I/O.
     *
     * @return true if so; false otherwise, and if the file cannot be read (another process claimed
     *         it, say): the opening that follows then reports what it finds
     */
    boolean holdsStoreToReopen(SnapshotSettings s) {
        if (s.cowStoreId() == null || !Files.exists(s.cowStore())) {
            return false;
        }
        CowHeader header;
        String originId;
        try (BlockDevice device = files.open(s.cowStore(), "the COW store of snapshot " + s.name())) {
            originId = OriginIdentity.of(s);
            header = CowStore.readHeader(device);
        } catch (IOException | RuntimeException e) {
            return false;
        }
        return header.usable() && header.id().equals(s.cowStoreId()) && header.chunkSectors() == s.chunkSectors()
                && (s.originId() == null || DeviceIdentity.matches(s.originId(), originId))
                && originRefusal(s, header.originId(), header.originPath(), originId) == null;
    }

    /**
     * Refuses a COW store that is, in part, the origin's bytes though not the same file to a claim:
     * a loop device over the origin, the origin's file under a loop device given as the origin, a
     * partition of an origin disk. Formatting or writing such a store would overwrite the origin.
     *
     * @throws IllegalArgumentException naming both and how they share bytes
     * @throws IOException if either cannot be examined
     */
    private static void refuseSharedWithOrigin(SnapshotSettings s) throws IOException {
        String shared;
        try {
            shared = DeviceBacking.sameBytes(s.cowStore(), s.origin());
        } catch (IOException e) {
            throw new IOException(s.label() + ": cannot tell whether its COW store " + s.cowStore() + " is part of its "
                    + "origin " + s.origin() + ", so neither is opened: " + e.getMessage(), e);
        }
        if (shared != null) {
            throw new IllegalArgumentException(s.label() + ": its COW store " + s.cowStore() + " is part of its origin "
                    + s.origin() + ": " + shared + "; the store's writes would overwrite the origin, so nothing was "
                    + "opened or written: put the COW store on another file or device");
        }
    }

    /**
     * @param recordedId   the origin identity the store records, or null if it records none
     * @param recordedPath the origin's path the store records
     * @param originId     the identity of the origin the configuration names, now
     * @return why the store named by {@code s} is not adopted for that origin (to follow the
     *         snapshot's label), or null if it may be
     */
    static String originRefusal(SnapshotSettings s, String recordedId, String recordedPath, String originId) {
        if (DeviceIdentity.matches(recordedId, originId) || DeviceIdentity.matches(s.originId(), originId)) {
            return null;
        }
        String store = s.cowStore() + " (COW store " + s.cowStoreId() + ")";
        String confirm = "if " + s.originName() + " really is that origin (restored from a backup, copied or moved to "
                + "another file system, a disk known by other properties now, served at another address), say so with "
                + Snapshot.CONFIG_ORIGIN_ID
                + "=" + originId + " (--origin-id " + originId + ") and the store will record it";
        if (recordedId == null) {
            return store + " was made by an older kcopyd that recorded no origin identity, so it "
                    + "is not known to belong to " + s.originName() + " (identity " + originId + ") and is not adopted; "
                    + "nothing was written; " + confirm;
        }
        return store + " belongs to the origin " + recordedPath + " (identity " + recordedId
                + "); " + s.originName() + " is identity " + originId + ", another " + kind(recordedId, originId)
                + ", so the store is not "
                + "adopted (its old data would be merged into the wrong origin); nothing was written; " + confirm;
    }

    /** @return what the origin is, said so that a file given for an export (or the other way round) is plain */
    private static String kind(String recordedId, String originId) {
        boolean wasUri = !recordedId.startsWith("file:") && !recordedId.startsWith("block:");
        boolean isUri = !originId.startsWith("file:") && !originId.startsWith("block:");
        if (wasUri == isUri) {
            return isUri ? "device named by URI" : "file or disk";
        }
        return isUri ? "origin (a device named by URI, the store's origin a file or disk)"
                : "origin (a file or disk, the store's origin a device named by URI)";
    }

    /** @return why the origin no longer matches the fingerprint the store recorded when closed, or null */
    private static String changedRefusal(SnapshotSettings s, CowHeader header, String originId, BlockDevice origin)
            throws IOException {
        if (header.originSeen() == null || Arrays.equals(header.originSeen(), OriginIdentity.fingerprint(origin))) {
            return null;
        }
        // Each said once (an export's identity is its URI, often its recorded path too): a status is cut at 1000.
        String identity = originId.equals(s.originName()) ? "" : " (identity " + originId + ")";
        String recorded = header.originPath() == null || header.originPath().equals(s.originName()) ? ""
                : ", not the store's origin " + header.originPath();
        return s.label() + ": its origin " + s.originName() + identity + " is not as " + s.cowStore() + " (COW store "
                + header.id() + ") left it: its first or last " + OriginIdentity.SAMPLE_SECTORS / 2 + " KiB changed "
                + "since the store was last closed (another file or disk is there now" + recorded + ", or it was "
                + "written while no snapshot of it was open and the store no longer holds the snapshot's moment); "
                + "the store is not adopted and nothing was written: if " + s.originName() + " gives another disk by "
                + "mistake, give it the store's origin again and apply the configuration again (restart the daemon, "
                + "or snapshot remove, then snapshot create with --cow-store-id " + header.id() + ": the store is "
                + "adopted as it was); only if the snapshot is no longer wanted, delete " + s.cowStore()
                + " yourself to start afresh";
    }

    /**
     * Refuses a file that holds a mirror's region log header (either copy): it holds no COW store,
     * so format would overwrite it, but it is a kcopyd file, and never a COW store.
     *
     * @throws IllegalArgumentException naming the file, the log and what to do
     * @throws IOException if the file cannot be read
     */
    private static void refuseRegionLog(SnapshotSettings s, Path path, BlockDevice device) throws IOException {
        KcopydHeaders.Header log = KcopydHeaders.find(device, KcopydHeaders.Kind.REGION_LOG);
        if (log != null) {
            throw new IllegalArgumentException(s.label() + ": " + path + " holds " + log.describe() + ", not a COW "
                    + "store; a kcopyd region log is never made a COW store, not even with " + Snapshot.CONFIG_FORMAT
                    + "=true (--format), so nothing was written: name another file for the COW store, or, if that "
                    + "log is no longer wanted, delete " + path + " yourself (or " + log.erasure() + ")");
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
