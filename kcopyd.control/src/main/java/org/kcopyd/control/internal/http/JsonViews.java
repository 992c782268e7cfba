package org.kcopyd.control.internal.http;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import org.kcopyd.api.ClientStatistics;
import org.kcopyd.api.ClientSummary;
import org.kcopyd.control.ControlStatus;
import org.kcopyd.control.EngineConfiguration;
import org.kcopyd.control.ExportView;
import org.kcopyd.control.JobView;
import org.kcopyd.control.MirrorView;
import org.kcopyd.control.SnapshotView;

/**
 * The API's documents (CONTROL-API.md), built field by field: the names are the API's, stable,
 * whatever the Java records are called. Nulls are written (a field is always present). Stateless.
 */
final class JsonViews {

    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();

    private JsonViews() {
    }

    static String text(JsonElement e) {
        return GSON.toJson(e);
    }

    static JsonObject error(String code, String message) {
        JsonObject inner = new JsonObject();
        inner.addProperty("code", code);
        inner.addProperty("message", message);
        JsonObject o = new JsonObject();
        o.add("error", inner);
        return o;
    }

    static JsonObject removed(String name) {
        JsonObject o = new JsonObject();
        o.addProperty("removed", name);
        return o;
    }

    static <T> JsonObject list(String field, List<T> items, Function<T, JsonObject> each) {
        JsonArray a = new JsonArray();
        items.forEach(i -> a.add(each.apply(i)));
        JsonObject o = new JsonObject();
        o.add(field, a);
        return o;
    }

    static JsonObject snapshot(SnapshotView s) {
        JsonObject o = new JsonObject();
        o.addProperty("name", s.name());
        o.addProperty("origin", s.origin());
        o.addProperty("cowStore", s.cowStore());
        o.addProperty("chunkSectors", s.chunkSectors());
        o.addProperty("state", s.state());
        o.addProperty("invalidReason", s.invalidReason());
        o.addProperty("chunksUsed", s.chunksUsed());
        o.addProperty("chunksCapacity", s.chunksCapacity());
        o.addProperty("cowStoreId", s.cowStoreId());
        o.addProperty("device", s.device());
        o.addProperty("originDevice", s.originDevice());
        return o;
    }

    static JsonObject mirror(MirrorView m) {
        JsonObject o = new JsonObject();
        o.addProperty("name", m.name());
        o.addProperty("device", m.device());
        o.addProperty("regionLog", m.regionLog());
        o.addProperty("regionLogId", m.regionLogId());
        o.addProperty("state", m.state());
        o.addProperty("reason", m.reason());
        o.addProperty("regions", m.regions());
        o.addProperty("regionsToResync", m.regionsToResync());
        o.addProperty("regionsResynced", m.regionsResynced());
        o.addProperty("resyncBytesPerSecond", m.resyncBytesPerSecond());
        o.addProperty("regionSectors", m.regionSectors());
        o.addProperty("throttleBytesPerSecond", m.throttleBytesPerSecond());
        JsonArray legs = new JsonArray();
        for (MirrorView.Leg l : m.legs()) {
            JsonObject leg = new JsonObject();
            leg.addProperty("index", l.index());
            leg.addProperty("device", l.device());
            leg.addProperty("state", l.state());
            leg.addProperty("failure", l.failure());
            legs.add(leg);
        }
        o.add("legs", legs);
        return o;
    }

    static JsonObject export(ExportView e) {
        JsonObject o = new JsonObject();
        o.addProperty("name", e.name());
        o.addProperty("device", e.device());
        o.addProperty("socket", e.socket());
        o.addProperty("listen", e.listen());
        o.addProperty("readOnly", e.readOnly());
        o.addProperty("tls", e.tls());
        o.addProperty("connections", e.connections());
        o.addProperty("state", e.state());
        o.addProperty("reason", e.reason());
        o.addProperty("uri", e.uri());
        return o;
    }

    static JsonObject config(EngineConfiguration c) {
        JsonObject o = new JsonObject();
        o.addProperty("pid", c.pid());
        o.add("configuration", map(c.configuration()));
        if (c.refused() == null) {
            o.add("refused", JsonNull.INSTANCE);
        } else {
            JsonObject r = new JsonObject();
            r.addProperty("reason", c.refused().reason());
            r.add("properties", map(c.refused().properties()));
            o.add("refused", r);
        }
        return o;
    }

