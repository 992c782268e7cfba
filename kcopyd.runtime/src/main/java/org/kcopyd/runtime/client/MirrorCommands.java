package org.kcopyd.runtime.client;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * {@code mirror create|status|remove|replace-leg} against the daemon, with kcopyd.cli's syntax
 * (same positional order and option names) and output lines. Stateless.
 */
final class MirrorCommands {

    /** The most legs of a mirror (kcopyd.mirror's Mirror.MAX_LEGS). */
    static final int MAX_LEGS = 16;
    /** The region size's bounds and default, in sectors (kcopyd.mirror's Mirror). */
    static final int MIN_REGION_SECTORS = 8;
    static final int MAX_REGION_SECTORS = 1 << 20;
    static final int DEFAULT_REGION_SECTORS = 1024;
    private static final String SERVICE_LEG = "service:";

    private MirrorCommands() {
    }

    static Map<String, ThinClient.Command> commands() {
        Map<String, ThinClient.Command> m = new LinkedHashMap<>();
        m.put("create", new ThinClient.Command(new Arguments.Spec("mirror create NAME LOG LEG0 LEG1 [LEG...] "
                + "[--region-sectors N] [--bandwidth BYTES] [--log-id UUID | --format] [--wait]", 4, 2 + MAX_LEGS,
                Set.of("--region-sectors", "--bandwidth", "--log-id"), Set.of("--format", "--wait")),
                "Creates a mirror in the daemon over LEG0 (copied to the others) and the other legs (2 to 16: paths, "
                + "device URIs, service:NAME), with its dirty-region log at LOG (created if nothing is there; --log-id "
                + "uses an existing log, --format overwrites a file that is not one). --region-sectors: a power of two "
                + "from 8 to 1048576 (default 1024); --bandwidth: resync cap in bytes per second, 0 (none) or at least "
                + "4096. The resync goes on in the daemon; --wait waits until every leg is in sync (Ctrl-C stops the "
                + "waiting, not the resync).", MirrorCommands::create));
        m.put("status", new ThinClient.Command(new Arguments.Spec("mirror status [NAME]", 0, 1, Set.of(), Set.of()),
                "Shows each leg (in sync, resyncing, failed) and the resync progress of every mirror, or of NAME.",
                MirrorCommands::status));
        m.put("remove", new ThinClient.Command(new Arguments.Spec("mirror remove NAME", 1, 1, Set.of(), Set.of()),
                "Removes the mirror; legs and log stay, and the printed 'mirror create ... --log-id' uses them again.",
                MirrorCommands::remove));
        m.put("replace-leg", new ThinClient.Command(new Arguments.Spec("mirror replace-leg NAME LEG DEVICE", 3, 3,
                Set.of(), Set.of()), "Replaces leg number LEG (0, 1, ...) of mirror NAME with DEVICE, which is then "
                + "resynchronised.", MirrorCommands::replaceLeg));
        return m;
    }

    /** A word as a shell reads it back: quoted when it holds anything but plain path characters. */
    static String quoted(String word) {
        return word.matches("[A-Za-z0-9._/:,=+@%-]+") ? word : "'" + Json.printable(word).replace("'", "'\\''") + "'";
    }

