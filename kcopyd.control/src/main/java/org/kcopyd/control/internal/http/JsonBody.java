package org.kcopyd.control.internal.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import org.kcopyd.api.EngineSettings;
import org.kcopyd.control.internal.service.Text;

/**
 * A request body: at most {@link #LIMIT} bytes of UTF-8 holding one JSON object ({@link JsonSyntax}:
 * strict RFC 8259, no field twice, parsed in the API's words), read field by field. A larger body is
 * {@code too-large} (413) naming the limit; every other refusal is {@code bad-request} in the API's
 * words: a field of the wrong JSON type names the field, the value as sent and what the field allows
 * ({@code "chunkSectors": "abc" is not a whole number (allowed: ...)}). Fields the endpoint does not
 * know are refused (a misspelt optional field would otherwise be silently ignored). A field that is
 * {@code null} is taken as absent. Not thread-safe (one per request).
 */
final class JsonBody {

    /** The largest request body, in bytes. */
    static final int LIMIT = 64 * 1024;
    /** The longest value quoted whole in a refusal; a longer one is cut, saying how long it was. */
    private static final int MAX_SHOWN = 100;
    /** The longest number a field takes, in characters: any long, with room for a fraction of zeros or an exponent. */
    private static final int MAX_NUMBER = 64;
    /** The engine's settings by name, for the JSON type of each. */
    private static final Map<String, EngineSettings.Setting> SETTINGS = settingsByName();

    private final JsonObject object;

    private JsonBody(JsonObject object) {
        this.object = object;
    }

    /**
     * Reads and parses the body.
     *
     * @param contentLength the declared length, or -1
     * @throws ApiError too-large (413) when it is larger than {@link #LIMIT}; bad-request when it is empty,
     *         not UTF-8, not valid JSON or not a JSON object
     */
    static JsonBody read(InputStream in, long contentLength) {
        if (contentLength > LIMIT) {
            throw tooLarge(contentLength + " bytes");
        }
        byte[] bytes;
        try {
            bytes = readAtMost(in, LIMIT + 1);
        } catch (IOException e) {
            throw ApiError.badRequest("the request body could not be read: " + e.getMessage());
        }
        if (bytes.length > LIMIT) {
            throw tooLarge("more than " + LIMIT + " bytes");
        }
        if (bytes.length == 0) {
            throw ApiError.badRequest("the request body is empty: a JSON object is expected");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw ApiError.badRequest("the request body is not UTF-8");
        }
        JsonElement e = JsonSyntax.parse(text);
        if (!e.isJsonObject()) {
            throw ApiError.badRequest("the request body is " + kind(e) + " (" + shown(e) + "), not a JSON object: "
                    + "send {\"field\": value, ...}");
        }
        return new JsonBody(e.getAsJsonObject());
    }

    private static ApiError tooLarge(String size) {
        return new ApiError(413, "too-large", "the request body (" + size + ") is larger than the limit of " + LIMIT
                + " bytes; nothing was done", null);
    }

    /** @return what kind of JSON value {@code e} is, for messages: "a string", "an array"... */
    private static String kind(JsonElement e) {
        if (e.isJsonObject()) {
            return "an object";
        }
        if (e.isJsonArray()) {
            return "an array";
        }
        if (e.isJsonNull()) {
            return "null";
        }
        JsonPrimitive p = e.getAsJsonPrimitive();
        return p.isString() ? "a string" : p.isBoolean() ? "a boolean" : "a number";
    }

    /** @return a value as it was sent (JSON), cut past {@link #MAX_SHOWN} characters */
    static String shown(JsonElement e) {
        String json = e.toString();
        return json.length() <= MAX_SHOWN ? json : json.substring(0, MAX_SHOWN) + "... (" + json.length()
                + " characters)";
    }

    private static ApiError wrongType(String field, JsonElement value, String expected, String allowed) {
        return ApiError.badRequest(quoted(field) + ": " + shown(value) + " is not " + expected
                + (allowed == null ? "" : " (allowed: " + allowed + ")"));
    }

    /** @return the field's name as JSON writes it, {@code "name"} */
    private static String quoted(String field) {
        return new JsonPrimitive(field).toString();
    }

