package org.kcopyd.runtime.client;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * {@code snapshot create|list|merge|remove} against the daemon, with kcopyd.cli's syntax (same
 * positional order and option names) and output lines. Stateless.
 */
final class SnapshotCommands {

    /** The largest COW store snapshot create makes, in MiB (16 TiB), as kcopyd.cli. */
    static final int MAX_SIZE_MIB = 16_777_216;
    /** The daemon's chunk size when none is given (the snapshot component's default). */
    static final long DEFAULT_CHUNK_SECTORS = 16;

    private SnapshotCommands() {
    }

    static Map<String, ThinClient.Command> commands() {
        Map<String, ThinClient.Command> m = new LinkedHashMap<>();
        m.put("create", new ThinClient.Command(new Arguments.Spec("snapshot create NAME ORIGIN COW [--chunk-sectors N] "
                + "[--size-mib N] [--cow-store-id ID | --format] [--origin-id IDENTITY]", 3, 3,
                Set.of("--chunk-sectors", "--size-mib", "--cow-store-id", "--origin-id"), Set.of("--format")),
                "Takes a snapshot of ORIGIN (a path, a device URI, or mirror:NAME) now in the daemon, keeping copied "
                + "chunks in the COW store COW (created if nothing is there; --cow-store-id reopens an existing store, "
                + "--format overwrites a file that is not one). Write to the origin through origin:NAME from then on. "
                + "--chunk-sectors: a power of two in 8..2048 (default 16); --size-mib: 1..16777216 (default 1024).",
                SnapshotCommands::create));
        m.put("list", new ThinClient.Command(new Arguments.Spec("snapshot list", 0, 0, Set.of(), Set.of()),
                "Lists the daemon's snapshots with their state, COW usage and COW store identity.",
                SnapshotCommands::list));
        m.put("merge", new ThinClient.Command(new Arguments.Spec("snapshot merge NAME", 1, 1, Set.of(), Set.of()),
                "Rolls the origin back to the snapshot, waiting until the merge job ends (Ctrl-C stops the waiting, "
                + "not the merge); the snapshot is removed when it completes.", SnapshotCommands::merge));
        m.put("remove", new ThinClient.Command(new Arguments.Spec("snapshot remove NAME", 1, 1, Set.of(), Set.of()),
                "Removes the snapshot; its COW store file stays, and snapshot create with --cow-store-id reopens it. "
                + "Exports of snapshot:NAME or origin:NAME must be removed first.", SnapshotCommands::remove));
        return m;
    }

    private static int create(Session s, Arguments a) {
        String name = DeviceNames.name("snapshot", a.get(0));
        long chunkSectors = a.number("--chunk-sectors", DEFAULT_CHUNK_SECTORS, 8, 2048);
        if (Long.bitCount(chunkSectors) != 1) {
            throw ClientException.usage("--chunk-sectors " + chunkSectors + " is not a power of two in 8..2048");
        }
        long sizeMiB = a.number("--size-mib", 1024, 1, MAX_SIZE_MIB);
        String storeId = a.value("--cow-store-id");
        if (storeId != null && a.flag("--format")) {
            throw ClientException.usage("--cow-store-id and --format cannot be used together: one reopens the existing "
                    + "store, the other overwrites a file that is not one");
        }
        if (storeId != null && !isUuid(storeId)) {
            throw ClientException.usage("--cow-store-id '" + Json.printable(storeId) + "' is not a UUID (such as "
                    + "123e4567-e89b-12d3-a456-426614174000)");
        }
        String originId = a.value("--origin-id");
        if (originId != null && originId.isBlank()) {
            throw ClientException.usage("--origin-id is empty: give ORIGIN's identity as a refusal printed it");
        }
        JsonObject body = new JsonObject();
        body.addProperty("name", name);
        body.addProperty("origin", DeviceNames.device("origin", a.get(1), s.cwd()));
        body.addProperty("cowStore", DeviceNames.path("COW store", a.get(2), s.cwd()));
        if (a.value("--chunk-sectors") != null) {
            body.addProperty("chunkSectors", chunkSectors);
        }
        if (a.value("--size-mib") != null) {
            body.addProperty("cowStoreSizeMiB", sizeMiB);
        }
        if (storeId != null) {
            body.addProperty("cowStoreId", storeId.toLowerCase(java.util.Locale.ROOT));
        }
        if (a.flag("--format")) {
            body.addProperty("format", true);
        }
        if (originId != null) {
            body.addProperty("originId", originId.trim());
        }
        JsonObject snap = s.call("POST", "/api/v1/snapshots", body);
        String id = Json.string(snap, "cowStoreId");
        s.say("snapshot " + name + " of " + Json.printable(Json.string(snap, "origin", body.get("origin").getAsString()))
                + " " + (storeId != null ? "reopened" : "taken") + " (COW store "
                + Json.printable(Json.string(snap, "cowStore", body.get("cowStore").getAsString()))
                + (id == null ? "" : ", id " + Json.printable(id)) + ", " + Json.whole(snap, "chunksCapacity", 0)
                + " chunks of " + Json.whole(snap, "chunkSectors", chunkSectors) + " sectors)");
        return s.done(snap);
    }

