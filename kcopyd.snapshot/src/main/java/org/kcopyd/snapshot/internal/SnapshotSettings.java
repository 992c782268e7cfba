package org.kcopyd.snapshot.internal;

import java.net.URI;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

import org.kcopyd.device.DeviceIdentity;
import org.kcopyd.device.DeviceUris;
import org.kcopyd.snapshot.Snapshot;

/**
 * One snapshot's configuration, checked: every value within its limits, or an
 * {@link IllegalArgumentException} naming the value and the limit.
 *
 * @param origin     the origin's path, or null for an origin named by URI
 * @param cowStoreId the identity of the COW store to adopt, or null if none is known yet
 * @param format     whether to make a new store over whatever is at {@code cowStore}
 * @param originId   the user's word that the origin, whose {@linkplain OriginIdentity identity}
 *                   this must be, is the one the COW store was made for, or null
 * @param originUri  the origin's URI when it is a device named by URI other than {@code file:}
 *                   (an NBD export, say), opened through {@code BlockDeviceOpener.open(URI)};
 *                   else null. Exactly one of {@code origin} and {@code originUri} is set.
 */
record SnapshotSettings(String name, Path origin, Path cowStore, int chunkSectors, long cowStoreSectors,
        int maxCopiesInFlight, Duration factoryWait, UUID cowStoreId, boolean format, String originId,
        URI originUri) {

    static final int MIN_CHUNK = 8;
    static final int MAX_CHUNK = 2048;
    static final long MAX_COW_MIB = 16_777_216L;
    static final int MAX_COPIES = 65_536;
    static final int MAX_WAIT_SECONDS = 3600;

    SnapshotSettings {
        checkName(name);
        String of = "snapshot '" + name + "': ";
        if ((origin == null) == (originUri == null)) {
            throw new IllegalArgumentException(of + "exactly one of an origin path and an origin URI is needed");
        }
        if (chunkSectors < MIN_CHUNK || chunkSectors > MAX_CHUNK || Integer.bitCount(chunkSectors) != 1) {
            throw new IllegalArgumentException(of + Snapshot.CONFIG_CHUNK_SECTORS + " " + chunkSectors
                    + " is not a power of two in " + MIN_CHUNK + ".." + MAX_CHUNK);
        }
        if (cowStoreSectors < 2048 || cowStoreSectors > MAX_COW_MIB * 2048) {
            throw new IllegalArgumentException(of + Snapshot.CONFIG_COW_STORE_SIZE_MIB + " " + cowStoreSectors / 2048
                    + " is outside 1.." + MAX_COW_MIB);
        }
        if (maxCopiesInFlight < 1 || maxCopiesInFlight > MAX_COPIES) {
            throw new IllegalArgumentException(of + Snapshot.CONFIG_MAX_COPIES_IN_FLIGHT + " " + maxCopiesInFlight
                    + " is outside 1.." + MAX_COPIES);
        }
        if (factoryWait.isNegative() || factoryWait.getSeconds() > MAX_WAIT_SECONDS) {
            throw new IllegalArgumentException(of + Snapshot.CONFIG_FACTORY_WAIT_SECONDS + " "
                    + factoryWait.getSeconds() + " is outside 0.." + MAX_WAIT_SECONDS);
        }
        if (originId != null && !DeviceIdentity.isWellFormed(originId)) {
            throw new IllegalArgumentException(of + Snapshot.CONFIG_ORIGIN_ID + " '" + originId + "' is not an origin "
                    + "identity as kcopyd prints it (such as file:dev=8:1:ino=1234, block:wwid=naa.5000c500a1b2c3d4 "
                    + "or, for an origin named by URI, nbd+unix:///disk?socket=/run/a.sock)");
        }
    }

    /** A snapshot of an origin file or block device. */
    SnapshotSettings(String name, Path origin, Path cowStore, int chunkSectors, long cowStoreSectors,
            int maxCopiesInFlight, Duration factoryWait, UUID cowStoreId, boolean format, String originId) {
        this(name, origin, cowStore, chunkSectors, cowStoreSectors, maxCopiesInFlight, factoryWait, cowStoreId, format,
                originId, null);
    }

    /**
     * Checks a configuration as Config Admin delivers it. An origin that starts like a URI
     * ({@code SCHEME://}, the command line's rule) is a device named by URI; a {@code file:} URI
     * names its file, which is then the origin as a path would be.
     */
    static SnapshotSettings of(SnapshotConfiguration c) {
        // The name first: every other message names the snapshot.
        String name = checkName(c.name());
        Path origin = null;
        URI originUri = null;
        if (DeviceUris.looksLikeUri(c.origin())) {
            try {
                originUri = DeviceUris.parse(c.origin());
                if (DeviceUris.FILE.equals(DeviceUris.scheme(originUri))) {
                    origin = DeviceUris.path(originUri);
                    originUri = null;
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("snapshot '" + name + "': " + Snapshot.CONFIG_ORIGIN + " "
                        + e.getMessage(), e);
            }
        } else {
            origin = path(name, Snapshot.CONFIG_ORIGIN, c.origin());
        }
        return new SnapshotSettings(name, origin, path(name, Snapshot.CONFIG_COW_STORE, c.cowStore()),
                c.chunkSectors(), c.cowStoreSizeMiB() * 2048L, c.maxCopiesInFlight(),
                Duration.ofSeconds(c.factoryWaitSeconds()), id(name, c.cowStoreId()), c.format(),
                c.originId() == null || c.originId().isBlank() ? null : c.originId().trim(), originUri);
    }

    /**
     * @param id the identity of the COW store the snapshot made or adopted
     * @return these settings adopting that store (and formatting nothing): what reopens the same snapshot
     */
    SnapshotSettings withCowStoreId(UUID id) {
        return new SnapshotSettings(name, origin, cowStore, chunkSectors, cowStoreSectors, maxCopiesInFlight,
                factoryWait, id, false, originId, originUri);
    }

    /** @return whether the origin is a device named by URI (no file: no claims, no file identity) */
    boolean remoteOrigin() {
        return originUri != null;
    }

    /** @return the origin as the configuration names it: its path or its URI, for messages and service properties */
    String originName() {
        return originUri != null ? originUri.toString() : origin.toString();
    }

    /** @return {@code name} if it follows {@link Snapshot#NAME_RULE} */
    static String checkName(String name) {
        if (!Snapshot.isValidName(name)) {
            throw new IllegalArgumentException("snapshot name " + (name == null ? "is missing" : "'" + name
                    + "' is not allowed") + ": a name is 1 to 64 characters of A-Z a-z 0-9 . _ -, not only dots ("
                    + Snapshot.NAME_RULE + ")");
        }
        return name;
    }

    private static Path path(String name, String property, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("snapshot '" + name + "': the configuration lacks '" + property + "'");
        }
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("snapshot '" + name + "': " + property + " '" + value
                    + "' is not a path: " + e.getReason(), e);
        }
    }

    private static UUID id(String name, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            UUID id = UUID.fromString(value.trim());
            if (id.toString().equalsIgnoreCase(value.trim())) {
                return id;
            }
        } catch (IllegalArgumentException e) {
            // Reported below with the rule.
        }
        throw new IllegalArgumentException("snapshot '" + name + "': " + Snapshot.CONFIG_COW_STORE_ID + " '" + value
                + "' is not a UUID (such as 123e4567-e89b-12d3-a456-426614174000)");
    }

    /** @return what the snapshot must be called in messages */
    String label() {
        return "snapshot '" + name + "'";
    }

    /**
     * @param storeId the identity of the store the snapshot has open
     * @return whether {@code next} describes the snapshot already open with these settings: equal
     *         but for the store's identity being recorded now (and format cleared)
     */
    boolean sameSnapshot(SnapshotSettings next, UUID storeId) {
        return storeId.equals(next.cowStoreId) && equals(new SnapshotSettings(next.name, next.origin, next.cowStore,
                next.chunkSectors, next.cowStoreSectors, next.maxCopiesInFlight, next.factoryWait, cowStoreId, format,
                next.originId, next.originUri));
    }
}