    private static byte[] readAtMost(InputStream in, int max) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        int n;
        while (out.size() < max && (n = in.read(buffer, 0, Math.min(buffer.length, max - out.size()))) > 0) {
            out.write(buffer, 0, n);
        }
        return out.toByteArray();
    }

    /**
     * For a request that takes no body (GET, DELETE, a cancel, a merge): none, an empty one, or the
     * empty object {@code {}} (which some clients send for an empty POST). Anything else is refused as
     * any body is: not JSON, or a field the request does not know (H36: a cancel with a body of
     * garbage was answered 200).
     *
     * @throws ApiError bad-request (or too-large) saying why
     */
    static void requireNone(InputStream in, long contentLength) {
        if (contentLength == 0) {
            return;
        }
        java.io.PushbackInputStream peek = new java.io.PushbackInputStream(in, 1);
        try {
            int first = peek.read();
            if (first < 0) {
                return;
            }
            peek.unread(first);
        } catch (IOException e) {
            throw ApiError.badRequest("the request body could not be read: " + e.getMessage());
        }
        JsonBody body = read(peek, contentLength);
        if (!body.object.keySet().isEmpty()) {
            throw ApiError.badRequest("this request takes no body (send none, or {}); it has field '"
                    + Text.printable(body.object.keySet().iterator().next()) + "'");
        }
    }

    /** @throws ApiError bad-request naming the first field not in {@code known} */
    JsonBody only(String... known) {
        Set<String> allowed = new TreeSet<>(Set.of(known));
        for (String key : object.keySet()) {
            if (!allowed.contains(key)) {
                throw ApiError.badRequest("unknown field '" + key + "'; known: " + String.join(", ", allowed));
            }
        }
        return this;
    }

    /** @return the field, or null when absent or null */
    private JsonElement field(String field) {
        JsonElement e = object.get(field);
        return e == null || e.isJsonNull() ? null : e;
    }

    /**
     * @param allowed what the field allows, for the refusal
     * @return the string field, or null when absent or null
     */
    String string(String field, String allowed) {
        JsonElement e = field(field);
        if (e == null) {
            return null;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw wrongType(field, e, "a string", allowed);
        }
        return e.getAsString();
    }

    /**
     * @param allowed what the field allows, for the refusal
     * @return the whole-number field within int's range, or null when absent or null
     */
    Integer integer(String field, String allowed) {
        Long l = whole(field, allowed);
        if (l == null) {
            return null;
        }
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw ApiError.badRequest(quoted(field) + ": " + l + " is out of range (allowed: " + allowed + ")");
        }
        return l.intValue();
    }

    /**
     * @param allowed what the field allows, for the refusal
     * @return the whole-number field, or null when absent or null
     */
    Long whole(String field, String allowed) {
        JsonElement e = field(field);
        return e == null ? null : whole(field, e, allowed);
    }

    /**
     * @return {@code e} as a whole number: a JSON number without a fraction (1e3 is 1000), within long's range,
     *         written in at most {@link #MAX_NUMBER} characters (a longer one would cost seconds to examine)
     */
    private static Long whole(String field, JsonElement e, String allowed) {
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw wrongType(field, e, "a whole number", allowed);
        }
        String text = e.getAsString();
        if (text.length() > MAX_NUMBER) {
            throw ApiError.badRequest(quoted(field) + ": " + shown(e) + " is a number of more than " + MAX_NUMBER
                    + " characters (allowed: " + allowed + ")");
        }
        BigDecimal d;
        try {
            d = new BigDecimal(text);
        } catch (NumberFormatException | ArithmeticException beyond) {
            // An exponent past int's range: valid JSON, but no field's value.
            throw ApiError.badRequest(quoted(field) + ": " + shown(e) + " is out of range (allowed: " + allowed + ")");
        }
        if (d.compareTo(BigDecimal.valueOf(Long.MIN_VALUE)) < 0 || d.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw ApiError.badRequest(quoted(field) + ": " + shown(e) + " is out of range (allowed: " + allowed + ")");
        }
        if (d.signum() != 0 && d.stripTrailingZeros().scale() > 0) {
            throw wrongType(field, e, "a whole number", allowed);
        }
        return d.longValueExact();
    }

    /**
     * @param allowed what each item allows, for the refusal
     * @return the array-of-strings field, or null when absent or null
     */
    List<String> strings(String field, String allowed) {
        JsonElement e = field(field);
        if (e == null) {
            return null;
        }
        if (!e.isJsonArray()) {
            throw wrongType(field, e, "an array of strings", allowed);
        }
        List<String> values = new ArrayList<>();
        int i = 0;
        for (JsonElement item : e.getAsJsonArray()) {
            if (!item.isJsonPrimitive() || !item.getAsJsonPrimitive().isString()) {
                throw ApiError.badRequest(quoted(field) + ": item " + i + ", " + shown(item) + ", is not a string "
                        + "(allowed: " + allowed + ")");
            }
            values.add(item.getAsString());
            i++;
        }
        return values;
    }

    /** @return the boolean field, false when absent or null */
    boolean bool(String field) {
        JsonElement e = field(field);
        if (e == null) {
            return false;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw wrongType(field, e, "true or false", "true or false, without quotes");
        }
        return e.getAsBoolean();
    }

    /**
     * The engine settings of a {@code PUT /config} body, each of the JSON type its setting takes: a
     * whole number ({@link Long}) for a numeric setting, {@code true} or {@code false} for
     * {@code directIo}. A name that is no setting is passed on with its value as sent (the engine
     * refuses it, naming the settings it has).
     *
     * @throws ApiError bad-request naming the field, the value as sent and what the setting allows
     */
    Map<String, Object> settings() {
        Map<String, Object> values = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> entry : object.entrySet()) {
            String name = entry.getKey();
            JsonElement e = entry.getValue();
            EngineSettings.Setting setting = SETTINGS.get(name);
            if (setting == null) {
                values.put(name, e.isJsonPrimitive() ? e.getAsString() : shown(e));
            } else if (setting.defaultValue() instanceof Boolean) {
                if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
                    throw wrongType(name, e, "true or false", "true or false, without quotes");
                }
                values.put(name, e.getAsBoolean());
            } else {
                if (e.isJsonNull()) {
                    throw wrongType(name, e, "a whole number", setting.range());
                }
                values.put(name, whole(name, e, setting.range()));
            }
        }
        return values;
    }

    private static Map<String, EngineSettings.Setting> settingsByName() {
        Map<String, EngineSettings.Setting> m = new LinkedHashMap<>();
        for (EngineSettings.Setting s : EngineSettings.Setting.values()) {
            m.put(s.propertyName(), s);
        }
        return m;
    }
}