    private static boolean isUuid(String text) {
        try {
            return UUID.fromString(text).toString().equalsIgnoreCase(text);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static int list(Session s, Arguments a) {
        JsonObject all = s.call("GET", "/api/v1/snapshots", null);
        for (JsonElement e : Json.array(all, "snapshots")) {
            JsonObject snap = e.getAsJsonObject();
            String id = Json.string(snap, "cowStoreId");
            String reason = Json.string(snap, "invalidReason");
            String state = Json.string(snap, "state", "");
            // A snapshot that is not open has no count of its store's chunks to show (the daemon says 0/0).
            String chunks = state.equals("waiting") || state.equals("failed") ? ""
                    : "  " + Json.whole(snap, "chunksUsed", 0) + "/" + Json.whole(snap, "chunksCapacity", 0) + " chunks";
            s.say(Json.printable(Json.string(snap, "name")) + "  " + Json.printable(state) + chunks
                    + (id == null ? "" : "  id " + Json.printable(id))
                    + (reason == null ? "" : "  (" + Json.printable(reason) + ")"));
        }
        if (Json.array(all, "snapshots").isEmpty()) {
            s.say("no snapshots");
        }
        return s.done(all);
    }

    private static int merge(Session s, Arguments a) {
        String name = DeviceNames.name("snapshot", a.get(0));
        JsonObject snap = s.call("GET", "/api/v1/snapshots/" + name, null);
        long chunks = Json.whole(snap, "chunksUsed", 0);
        JsonObject job = s.call("POST", "/api/v1/snapshots/" + name + "/merge", null);
        // The snapshot's COW store records the merge, and its configuration that it is to be removed at the end
        // (removeWhenMerged): a daemon started again resumes the merge and removes the snapshot when it completes.
        job = JobCommands.await(s, job, "merge job " + Json.string(job, "id", "?") + " of snapshot " + name, "",
                "the merge resumes when the daemon starts again (the origin shows the snapshot meanwhile), and snapshot "
                        + name + " is removed when it completes");
        String state = Json.string(job, "state", "");
        if (!state.equals("completed")) {
            throw new ClientException(ExitCodes.FAILED, "failed", "merging '" + name + "' " + state + ": "
                    + JobCommands.why(job));
        }
        s.say("snapshot " + name + " merged into its origin (" + chunks + " chunks) and removed; its COW store "
                + Json.printable(Json.string(snap, "cowStore", "")) + " stays");
        return s.done(job);
    }

    private static int remove(Session s, Arguments a) {
        String name = DeviceNames.name("snapshot", a.get(0));
        JsonObject snap = s.call("GET", "/api/v1/snapshots/" + name, null);
        JsonObject removed = s.call("DELETE", "/api/v1/snapshots/" + name, null);
        s.say("snapshot " + name + " removed");
        String id = Json.string(snap, "cowStoreId");
        if (id != null) {
            // H39: without its chunk size, the printed command was refused ("made with chunks of 64 sectors").
            long chunkSectors = Json.whole(snap, "chunkSectors", DEFAULT_CHUNK_SECTORS);
            s.say("its COW store " + Json.printable(Json.string(snap, "cowStore")) + " stays; snapshot create " + name
                    + " " + MirrorCommands.quoted(Json.string(snap, "origin", "")) + " "
                    + MirrorCommands.quoted(Json.string(snap, "cowStore", ""))
                    + (chunkSectors == DEFAULT_CHUNK_SECTORS ? "" : " --chunk-sectors " + chunkSectors)
                    + " --cow-store-id " + Json.printable(id) + " reopens it");
        }
        return s.done(removed);
    }
}
