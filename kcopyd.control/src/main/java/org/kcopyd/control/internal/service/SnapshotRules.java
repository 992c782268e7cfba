package org.kcopyd.control.internal.service;

import java.io.IOException;
import java.net.URI;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Hashtable;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;

import org.kcopyd.control.ControlException;
import org.kcopyd.control.SnapshotRequest;
import org.kcopyd.device.DeviceUris;
import org.kcopyd.device.FileClaim;
import org.kcopyd.device.FileClaims;
import org.kcopyd.snapshot.Snapshot;

/**
 * The checks of a snapshot request that need no snapshot bundle, in the command line's words
 * ({@code kcopyd snapshot create} makes the same ones): the name, the chunk and store sizes, the
 * origin (an absolute path of a file or block device, or a device URI) and the COW store (absolute;
 * new, or an existing store to reopen by identity; not claimed; not the origin itself). The
 * snapshot component checks everything again, and what an existing file holds is its to decide.
 * Stateless.
 */
final class SnapshotRules {

    /** {@link Snapshot#NAME_RULE} in words. */
    static final String NAME_RULE = "a name is 1 to 64 characters of A-Z a-z 0-9 . _ -, not only dots";
    static final int DEFAULT_CHUNK_SECTORS = 16;
    static final int DEFAULT_SIZE_MIB = 1024;
    /** The largest COW store made, 16 TiB. */
    static final int MAX_SIZE_MIB = 16_777_216;
    /** ext4 addresses a file's blocks with 32-bit logical block numbers. */
    private static final long EXT4_BLOCKS = (1L << 32) - 1;
    /** FAT keeps a file's size in 32 bits. */
    private static final long FAT_BYTES = (1L << 32) - 1;

    private SnapshotRules() {
    }

    /** @throws ControlException BAD_REQUEST unless {@code name} follows {@link Snapshot#NAME_RULE} */
    static void requireName(String kind, String name) {
        if (!Snapshot.isValidName(name)) {
            throw ControlException.badRequest(kind + " name '" + Text.printable(name) + "' is not allowed: " + NAME_RULE);
        }
    }