    private static int create(Session s, Arguments a) {
        String name = DeviceNames.name("mirror", a.get(0));
        long regionSectors = a.number("--region-sectors", DEFAULT_REGION_SECTORS, MIN_REGION_SECTORS, MAX_REGION_SECTORS);
        if (Long.bitCount(regionSectors) != 1) {
            throw ClientException.usage("--region-sectors " + regionSectors + " is not allowed: a power of two from "
                    + MIN_REGION_SECTORS + " to " + MAX_REGION_SECTORS + " sectors");
        }
        long bandwidth = a.number("--bandwidth", 0, 0, Long.MAX_VALUE / 2);
        if (bandwidth > 0 && bandwidth < 4096) {
            throw ClientException.usage("--bandwidth " + bandwidth + " is not allowed: 0 (no cap) or at least 4096 bytes "
                    + "per second");
        }
        String logId = a.value("--log-id");
        if (logId != null && a.flag("--format")) {
            throw ClientException.usage("--log-id and --format cannot be used together: one uses the existing region "
                    + "log, the other overwrites a file that is not one");
        }
        if (logId != null) {
            try {
                UUID.fromString(logId);
            } catch (IllegalArgumentException e) {
                throw ClientException.usage("--log-id '" + Json.printable(logId) + "' is not a UUID (8-4-4-4-12 "
                        + "hexadecimal digits)");
            }
        }
        String log = DeviceNames.path("LOG", a.get(1), s.cwd());
        JsonArray legs = new JsonArray();
        List<String> seen = new ArrayList<>();
        List<String> given = a.from(2);
        for (int i = 0; i < given.size(); i++) {
            String leg = given.get(i);
            String value;
            if (leg.startsWith(SERVICE_LEG)) {
                if (leg.length() == SERVICE_LEG.length()) {
                    throw ClientException.usage("leg " + i + " '" + Json.printable(leg) + "' names no device service");
                }
                value = leg;
            } else {
                value = DeviceNames.device("leg " + i, leg, s.cwd());
            }
            if (value.equals(log)) {
                throw ClientException.usage("LOG " + Json.printable(log) + " is leg " + i + "; the region log must be a "
                        + "file of its own");
            }
            // One file spelt twice (a/./b, a//b) is caught here; links and other names for it by the daemon.
            String key = value.startsWith("/") ? java.nio.file.Path.of(value).normalize().toString() : value;
            int j = seen.indexOf(key);
            if (j >= 0) {
                throw ClientException.usage("leg " + i + " " + Json.printable(value) + " is leg " + j + " already");
            }
            seen.add(key);
            legs.add(value);
        }
        JsonObject body = new JsonObject();
        body.addProperty("name", name);
        body.add("legs", legs);
        body.addProperty("regionLog", log);
        if (a.value("--region-sectors") != null) {
            body.addProperty("regionSectors", regionSectors);
        }
        if (a.value("--bandwidth") != null) {
            body.addProperty("throttleBytesPerSecond", bandwidth);
        }
        if (logId != null) {
            body.addProperty("regionLogId", logId.toLowerCase(Locale.ROOT));
        }
        if (a.flag("--format")) {
            body.addProperty("format", true);
        }
        JsonObject mirror = s.call("POST", "/api/v1/mirrors", body);
        if (a.flag("--wait") && !inSync(mirror)) {
            JsonObject created = mirror;
            mirror = s.waiting("the resync of mirror " + name, s.follow("mirror status " + name) + " shows it", () -> {
                // Within the wait: a signal from the moment this line is out is reported.
                s.say("mirror " + name + " created; waiting until every leg is in sync");
                s.out().flush();
                JsonObject now = created;
                while (!inSync(now) && !withoutSource(now)) {
                    s.pause();
                    now = s.call("GET", "/api/v1/mirrors/" + name, null);
                }
                return now;
            });
        }
        print(s, mirror);
        String id = Json.string(mirror, "regionLogId");
        s.say("  region log " + Json.printable(Json.string(mirror, "regionLog", log))
                + (id == null ? "" : "  id " + Json.printable(id)));
        if (a.flag("--wait")) {
            String failed = failedLegs(mirror);
            if (withoutSource(mirror)) {
                throw new ClientException(ExitCodes.FAILED, "failed", "mirror " + name + " cannot be resynced: no leg is "
                        + "in sync to copy from (" + failed + "); it keeps its legs and log: remove it, and make it "
                        + "again with a leg that holds the data first");
            }
            if (failed != null) {
                throw new ClientException(ExitCodes.FAILED, "failed", "mirror " + name + " is in sync without " + failed);
            }
        }
        return s.done(mirror);
    }

