package org.kcopyd.control.internal.service;

import org.kcopyd.mirror.Mirror;

/**
 * What each field of a request allows, in the words refusals use: the checks here name it when a
 * value is out of range, and the HTTP API names it when a value is of the wrong JSON type, so both
 * refusals of one field say the same. Each is a noun phrase, read after "allowed: ".
 */
public final class Allowed {

    /** The smallest chunk of a snapshot, in sectors (kcopyd.snapshot's rule, {@code Snapshot.CONFIG_CHUNK_SECTORS}). */
    static final int MIN_CHUNK_SECTORS = 8;
    /** The largest chunk of a snapshot, in sectors. */
    static final int MAX_CHUNK_SECTORS = 2048;

    /** Snapshot, mirror and export names. */
    public static final String NAME = "1 to 64 characters of A-Z a-z 0-9 . _ -, not only dots";
    /** A device a job reads or writes, or an export serves. */
    public static final String DEVICE = "an absolute path, a device URI, snapshot:NAME, origin:NAME or mirror:NAME";
    /** A snapshot's origin. */
    public static final String ORIGIN = "an absolute path of a file or block device, or a device URI";
    /** A file the daemon makes or reads by name: a COW store, a region log, a socket, a directory. */
    public static final String PATH = "an absolute path";
    /** A snapshot's chunk size. */
    public static final String CHUNK_SECTORS = powersOfTwo(MIN_CHUNK_SECTORS, MAX_CHUNK_SECTORS);
    /** A new COW store's size. */
    public static final String COW_STORE_SIZE_MIB = "1 to " + SnapshotRules.MAX_SIZE_MIB + " MiB";
    /** An identity of a COW store or region log. */
    public static final String UUID = "a UUID such as 123e4567-e89b-12d3-a456-426614174000";
    /** A moved origin's identity. */
    public static final String ORIGIN_ID = "the origin's identity as a refusal printed it";
    /** A mirror's legs. */
    public static final String LEGS = "2 to " + Mirror.MAX_LEGS + " legs, each an absolute path, a device URI or "
            + "service:NAME";
    /** A leg that replaces another. */
    public static final String LEG = "an absolute path, a device URI or service:NAME";
    /** The index of the leg to replace. */
    public static final String LEG_INDEX = "the index of a leg other than leg 0 (1, 2, ...)";
    /** A mirror's region size. */
    public static final String REGION_SECTORS = "a power of two from " + Mirror.MIN_REGION_SECTORS + " to "
            + Mirror.MAX_REGION_SECTORS + " sectors";
    /** A mirror's resync throttle. */
    public static final String THROTTLE_BYTES_PER_SECOND = "0 (no cap) or at least 4096 bytes per second";
    /** An export's TCP address. */
    public static final String LISTEN = "HOST:PORT, such as 127.0.0.1:10809";
    /** An export's connection limit. */
    public static final String MAX_CONNECTIONS = "1 to " + Exports.MAX_CONNECTIONS;
    /** A job's kind. */
    public static final String KIND = "copy or zero";
    /** A job's destinations. */
    public static final String DESTINATIONS = "1 to " + Jobs.MAX_DESTINATIONS + " devices, each " + DEVICE;
    /** A copy job's sparse mode. */
    public static final String SPARSE = "auto, always or never";

    private Allowed() {
    }

    /** @return "a power of two in MIN..MAX (MIN, 2 MIN, ... or MAX sectors)", as kcopyd.snapshot words the range */
    static String powersOfTwo(int min, int max) {
        StringBuilder each = new StringBuilder();
        for (int n = min; n <= max && n > 0; n <<= 1) {
            each.append(n == min ? "" : n == max ? " or " : ", ").append(n);
        }
        return "a power of two in " + min + ".." + max + " (" + each + " sectors)";
    }
}
