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
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.stream.JsonReader;

/**
 * A request body: at most {@link #LIMIT} bytes of UTF-8 holding one JSON object, read field by
 * field; every refusal ({@code bad-request}) names the field, the value's type or the limit.
 * Fields the endpoint does not know are refused (a misspelt optional field would otherwise be
 * silently ignored). Not thread-safe (one per request).
 */
final class JsonBody {

    /** The largest request body, in bytes. */
    static final int LIMIT = 64 * 1024;

    private final JsonObject object;

    private JsonBody(JsonObject object) {
        this.object = object;
    }

    /**
     * Reads and parses the body.
     *
     * @param contentLength the declared length, or -1
     * @throws ApiError bad-request when it is larger than {@link #LIMIT}, empty, not UTF-8 or not a JSON object
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
        JsonElement e;
        try {
            e = JsonParser.parseString(text);
        } catch (JsonParseException | StackOverflowError ex) {
            throw ApiError.badRequest("the request body is not valid JSON: " + message(ex));
        }
        if (!e.isJsonObject()) {
            throw ApiError.badRequest("the request body is not a JSON object");
        }
        String twice = duplicateName(text);
        if (twice != null) {
            // The parser keeps the last value: which one the sender meant cannot be told.
            throw ApiError.badRequest("field " + twice + " appears twice in one object: give each field once");
        }
        return new JsonBody(e.getAsJsonObject());
    }

    /** @return the first name that appears twice in one object of {@code json} (valid JSON), or null */
    private static String duplicateName(String json) {
        try (JsonReader reader = new JsonReader(new java.io.StringReader(json))) {
            return duplicateIn(reader);
        } catch (IOException | IllegalStateException e) {
            // Parsed already: cannot happen.
            return null;
        }
    }

    private static String duplicateIn(JsonReader reader) throws IOException {
        switch (reader.peek()) {
            case BEGIN_OBJECT -> {
                reader.beginObject();
                Set<String> names = new java.util.HashSet<>();
                while (reader.hasNext()) {
                    String name = reader.nextName();
                    if (!names.add(name)) {
                        return name;
                    }
                    String inner = duplicateIn(reader);
                    if (inner != null) {
                        return inner;
                    }
                }
                reader.endObject();
            }
            case BEGIN_ARRAY -> {
                reader.beginArray();
                while (reader.hasNext()) {
                    String inner = duplicateIn(reader);
                    if (inner != null) {
                        return inner;
                    }
                }
                reader.endArray();
            }
            default -> reader.skipValue();
        }
        return null;
    }

    private static ApiError tooLarge(String size) {
        return ApiError.badRequest("the request body (" + size + ") is larger than the limit of " + LIMIT + " bytes");
    }

    private static String message(Throwable e) {
        Throwable t = e.getCause() != null && e.getCause().getMessage() != null ? e.getCause() : e;
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
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

    private JsonPrimitive primitive(String field) {
        JsonElement e = object.get(field);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonPrimitive()) {
            throw ApiError.badRequest("field " + field + " is " + (e.isJsonArray() ? "an array" : "an object")
                    + ", not a single value");
        }
        return e.getAsJsonPrimitive();
    }

    /** @return the string field, or null when absent or null */
    String string(String field) {
        JsonPrimitive p = primitive(field);
        if (p == null) {
            return null;
        }
        if (!p.isString()) {
            throw ApiError.badRequest("field " + field + " is " + p + ", not a string");
        }
        return p.getAsString();
    }

    /** @return the integer field, or null when absent or null */
    Integer integer(String field) {
        JsonPrimitive p = primitive(field);
        if (p == null) {
            return null;
        }
        Object v = number(field, p);
        if (!(v instanceof Long l) || l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw ApiError.badRequest("field " + field + " is " + p + ", not a whole number in " + Integer.MIN_VALUE
                    + ".." + Integer.MAX_VALUE);
        }
        return l.intValue();
    }

    /** @return the array-of-strings field, or null when absent or null */
    List<String> strings(String field) {
        JsonElement e = object.get(field);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonArray()) {
            throw ApiError.badRequest("field " + field + " is " + e + ", not an array of strings");
        }
        List<String> values = new ArrayList<>();
        for (JsonElement item : e.getAsJsonArray()) {
            if (!item.isJsonPrimitive() || !item.getAsJsonPrimitive().isString()) {
                throw ApiError.badRequest("field " + field + " holds " + item + ", not a string");
            }
            values.add(item.getAsString());
        }
        return values;
    }

    /** @return the long field, or null when absent or null */
    Long longValue(String field) {
        JsonPrimitive p = primitive(field);
        if (p == null) {
            return null;
        }
        if (!(number(field, p) instanceof Long l)) {
            throw ApiError.badRequest("field " + field + " is " + p + ", not a whole number");
        }
        return l;
    }

    /** @return the boolean field, false when absent or null */
    boolean bool(String field) {
        JsonPrimitive p = primitive(field);
        if (p == null) {
            return false;
        }
        if (!p.isBoolean()) {
            throw ApiError.badRequest("field " + field + " is " + p + ", not true or false");
        }
        return p.getAsBoolean();
    }

    /**
     * @return every field as a Java value: a Long for a whole number, a BigDecimal for another
     *         number, a Boolean or a String; an array, object or null is refused
     */
    Map<String, Object> values() {
        Map<String, Object> values = new LinkedHashMap<>();
        for (String key : object.keySet()) {
            JsonPrimitive p = primitive(key);
            if (p == null) {
                throw ApiError.badRequest("field " + key + " is null: give a value");
            }
            values.put(key, p.isBoolean() ? (Object) p.getAsBoolean() : p.isNumber() ? number(key, p) : p.getAsString());
        }
        return values;
    }

    private static Object number(String field, JsonPrimitive p) {
        if (!p.isNumber()) {
            throw ApiError.badRequest("field " + field + " is " + p + ", not a number");
        }
        BigDecimal d;
        try {
            d = new BigDecimal(p.getAsString());
        } catch (NumberFormatException e) {
            throw ApiError.badRequest("field " + field + " is " + p + ", not a number");
        }
        try {
            return d.longValueExact();
        } catch (ArithmeticException notWhole) {
            return d;
        }
    }
}