    /** @return whether no region is left to resync and no leg is resyncing */
    private static boolean inSync(JsonObject mirror) {
        if (Json.whole(mirror, "regionsToResync", 0) > 0) {
            return false;
        }
        for (JsonElement leg : Json.array(mirror, "legs")) {
            if ("resyncing".equals(Json.string(leg.getAsJsonObject(), "state"))) {
                return false;
            }
        }
        return true;
    }

    /**
     * @return whether the mirror is open with a failed leg and no leg in sync: the legs still to resync
     *         have nothing to be copied from (H41: --wait waited for ever when leg 0 failed in the first resync)
     */
    private static boolean withoutSource(JsonObject mirror) {
        if (!"active".equals(Json.string(mirror, "state", "active")) || failedLegs(mirror) == null) {
            return false;
        }
        for (JsonElement leg : Json.array(mirror, "legs")) {
            if ("in-sync".equals(Json.string(leg.getAsJsonObject(), "state"))) {
                return false;
            }
        }
        return true;
    }

    /** @return the failed legs in words, or null */
    private static String failedLegs(JsonObject mirror) {
        List<String> failed = new ArrayList<>();
        for (JsonElement e : Json.array(mirror, "legs")) {
            JsonObject leg = e.getAsJsonObject();
            if ("failed".equals(Json.string(leg, "state"))) {
                failed.add("leg " + Json.whole(leg, "index", -1) + " " + Json.printable(Json.string(leg, "device"))
                        + " (" + Json.printable(Json.string(leg, "failure", "failed")) + ")");
            }
        }
        return failed.isEmpty() ? null : String.join(", ", failed);
    }

    /**
     * Prints a mirror as kcopyd.cli's mirror status does. Its first line says "in sync" only for an
     * open mirror with nothing to resync and no failed leg: a mirror that is not open says its
     * state and why ("waiting: ..."), one with failed legs names them ("degraded: leg 1 failed"), one
     * with no leg in sync says that it serves nothing ("no leg in sync, reads and writes fail: ...").
     */
    static void print(Session s, JsonObject m) {
        long toResync = Json.whole(m, "regionsToResync", 0);
        long resynced = Json.whole(m, "regionsResynced", 0);
        Double rate = Json.number(m, "resyncBytesPerSecond");
        String state = Json.string(m, "state");
        List<String> failed = new ArrayList<>();
        boolean inSync = false;
        for (JsonElement e : Json.array(m, "legs")) {
            if ("failed".equals(Json.string(e.getAsJsonObject(), "state"))) {
                failed.add("leg " + Json.whole(e.getAsJsonObject(), "index", -1));
            }
            inSync |= "in-sync".equals(Json.string(e.getAsJsonObject(), "state"));
        }
        String progress;
        if (state != null && !"active".equals(state)) {
            progress = Json.printable(state) + ": " + Json.printable(Json.string(m, "reason", "no reason given"));
        } else {
            progress = toResync == 0 ? "in sync" : String.format(Locale.ROOT, "resync %d/%d regions, %s/s", resynced,
                    resynced + toResync, Json.bytes(rate == null ? 0 : rate));
            if (!inSync) {
                // H43 F7: "degraded" understated it: no leg holds all the data, every read and write fails.
                progress = "no leg in sync, reads and writes fail" + (failed.isEmpty() ? "" : ": "
                        + String.join(", ", failed) + " failed") + "; " + toResync + " regions not resynced";
            } else if (!failed.isEmpty()) {
                progress = "degraded: " + String.join(", ", failed) + " failed" + (toResync == 0 ? "" : "; " + progress);
            }
        }
        s.say(Json.printable(Json.string(m, "name")) + "  " + Json.whole(m, "regions", 0) + " regions  " + progress);
        for (JsonElement e : Json.array(m, "legs")) {
            JsonObject leg = e.getAsJsonObject();
            String failure = Json.string(leg, "failure");
            s.say("  leg " + Json.whole(leg, "index", -1) + "  " + Json.printable(Json.string(leg, "state")) + "  "
                    + Json.printable(Json.string(leg, "device")) + (failure == null ? "" : "  (" + Json.printable(failure)
                    + ")"));
        }
    }

