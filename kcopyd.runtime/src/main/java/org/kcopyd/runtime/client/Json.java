package org.kcopyd.runtime.client;

import java.util.Locale;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;

/**
 * The few JSON helpers the thin client needs over Gson: parsing an answer, reading optional
 * fields (absent and {@code null} alike), and writing one compact line for {@code --json}.
 * Stateless; safe from any thread.
 */
final class Json {

    private static final Gson COMPACT = new GsonBuilder().disableHtmlEscaping().serializeNulls().create();

    private Json() {
    }

    /** @return the object a body holds */
    static JsonObject parseObject(String body) {
        JsonElement e;
        try {
            e = JsonParser.parseString(body);
        } catch (JsonParseException ex) {
            throw new IllegalArgumentException("not JSON: " + ex.getMessage(), ex);
        }
        if (!e.isJsonObject()) {
            throw new IllegalArgumentException("not a JSON object");
        }
        return e.getAsJsonObject();
    }

    /** @return one line of JSON */
    static String line(JsonElement e) {
        return COMPACT.toJson(e);
    }

    /** @return the field as text (numbers and booleans as written), or null when absent or null */
    static String string(JsonObject o, String field) {
        JsonElement e = o == null ? null : o.get(field);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        return e.isJsonPrimitive() ? e.getAsString() : line(e);
    }

    /** @return the field as text, or {@code fallback} */
    static String string(JsonObject o, String field, String fallback) {
        String s = string(o, field);
        return s == null ? fallback : s;
    }

    /** @return the numeric field, or null when absent, null or not a number */
    static Double number(JsonObject o, String field) {
        JsonElement e = o == null ? null : o.get(field);
        return e instanceof JsonPrimitive p && p.isNumber() ? p.getAsDouble() : null;
    }

    /** @return the numeric field as a whole number, or {@code fallback} */
    static long whole(JsonObject o, String field, long fallback) {
        JsonElement e = o == null ? null : o.get(field);
        return e instanceof JsonPrimitive p && p.isNumber() ? p.getAsLong() : fallback;
    }

    /** @return the boolean field, false when absent */
    static boolean flag(JsonObject o, String field) {
        JsonElement e = o == null ? null : o.get(field);
        return e instanceof JsonPrimitive p && p.isBoolean() && p.getAsBoolean();
    }

    /** @return the object field, or null */
    static JsonObject object(JsonObject o, String field) {
        JsonElement e = o == null ? null : o.get(field);
        return e instanceof JsonObject j ? j : null;
    }

    /** @return the array field, empty when absent */
    static JsonArray array(JsonObject o, String field) {
        JsonElement e = o == null ? null : o.get(field);
        return e instanceof JsonArray a ? a : new JsonArray();
    }

    /** @return a byte count in the command line's units (B, KiB, MiB, GiB, TiB) */
    static String bytes(double b) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        while (b >= 1024 && u < units.length - 1) {
            b /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
    }

    /**
     * @return text from the daemon made safe to print on a terminal: control and format
     *         characters become '?', and at most 1000 code points are kept
     */
    static String printable(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        text.codePoints().limit(1000).forEach(c -> b.appendCodePoint(Character.isISOControl(c)
                || Character.getType(c) == Character.FORMAT || !Character.isDefined(c) ? '?' : c));
        if (text.codePointCount(0, text.length()) > 1000) {
            b.append("...");
        }
        return b.toString();
    }
}
