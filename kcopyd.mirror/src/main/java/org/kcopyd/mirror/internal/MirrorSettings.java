package org.kcopyd.mirror.internal;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import org.kcopyd.device.DeviceUriIdentity;
import org.kcopyd.device.DeviceUris;
import org.kcopyd.mirror.Mirror;

/**
 * A mirror's configuration, checked: every refusal names the bad value and the limit, before
 * anything is opened or written.
 *
 * @param name                   the mirror's name
 * @param legs                   the legs, default leg first, as configured: absolute paths,
 *                               {@code service:NAME}, or URIs of devices ({@code nbd+unix:///?socket=/run/a.sock};
 *                               a value starting {@code SCHEME://} is a URI, a {@code file:} URI is
 *                               taken as its path)
 * @param regionSectors          the region size
 * @param regionLog              the region log's path
 * @param regionLogId            the identity of the region log to adopt, or null if none exists yet
 * @param format                 make a new log over whatever is at {@code regionLog}, unless it is the log
 *                               {@code regionLogId} names
 * @param resyncLegs             legs (as in {@code legs}) to bring back if the log records them failed
 * @param throttleBytesPerSecond the resync's bandwidth cap (0 = none)
 * @param throttleIoPercent      the resync's I/O time share
 */
record MirrorSettings(String name, List<String> legs, int regionSectors, Path regionLog, UUID regionLogId,
        boolean format, List<String> resyncLegs, long throttleBytesPerSecond, int throttleIoPercent) {

    MirrorSettings {
        legs = check(name, List.copyOf(legs), regionSectors, throttleBytesPerSecond, throttleIoPercent);
        resyncLegs = List.copyOf(resyncLegs);
        for (String leg : resyncLegs) {
            if (!legs.contains(leg)) {
                throw new IllegalArgumentException("mirror '" + name + "': " + Mirror.CONFIG_RESYNC_LEGS + " names '"
                        + leg + "', which is none of its legs " + legs);
            }
        }
    }

    /** @return whether {@code leg} (as the settings hold it) is a device named by URI, opened through the opener service */
    static boolean isUriLeg(String leg) {
        return DeviceUris.looksLikeUri(leg);
    }

    /**
     * @param c a configuration as Config Admin gave it
     * @return the checked settings
     * @throws IllegalArgumentException naming the first bad value and its limit
     */
    static MirrorSettings of(MirrorConfiguration c) {
        String name = c.name();
        if (!Mirror.isValidName(name)) {
            throw new IllegalArgumentException(nameProblem(name));
        }
        String[] legs = c.legs() == null ? new String[0] : c.legs();
        return new MirrorSettings(name, List.of(legs), c.regionSectors(), absolutePath(name, Mirror.CONFIG_REGION_LOG,
                c.regionLog()), uuid(name, c.regionLogId()), c.format(),
                c.resyncLegs() == null ? List.of() : List.of(c.resyncLegs()), c.throttleBytesPerSecond(),
                c.throttleIoPercent());
    }

    private static String nameProblem(String name) {
        return "mirror name " + (name == null ? "missing" : "'" + name + "' is not allowed")
                + ": 1 to 64 letters, digits, '.', '_' or '-', not only dots";
    }

    private static Path absolutePath(String mirror, String what, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("mirror '" + mirror + "' lacks '" + what + "'");
        }
        Path p;
        try {
            p = Path.of(value);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("mirror '" + mirror + "': " + what + " '" + value + "' is not a path: "
                    + e.getReason(), e);
        }
        if (!p.isAbsolute()) {
            throw new IllegalArgumentException("mirror '" + mirror + "': " + what + " '" + value + "' is a relative "
                    + "path; give an absolute one (a relative one would depend on the framework's working directory)");
        }
        return p;
    }

    private static UUID uuid(String mirror, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            UUID id = UUID.fromString(value.trim());
            if (id.toString().equalsIgnoreCase(value.trim())) {
                return id;
            }
        } catch (IllegalArgumentException e) {
            // Reported below with the value and the expected form.
        }
        throw new IllegalArgumentException("mirror '" + mirror + "': " + Mirror.CONFIG_REGION_LOG_ID + " '" + value
                + "' is not a UUID (8-4-4-4-12 hexadecimal digits)");
    }

    /**
     * @param sectors a region size
     * @return why it is refused, or null if it is allowed
     */
    static String regionSectorsProblem(long sectors) {
        if (!Mirror.isValidRegionSize(sectors)) {
            return "region size " + sectors + " sectors is not allowed: a power of two from " + Mirror.MIN_REGION_SECTORS
                    + " to " + Mirror.MAX_REGION_SECTORS + " sectors";
        }
        return null;
    }

    /** @return the legs, {@code file:} URIs as their paths */
    private static List<String> check(String name, List<String> legs, int regionSectors, long bytesPerSecond,
            int ioPercent) {
        if (!Mirror.isValidName(name)) {
            throw new IllegalArgumentException(nameProblem(name));
        }
        String prefix = "mirror '" + name + "': ";
        if (legs.size() < 2 || legs.size() > Mirror.MAX_LEGS) {
            String hint = legs.size() == 1 && legs.get(0).contains(",")
                    ? " ('" + legs.get(0) + "' is one leg: legs is a list, a comma does not separate legs)" : "";
            throw new IllegalArgumentException(prefix + legs.size() + " legs given, a mirror has 2 to " + Mirror.MAX_LEGS
                    + hint);
        }
        List<String> checked = new ArrayList<>();
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < legs.size(); i++) {
            String leg = legs.get(i);
            if (leg == null || leg.isBlank()) {
                throw new IllegalArgumentException(prefix + "leg " + i + " is empty");
            }
            String key = leg;
            if (leg.startsWith(Mirror.SERVICE_LEG)) {
                if (leg.length() == Mirror.SERVICE_LEG.length()) {
                    throw new IllegalArgumentException(prefix + "leg " + i + " '" + leg + "' names no device service");
                }
            } else {
                if (DeviceUris.looksLikeUri(leg)) {
                    URI uri;
                    try {
                        uri = DeviceUris.parse(leg);
                        if (DeviceUris.FILE.equals(DeviceUris.scheme(uri))) {
                            leg = DeviceUris.path(uri).toString();
                            key = leg;
                        } else {
                            // Two spellings of one export are one device: the same export twice is refused.
                            key = DeviceUriIdentity.of(uri);
                        }
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException(prefix + "leg " + i + " " + e.getMessage(), e);
                    }
                }
                if (!isUriLeg(leg)) {
                    absolutePath(name, "leg " + i, leg);
                }
                int bytes = leg.getBytes(StandardCharsets.UTF_8).length;
                if (bytes > Mirror.MAX_LEG_PATH_BYTES) {
                    throw new IllegalArgumentException(prefix + "leg " + i + (isUriLeg(leg) ? " URI" : " path") + " is "
                            + bytes + " bytes long, the region log records at most " + Mirror.MAX_LEG_PATH_BYTES);
                }
            }
            int earlier = seen.indexOf(key);
            if (earlier >= 0) {
                throw new IllegalArgumentException(prefix + "leg " + i + " '" + legs.get(i) + "' is leg " + earlier
                        + (legs.get(earlier).equals(legs.get(i)) ? "" : " '" + legs.get(earlier) + "'") + " already");
            }
            seen.add(key);
            checked.add(leg);
        }
        String regionProblem = regionSectorsProblem(regionSectors);
        if (regionProblem != null) {
            throw new IllegalArgumentException(prefix + regionProblem);
        }
        if (bytesPerSecond < 0 || (bytesPerSecond > 0 && bytesPerSecond < 4096)) {
            throw new IllegalArgumentException(prefix + Mirror.CONFIG_THROTTLE_BYTES_PER_SECOND + " " + bytesPerSecond
                    + " is not allowed: 0 (no cap) or at least 4096");
        }
        if (ioPercent < 1 || ioPercent > 100) {
            throw new IllegalArgumentException(prefix + Mirror.CONFIG_THROTTLE_IO_PERCENT + " " + ioPercent
                    + " is outside 1..100");
        }
        return List.copyOf(checked);
    }

    /**
     * @param other the new settings
     * @return true if the mirror must be closed and opened again for them: anything but the
     *         throttle, error handling and format changed, or legs are to be brought back. A
     *         configuration that names no log identity keeps the open log (the mirror records its
     *         identity again).
     */
    boolean structurallyDifferent(MirrorSettings other) {
        return !name.equals(other.name) || !legs.equals(other.legs) || regionSectors != other.regionSectors
                || !regionLog.equals(other.regionLog) || !other.resyncLegs.isEmpty()
                || other.regionLogId != null && !other.regionLogId.equals(regionLogId);
    }

    /** @return these settings naming the log that was adopted or made */
    MirrorSettings withRegionLogId(UUID id) {
        return new MirrorSettings(name, legs, regionSectors, regionLog, id, format, resyncLegs, throttleBytesPerSecond,
                throttleIoPercent);
    }

    /** @return the claim purpose of leg {@code i} */
    String legPurpose(int i) {
        return "leg " + i + " of mirror " + name;
    }

    /** @return the claim purpose of the region log */
    String logPurpose() {
        return "the region log of mirror " + name;
    }
}