    private static int status(Session s, Arguments a) {
        String name = a.optional(0);
        if (name != null) {
            JsonObject m = s.call("GET", "/api/v1/mirrors/" + DeviceNames.name("mirror", name), null);
            print(s, m);
            return s.done(m);
        }
        JsonObject all = s.call("GET", "/api/v1/mirrors", null);
        for (JsonElement e : Json.array(all, "mirrors")) {
            print(s, e.getAsJsonObject());
        }
        if (Json.array(all, "mirrors").isEmpty()) {
            s.say("no mirrors");
        }
        return s.done(all);
    }

    private static int remove(Session s, Arguments a) {
        String name = DeviceNames.name("mirror", a.get(0));
        JsonObject m = s.call("GET", "/api/v1/mirrors/" + name, null);
        JsonObject removed = s.call("DELETE", "/api/v1/mirrors/" + name, null);
        s.say("mirror " + name + " removed");
        String id = Json.string(m, "regionLogId");
        if (id != null) {
            List<String> words = new ArrayList<>(List.of("mirror", "create", name, Json.string(m, "regionLog", "")));
            for (JsonElement leg : Json.array(m, "legs")) {
                words.add(Json.string(leg.getAsJsonObject(), "device", ""));
            }
            long regionSectors = Json.whole(m, "regionSectors", DEFAULT_REGION_SECTORS);
            if (regionSectors != DEFAULT_REGION_SECTORS && regionSectors != 0) {
                words.addAll(List.of("--region-sectors", Long.toString(regionSectors)));
            }
            long cap = Json.whole(m, "throttleBytesPerSecond", 0);
            if (cap != 0) {
                words.addAll(List.of("--bandwidth", Long.toString(cap)));
            }
            words.addAll(List.of("--log-id", id));
            String state = Json.string(m, "state", "active");
            s.say(("active".equals(state) ? "legs and region log stay; to use them again: "
                    : "legs and region log stay; the mirror was " + Json.printable(state) + ", not open, so whether "
                    + Json.printable(Json.string(m, "regionLog", "")) + " is still its region log " + id
                    + " was not checked; if it is, this uses them again: ")
                    + String.join(" ", words.stream().map(MirrorCommands::quoted).toList()));
        }
        return s.done(removed);
    }

    private static int replaceLeg(Session s, Arguments a) {
        String name = DeviceNames.name("mirror", a.get(0));
        String index = a.get(1);
        if (!index.matches("[0-9]{1,2}") || Integer.parseInt(index) >= MAX_LEGS) {
            throw ClientException.usage("LEG '" + Json.printable(index) + "' is not a leg number: 0 to " + (MAX_LEGS - 1));
        }
        String with = a.get(2).startsWith(SERVICE_LEG) ? a.get(2) : DeviceNames.device("DEVICE", a.get(2), s.cwd());
        JsonObject body = new JsonObject();
        body.addProperty("leg", Integer.parseInt(index));
        body.addProperty("with", with);
        // What the leg was: its own device again brings a failed leg back (H43 F6) or resyncs one in sync (H45 F4);
        // the leg's status after says so only until its resync ends, which on a small mirror is at once.
        JsonArray legsBefore = s.call("GET", "/api/v1/mirrors/" + name, null).getAsJsonArray("legs");
        JsonObject m = s.call("POST", "/api/v1/mirrors/" + name + "/replace-leg", body);
        int i = Integer.parseInt(index);
        JsonObject was = i < legsBefore.size() ? legsBefore.get(i).getAsJsonObject() : null;
        boolean same = was != null && was.get("device").getAsString()
                .equals(m.getAsJsonArray("legs").get(i).getAsJsonObject().get("device").getAsString());
        s.say("leg " + index + " of mirror " + name + (!same ? " replaced by " + Json.printable(with)
                : "failed".equals(was.get("state").getAsString()) ? " brought back: " + Json.printable(with)
                + " is resynced fully" : " being resynced fully from a leg in sync, as asked: " + Json.printable(with)));
        print(s, m);
        return s.done(m);
    }
}