    /**
     * @return the configuration properties of the requested snapshot
     * @throws ControlException BAD_REQUEST or CONFLICT naming the value and the rule
     */
    static Hashtable<String, Object> check(SnapshotRequest r) {
        requireName("snapshot", r.name());
        int chunkSectors = r.chunkSectors() == null ? DEFAULT_CHUNK_SECTORS : r.chunkSectors();
        if (chunkSectors < Allowed.MIN_CHUNK_SECTORS || chunkSectors > Allowed.MAX_CHUNK_SECTORS
                || Integer.bitCount(chunkSectors) != 1) {
            // kcopyd.snapshot's words (the shell's snapshot create says them too), with every allowed value.
            throw ControlException.badRequest("chunkSectors " + chunkSectors + " is not " + Allowed.CHUNK_SECTORS);
        }
        int sizeMiB = r.cowStoreSizeMiB() == null ? DEFAULT_SIZE_MIB : r.cowStoreSizeMiB();
        if (sizeMiB < 1 || sizeMiB > MAX_SIZE_MIB) {
            throw ControlException.badRequest("cowStoreSizeMiB " + sizeMiB + " is outside 1.." + MAX_SIZE_MIB);
        }
        UUID id = r.cowStoreId() == null ? null : uuid(r.cowStoreId());
        if (id != null && r.format()) {
            throw ControlException.badRequest("cowStoreId and format exclude each other: cowStoreId reopens an existing "
                    + "COW store, format makes a new one");
        }
        if (r.originId() != null && r.originId().isBlank()) {
            throw ControlException.badRequest("originId is empty: give the origin's identity as a refusal printed it");
        }
        String origin = require("origin", r.origin());
        URI originUri = null;
        Path originPath;
        if (DeviceUris.looksLikeUri(origin)) {
            try {
                originUri = DeviceUris.parse(origin);
                originPath = DeviceUris.FILE.equals(DeviceUris.scheme(originUri)) ? DeviceUris.path(originUri) : null;
            } catch (IllegalArgumentException e) {
                throw ControlException.badRequest("origin " + Text.printable(e.getMessage()));
            }
            if (originPath != null) {
                originUri = null;
                ProcessPaths.refuseProcessView("origin", originPath);
            }
        } else {
            for (String service : new String[] {Snapshots.SNAPSHOT_PREFIX, Snapshots.ORIGIN_PREFIX, Exports.MIRROR_PREFIX}) {
                if (origin.startsWith(service)) {
                    throw ControlException.badRequest("origin '" + Text.printable(origin) + "' names a device of this "
                            + "daemon: a snapshot's origin is a file, a block device or a device URI (an export of "
                            + Text.printable(origin) + " is one: its nbd+unix:// URI)");
                }
            }
            originPath = absolute("origin", origin);
        }
        if (originPath != null) {
            DeviceKinds.requireDevice(originPath, "origin");
        }
        Path cow = absolute("cowStore", require("cowStore", r.cowStore()));
        boolean newStore = !DeviceKinds.present(cow);
        checkCow(cow, originPath, id);
        if (newStore) {
            checkSize(cow, sizeMiB);
        }
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Snapshot.CONFIG_NAME, r.name());
        props.put(Snapshot.CONFIG_ORIGIN, originUri != null ? originUri.toString() : originPath.toString());
        props.put(Snapshot.CONFIG_COW_STORE, cow.toString());
        props.put(Snapshot.CONFIG_CHUNK_SECTORS, chunkSectors);
        props.put(Snapshot.CONFIG_COW_STORE_SIZE_MIB, sizeMiB);
        if (id != null) {
            props.put(Snapshot.CONFIG_COW_STORE_ID, id.toString());
        }
        if (r.format()) {
            props.put(Snapshot.CONFIG_FORMAT, true);
        }
        if (r.originId() != null) {
            props.put(Snapshot.CONFIG_ORIGIN_ID, r.originId().trim());
        }
        return props;
    }

    static String require(String field, String value) {
        if (value == null || value.isEmpty()) {
            throw ControlException.badRequest(field + " is missing");
        }
        return value;
    }

    /**
     * @return the path, which must be absolute (the client makes paths absolute against its own directory) and
     *         not lead through {@code /proc} ({@link ProcessPaths}), with {@code .} and {@code ..} taken out as
     *         the kernel takes them ({@link #resolvedDots})
     */
    static Path absolute(String field, String value) {
        Path p;
        try {
            p = Path.of(value);
        } catch (InvalidPathException e) {
            throw ControlException.badRequest(field + " '" + Text.printable(value) + "' is not a path: "
                    + (value.indexOf(0) >= 0 ? "it holds a NUL character (\\u0000), which no path can"
                    : "it holds a character this system's file names cannot (such as half of a UTF-16 surrogate pair)"));
        }
        if (!p.isAbsolute()) {
            throw ControlException.badRequest(field + " '" + Text.printable(value) + "' is a relative path: give an "
                    + "absolute one");
        }
        ProcessPaths.refuseProcessView(field, p);
        return resolvedDots(field, p);
    }

    /**
     * H49-1: {@code a/link/../x.img} is {@code x.img} next to the link's target for the kernel (and for the
     * one-shot {@code copy}, and {@code cp}), not {@code a/x.img}, which text normalization makes of it: the
     * daemon wrote another file than the one named. The part up to the last {@code ..} is resolved by the
     * file system; the rest has none.
     *
     * @throws ControlException FAILED if that part cannot be resolved (the kernel would not open the path
     *         either, while its text normalized could name a file that exists)
     */
    private static Path resolvedDots(String field, Path p) {
        int last = -1;
        for (int i = 0; i < p.getNameCount(); i++) {
            if (p.getName(i).toString().equals("..")) {
                last = i;
            }
        }
        if (last < 0) {
            return p.normalize();
        }
        Path upTo = p.getRoot().resolve(p.subpath(0, last + 1));
        Path resolved;
        try {
            resolved = upTo.toRealPath();
        } catch (IOException e) {
            throw ControlException.failed(field + " " + p + " cannot be resolved: " + upTo + " is not a directory that "
                    + "can be searched (" + e.getMessage() + ")");
        }
        return last + 1 == p.getNameCount() ? resolved
                : resolved.resolve(p.subpath(last + 1, p.getNameCount())).normalize();
    }

    private static UUID uuid(String text) {
        UUID id;
        try {
            id = UUID.fromString(text);
        } catch (IllegalArgumentException e) {
            id = null;
        }
        if (id == null || !id.toString().equalsIgnoreCase(text)) {
            throw ControlException.badRequest("cowStoreId '" + Text.printable(text) + "' is not a UUID (such as "
                    + "123e4567-e89b-12d3-a456-426614174000)");
        }
        return id;
    }

    private static void checkCow(Path cow, Path originPath, UUID id) {
        if (!DeviceKinds.present(cow)) {
            if (id != null) {
                throw ControlException.badRequest("COW store " + cow + " does not exist; cowStoreId reopens an existing "
                        + "store (without it, a new store is created)");
            }
            return;
        }
        if (!Files.exists(cow)) {
            throw ControlException.badRequest("COW store " + cow + " is a symbolic link to nothing");
        }
        DeviceKinds.requireDevice(cow, "COW store");
        try {
            refuseHeld(cow, "COW store");
            if (originPath != null && Files.exists(originPath)
                    && FileClaims.identityOf(originPath).equals(FileClaims.identityOf(cow))) {
                throw ControlException.badRequest("COW store " + cow + " is the origin " + originPath + " itself");
            }
        } catch (IOException e) {
            throw ControlException.badRequest("cannot examine COW store " + cow + ": " + e.getMessage());
        }
    }

    /**
     * Refuses a file that a device of this or another kcopyd process holds (a claim), or that this
     * daemon reads (a read-only export serves it, a running job copies from it): {@code CONFLICT}, as the
     * file is in use rather than wrongly named. Every file this is asked of is written once configured
     * (a COW store, a region log, a mirror's leg), under what is read. Other processes' readers refuse the
     * claim itself, when the device opens.
     *
     * @param file the file, which exists
     * @param what what the request makes of it ("COW store", "leg 1"), for the message
     * @throws IOException if the claims cannot be read
     */
    static void refuseHeld(Path file, String what) throws IOException {
        Optional<FileClaim> holder = FileClaims.holderOfSharedBytes(file);
        if (holder.isPresent()) {
            throw ControlException.conflict(what + " " + file + FileClaims.relation(file, holder.get()) + " is "
                    + holder.get().purpose() + holder.get().holderSuffix());
        }
        if (FileClaims.isReadHereSharedBytes(file)) {
            throw ControlException.conflict(what + " " + file + " is open for reading in this daemon (a read-only "
                    + "export serves it, or a running job reads it): as the " + what + " it would be written under "
                    + "what is read");
        }
    }

    /** Refuses a new COW store larger than its file system holds, where that limit is certain (ext4, FAT). */
    private static void checkSize(Path cow, int sizeMiB) {
        Path parent = cow.getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw ControlException.badRequest("COW store " + cow + ": its directory " + parent + " does not exist");
        }
        long bytes = (long) sizeMiB << 20;
        try {
            FileStore store = Files.getFileStore(parent);
            String type = store.type().toLowerCase(Locale.ROOT);
            long limit = switch (type) {
                case "ext4" -> store.getBlockSize() > 0 && store.getBlockSize() <= Long.MAX_VALUE / EXT4_BLOCKS
                        ? EXT4_BLOCKS * store.getBlockSize() : Long.MAX_VALUE;
                case "vfat", "msdos", "fat" -> FAT_BYTES;
                default -> Long.MAX_VALUE;
            };
            if (bytes > limit) {
                throw ControlException.badRequest("cowStoreSizeMiB " + sizeMiB + " is too large for COW store " + cow
                        + ": its file system (" + type + ") holds files of at most " + limit + " bytes, cowStoreSizeMiB "
                        + (limit >> 20));
            }
        } catch (IOException | UnsupportedOperationException e) {
            // The limit is not known: the file system's own refusal will say it.
        }
    }
}
