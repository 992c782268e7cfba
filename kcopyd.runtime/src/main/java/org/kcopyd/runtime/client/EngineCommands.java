package org.kcopyd.runtime.client;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

/**
 * {@code status}, {@code config get [KEY...]} and {@code config set KEY=VALUE...}: the daemon as
 * a whole and its engine's Config Admin configuration (PID {@code org.kcopyd.engine}), printed
 * as kcopyd.cli's {@code config} prints it ({@code key = value}, sorted; a refused configuration
 * explained on standard error). Stateless.
 */
final class EngineCommands {

    private EngineCommands() {
    }

    static Map<String, ThinClient.Command> status() {
        return Map.of("", new ThinClient.Command(new Arguments.Spec("status", 0, 0, Set.of(), Set.of()),
                "Shows the daemon: version, process, engine configuration, kcopyd clients and how many snapshots, "
                + "mirrors, exports, NBD connections and jobs it has, and the dashboard's address (with the token: "
                + "for the state directory's owner only; with --json the field dashboard, without the token).",
                EngineCommands::status));
    }

    static Map<String, ThinClient.Command> config() {
        Map<String, ThinClient.Command> m = new LinkedHashMap<>();
        m.put("get", new ThinClient.Command(new Arguments.Spec("config get [KEY...]", 0, Integer.MAX_VALUE, Set.of(),
                Set.of()), "Shows the daemon engine's effective configuration, or the settings named, and why the "
                + "latest configuration was refused if it was.", EngineCommands::get));
        m.put("set", new ThinClient.Command(new Arguments.Spec("config set KEY=VALUE...", 1, Integer.MAX_VALUE, Set.of(),
                Set.of()), "Changes settings of the daemon's engine (kept in its state directory); a refused value is "
                + "explained and nothing is changed. Whole numbers and true/false are sent as such.",
                EngineCommands::set));
        return m;
    }

    private static int status(Session s, Arguments a) {
        JsonObject st = s.call("GET", "/api/v1/status", null);
        s.say("kcopyd daemon " + Json.printable(Json.string(st, "version", "?")) + " for "
                + Json.printable(Json.string(st, "stateDirectory", s.state().toString())) + ", pid "
                + Json.printable(Json.string(st, "pid", "?")) + ", started " + Json.printable(Json.string(st, "startedAt",
                "?")));
        JsonObject engine = Json.object(st, "engine");
        s.say("engine  " + settings(Json.object(engine, "configuration")));
        refused(s, Json.object(engine, "refused"));
        s.say("snapshots " + Json.whole(st, "snapshots", 0) + "  mirrors " + Json.whole(st, "mirrors", 0) + "  exports "
                + Json.whole(st, "exports", 0) + "  connections " + Json.whole(st, "connections", 0) + "  jobs "
                + Json.whole(st, "jobs", 0));
        for (JsonElement e : Json.array(st, "clients")) {
            JsonObject client = e.getAsJsonObject().deepCopy();
            String name = Json.string(client, "name", "?");
            client.remove("name");
            s.say("client " + Json.printable(name) + "  " + settings(client));
        }
        s.say("dashboard " + s.dashboard(true));
        // JSON may be logged or passed on: the address without the token, which stays in the owner-only file.
        st.addProperty("dashboard", s.dashboard(false));
        return s.done(st);
    }

    /** @return {@code key=value} pairs, sorted, in one line */
    private static String settings(JsonObject o) {
        List<String> words = new ArrayList<>();
        if (o != null) {
            new TreeMap<>(o.asMap()).forEach((k, v) -> words.add(Json.printable(k) + "=" + Json.printable(
                    v.isJsonPrimitive() ? v.getAsString() : Json.line(v))));
        }
        return String.join("  ", words);
    }

    private static void refused(Session s, JsonObject refused) {
        if (refused != null) {
            s.warn("the latest configuration of org.kcopyd.engine was refused (" + Json.printable(Json.string(refused,
                    "reason", "no reason given")) + "); the values above are the last valid ones");
        }
    }

    private static int get(Session s, Arguments a) {
        JsonObject config = s.call("GET", "/api/v1/config", null);
        print(s, config, a.from(0), true);
        return s.done(config);
    }

    /** Prints the settings {@code keys} (all if empty); {@code strict}: a key the engine lacks is refused. */
    private static void print(Session s, JsonObject config, List<String> keys, boolean strict) {
        JsonObject effective = Json.object(config, "configuration");
        Map<String, JsonElement> values = new TreeMap<>(effective == null ? Map.of() : effective.asMap());
        for (String key : keys) {
            if (strict && !values.containsKey(key)) {
                throw ClientException.usage("the engine has no setting named '" + Json.printable(key) + "'; its settings: "
                        + String.join(", ", values.keySet()));
            }
        }
        values.forEach((k, v) -> {
            if (keys.isEmpty() || keys.contains(k)) {
                s.say(Json.printable(k) + " = " + Json.printable(v.isJsonPrimitive() ? v.getAsString() : Json.line(v)));
            }
        });
        refused(s, Json.object(config, "refused"));
    }

    private static int set(Session s, Arguments a) {
        JsonObject body = new JsonObject();
        for (String word : a.from(0)) {
            int eq = word.indexOf('=');
            if (eq <= 0) {
                throw ClientException.usage("'" + Json.printable(word) + "' is not KEY=VALUE (such as defaultPages=4096)");
            }
            String key = word.substring(0, eq);
            String value = word.substring(eq + 1);
            if (body.has(key)) {
                throw ClientException.usage(key + " is given twice");
            }
            if (value.isEmpty()) {
                throw ClientException.usage(key + " has no value: write " + key + "=VALUE");
            }
            body.add(key, value(value));
        }
        JsonObject config = s.call("PUT", "/api/v1/config", body);
        print(s, config, new ArrayList<>(body.keySet()), false);
        return s.done(config);
    }

    /**
     * @return a whole number or boolean (true or false in any case, as the shell's {@code config set} takes
     *         them) as JSON's, anything else as a string: the daemon takes each setting's JSON type alone and
     *         refuses a string naming the setting, the value and what it allows
     */
    private static JsonPrimitive value(String text) {
        if (text.matches("-?[0-9]{1,18}")) {
            return new JsonPrimitive(Long.parseLong(text));
        }
        if (text.equalsIgnoreCase("true") || text.equalsIgnoreCase("false")) {
            return new JsonPrimitive(Boolean.parseBoolean(text));
        }
        return new JsonPrimitive(text);
    }
}
