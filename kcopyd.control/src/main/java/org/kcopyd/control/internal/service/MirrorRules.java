package org.kcopyd.control.internal.service;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.UUID;

import org.kcopyd.control.ControlException;
import org.kcopyd.control.MirrorRequest;
import org.kcopyd.device.DeviceUriIdentity;
import org.kcopyd.device.DeviceUris;
import org.kcopyd.mirror.Mirror;

/**
 * The checks of a mirror request that need no mirror bundle, in the command line's words
 * ({@code kcopyd mirror create} makes the same ones): the name, region size, bandwidth cap, number
 * of legs, each leg (an absolute path of a usable device, a device URI, or {@code service:NAME};
 * recorded lengths), no leg twice in any spelling, the region log a file of its own. The mirror
 * component checks everything again and decides what an existing log holds. Stateless.
 */
final class MirrorRules {

    private MirrorRules() {
    }

    /** @return the configuration properties of the requested mirror */
    static Hashtable<String, Object> check(MirrorRequest r) {
        SnapshotRules.requireName("mirror", r.name());
        int regionSectors = r.regionSectors() == null ? Mirror.DEFAULT_REGION_SECTORS : r.regionSectors();
        if (!Mirror.isValidRegionSize(regionSectors)) {
            throw ControlException.badRequest("regionSectors " + regionSectors + " is not allowed: "
                    + Allowed.REGION_SECTORS);
        }
        long bandwidth = r.throttleBytesPerSecond() == null ? 0 : r.throttleBytesPerSecond();
        if (bandwidth < 0 || bandwidth > 0 && bandwidth < 4096) {
            throw ControlException.badRequest("throttleBytesPerSecond " + bandwidth + " is not allowed: "
                    + Allowed.THROTTLE_BYTES_PER_SECOND);
        }
        if (r.legs() == null || r.legs().size() < 2 || r.legs().size() > Mirror.MAX_LEGS) {
            throw ControlException.badRequest((r.legs() == null ? "legs is missing" : r.legs().size() + " legs given")
                    + ": a mirror has 2 to " + Mirror.MAX_LEGS);
        }
        UUID id = null;
        if (r.regionLogId() != null) {
            try {
                id = UUID.fromString(r.regionLogId());
            } catch (IllegalArgumentException e) {
                throw ControlException.badRequest("regionLogId '" + Text.printable(r.regionLogId()) + "' is not a UUID "
                        + "(8-4-4-4-12 hexadecimal digits)");
            }
            if (r.format()) {
                throw ControlException.badRequest("regionLogId and format exclude each other: regionLogId uses an "
                        + "existing region log, format makes a new one");
            }
        }
        Path log = regionLog(r.regionLog());
        List<String> legs = new ArrayList<>();
        for (int i = 0; i < r.legs().size(); i++) {
            legs.add(leg(i, r.legs().get(i), log, legs));
        }
        if (!DeviceKinds.present(log) && id != null) {
            throw ControlException.badRequest("no region log at " + log + " to use (regionLogId " + id + ")");
        }
        // Files another device holds are in use (CONFLICT), after the checks that the request itself is right.
        try {
            if (DeviceKinds.present(log)) {
                SnapshotRules.refuseHeld(log, "region log");
            }
            for (int i = 0; i < legs.size(); i++) {
                if (!DeviceUris.looksLikeUri(legs.get(i)) && !legs.get(i).startsWith(Mirror.SERVICE_LEG)) {
                    SnapshotRules.refuseHeld(Path.of(legs.get(i)), "leg " + i);
                }
            }
        } catch (IOException e) {
            throw ControlException.badRequest("cannot examine the mirror's files: " + e.getMessage());
        }
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Mirror.CONFIG_NAME, r.name());
        props.put(Mirror.CONFIG_REGION_LOG, log.toString());
        props.put(Mirror.CONFIG_LEGS, legs.toArray(new String[0]));
        props.put(Mirror.CONFIG_REGION_SECTORS, regionSectors);
        props.put(Mirror.CONFIG_THROTTLE_BYTES_PER_SECOND, bandwidth);
        if (id != null) {
            props.put(Mirror.CONFIG_REGION_LOG_ID, id.toString());
        }
        if (r.format()) {
            props.put(Mirror.CONFIG_FORMAT, true);
        }
        return props;
    }

    /** @return the region log's path, checked: absolute; if something is there, a usable file */
    static Path regionLog(String value) {
        Path log = SnapshotRules.absolute("regionLog", SnapshotRules.require("regionLog", value));
        if (Files.exists(log)) {
            DeviceKinds.requireDevice(log, "region log");
        } else if (Files.isSymbolicLink(log)) {
            throw ControlException.badRequest("region log " + log + " is a symbolic link to nothing");
        }
        return log;
    }

    /**
     * @param index  the leg's place, for messages
     * @param value  the leg as requested
     * @param log    the region log
     * @param others the legs before it, as they will be configured
     * @return the leg as it is configured: a path made absolute and normalized, a URI, {@code service:NAME}
     */
    static String leg(int index, String value, Path log, List<String> others) {
        String what = "leg " + index;
        String leg = SnapshotRules.require(what, value);
        Path path = null;
        if (leg.startsWith(Mirror.SERVICE_LEG)) {
            if (leg.length() == Mirror.SERVICE_LEG.length()) {
                throw ControlException.badRequest(what + " '" + leg + "' names no device service");
            }
        } else if (DeviceUris.looksLikeUri(leg)) {
            URI uri;
            try {
                uri = DeviceUris.parse(leg);
                if (DeviceUris.FILE.equals(DeviceUris.scheme(uri))) {
                    path = DeviceUris.path(uri);
                    ProcessPaths.refuseProcessView(what, path);
                }
            } catch (IllegalArgumentException e) {
                throw ControlException.badRequest(what + " " + Text.printable(e.getMessage()));
            }
            leg = path == null ? uri.toString() : path.toString();
        } else {
            path = SnapshotRules.absolute(what, leg);
            leg = path.toString();
        }
        if (path != null) {
            DeviceKinds.requireDevice(path, what);
            if (sameFile(path, log)) {
                throw ControlException.badRequest("regionLog " + log + " is " + what + " " + path
                        + "; the region log must be a file of its own");
            }
        }
        int bytes = leg.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > Mirror.MAX_LEG_PATH_BYTES) {
            throw ControlException.badRequest(what + " is " + bytes + " bytes long, at most " + Mirror.MAX_LEG_PATH_BYTES);
        }
        for (int j = 0; j < others.size(); j++) {
            String other = others.get(j);
            if (other == null) {
                // The leg being replaced: its place keeps the other legs' numbers.
                continue;
            }
            if (other.equals(leg) || path != null && !DeviceUris.looksLikeUri(other) && !other.startsWith(Mirror.SERVICE_LEG)
                    && sameFile(path, Path.of(other)) || sameUri(leg, other)) {
                throw ControlException.badRequest(what + " " + leg + " is leg " + j + " " + other + " already");
            }
        }
        return leg;
    }

    /** @return whether both are device URIs naming one export (any spelling: the resolved socket or address) */
    static boolean sameUri(String a, String b) {
        if (!DeviceUris.looksLikeUri(a) || !DeviceUris.looksLikeUri(b)) {
            return false;
        }
        try {
            return DeviceUriIdentity.of(DeviceUris.parse(a)).equals(DeviceUriIdentity.of(DeviceUris.parse(b)));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Both exist and are one file (any spelling, links); the mirror's claims catch the rest. */
    static boolean sameFile(Path a, Path b) {
        try {
            return Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }
}