    static JsonObject status(DaemonInfo d, ControlStatus s) {
        JsonObject o = new JsonObject();
        o.addProperty("version", d.version());
        o.addProperty("stateDirectory", d.stateDirectory());
        o.addProperty("pid", d.pid());
        o.addProperty("startedAt", DateTimeFormatter.ISO_INSTANT.format(d.startedAt().truncatedTo(ChronoUnit.SECONDS)));
        if (s.engine() == null) {
            o.add("engine", JsonNull.INSTANCE);
        } else {
            JsonObject engine = config(s.engine());
            engine.remove("pid");
            if (engine.get("refused").isJsonObject()) {
                engine.getAsJsonObject("refused").remove("properties");
            }
            o.add("engine", engine);
        }
        if (s.clients() == null) {
            o.add("clients", JsonNull.INSTANCE);
        } else {
            JsonArray clients = new JsonArray();
            for (ClientSummary c : s.clients()) {
                ClientStatistics st = c.statistics();
                JsonObject client = new JsonObject();
                client.addProperty("name", c.name());
                client.addProperty("pages", st.pages());
                client.addProperty("pagesInUse", st.pagesInUse());
                client.addProperty("jobsSubmitted", st.jobsSubmitted());
                client.addProperty("jobsWaiting", st.jobsWaiting());
                client.addProperty("jobsInFlight", st.jobsInFlight());
                client.addProperty("jobsCompleted", st.jobsCompleted());
                client.addProperty("jobsFailed", st.jobsFailed());
                client.addProperty("bytesRead", st.bytesRead());
                client.addProperty("bytesWritten", st.bytesWritten());
                clients.add(client);
            }
            o.add("clients", clients);
        }
        o.addProperty("snapshots", s.snapshots());
        o.addProperty("mirrors", s.mirrors());
        o.addProperty("exports", s.exports());
        o.addProperty("connections", s.connections());
        o.addProperty("jobs", s.jobs());
        return o;
    }

    static JsonObject job(JobView j) {
        JsonObject o = new JsonObject();
        o.addProperty("id", j.id());
        o.addProperty("kind", j.kind());
        o.addProperty("description", j.description());
        o.addProperty("state", j.state());
        o.addProperty("bytesTotal", j.bytesTotal());
        o.addProperty("bytesDone", j.bytesDone());
        o.addProperty("bytesPerSecond", j.bytesPerSecond());
        o.addProperty("secondsLeft", j.secondsLeft());
        o.addProperty("startedAt", time(j.startedAt()));
        o.addProperty("endedAt", time(j.endedAt()));
        o.addProperty("error", j.error());
        if (j.result() == null) {
            o.add("result", JsonNull.INSTANCE);
        } else {
            JsonObject r = new JsonObject();
            r.addProperty("readError", j.result().readError());
            JsonArray destinations = new JsonArray();
            for (JobView.Destination d : j.result().destinations()) {
                JsonObject dest = new JsonObject();
                dest.addProperty("device", d.device());
                dest.addProperty("complete", d.complete());
                dest.addProperty("error", d.error());
                destinations.add(dest);
            }
            r.add("destinations", destinations);
            o.add("result", r);
        }
        return o;
    }

    private static String time(Instant t) {
        return t == null ? null : DateTimeFormatter.ISO_INSTANT.format(t.truncatedTo(ChronoUnit.MILLIS));
    }

    private static JsonObject map(Map<String, Object> values) {
        JsonObject o = new JsonObject();
        values.forEach((k, v) -> o.add(k, value(v)));
        return o;
    }

    private static JsonElement value(Object v) {
        if (v == null) {
            return JsonNull.INSTANCE;
        }
        if (v instanceof Boolean b) {
            return new JsonPrimitive(b);
        }
        if (v instanceof Number n) {
            return new JsonPrimitive(n);
        }
        if (v.getClass().isArray() && v instanceof Object[] a) {
            JsonArray array = new JsonArray();
            for (Object x : a) {
                array.add(value(x));
            }
            return array;
        }
        return new JsonPrimitive(v.toString());
    }
}
