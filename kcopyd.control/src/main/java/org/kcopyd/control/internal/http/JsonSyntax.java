package org.kcopyd.control.internal.http;

import java.util.HashSet;
import java.util.Set;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import org.kcopyd.control.internal.service.Text;

/**
 * A request body parsed, its syntax checked in the API's own words: exactly one JSON value as RFC
 * 8259 writes it. What a lenient parser would take is refused: comments, single
 * quotes, unquoted words ({@code abc}, {@code NaN}, {@code True}), hexadecimal numbers, leading
 * zeros or a leading {@code +}, a {@code ;} or {@code =} for a separator, a trailing comma, text
 * after the value. Also refused: nesting deeper than {@link #MAX_DEPTH}, and a field name twice in
 * one object (a parser keeps one of the two values, and which one the sender meant cannot be told).
 * A refusal says where (line and column), what was found there and what is allowed there. The
 * tree is built here rather than by Gson's parser, which is lenient and turns a number of more than
 * 1024 characters into a string. A number keeps the text it was written with. Not thread-safe: one
 * instance per parse.
 */
final class JsonSyntax {

    /** The deepest nesting of objects and arrays; no request of the API nests more than 3. */
    static final int MAX_DEPTH = 64;

    private static final String INVALID = "the request body is not valid JSON: ";
    private static final String VALUE = "a value (an object, an array, a string in double quotes, a number, true, "
            + "false or null)";

    private final String text;
    private int pos;
    private int depth;

    private JsonSyntax(String text) {
        this.text = text;
    }

    /**
     * @param text the decoded body
     * @return its JSON value
     * @throws ApiError bad-request saying where and why {@code text} is not one JSON value
     */
    static JsonElement parse(String text) {
        return new JsonSyntax(text).document();
    }

    private JsonElement document() {
        space();
        JsonElement e = value();
        space();
        if (pos < text.length()) {
            throw expected("the end of the body", "it holds one JSON value, and nothing after it");
        }
        return e;
    }

    private JsonElement value() {
        if (pos >= text.length()) {
            throw expected(VALUE, null);
        }
        char c = text.charAt(pos);
        switch (c) {
            case '{' -> {
                return object();
            }
            case '[' -> {
                return array();
            }
            case '"' -> {
                return new JsonPrimitive(string());
            }
            case 't' -> {
                literal("true");
                return new JsonPrimitive(true);
            }
            case 'f' -> {
                literal("false");
                return new JsonPrimitive(false);
            }
            case 'n' -> {
                literal("null");
                return JsonNull.INSTANCE;
            }
            default -> {
                if (c == '-' || c >= '0' && c <= '9') {
                    return number();
                } else {
                    throw expected(VALUE, Character.isLetter(c) || c == '\'' ? "text is written in double quotes"
                            : null);
                }
            }
        }
    }

    private JsonObject object() {
        enter();
        pos++;
        JsonObject object = new JsonObject();
        Set<String> names = new HashSet<>();
        space();
        if (at('}')) {
            pos++;
            depth--;
            return object;
        }
        while (true) {
            if (!at('"')) {
                throw names.isEmpty() ? expected("a field name in double quotes, or '}'", null)
                        : expected("a field name in double quotes", at('}') ? "no comma goes before '}'" : null);
            }
            String name = string();
            if (!names.add(name)) {
                // A parser keeps one of the two values: which one the sender meant cannot be told.
                throw ApiError.badRequest("field " + Text.printable(name) + " appears twice in one object: give "
                        + "each field once");
            }
            space();
            if (!at(':')) {
                throw expected("':' after the field name", null);
            }
            pos++;
            space();
            object.add(name, value());
            space();
            if (at('}')) {
                pos++;
                depth--;
                return object;
            }
            if (!at(',')) {
                throw expected("',' or '}'", null);
            }
            pos++;
            space();
        }
    }

    private JsonArray array() {
        enter();
        pos++;
        JsonArray array = new JsonArray();
        space();
        if (at(']')) {
            pos++;
            depth--;
            return array;
        }
        while (true) {
            array.add(value());
            space();
            if (at(']')) {
                pos++;
                depth--;
                return array;
            }
            if (!at(',')) {
                throw expected("',' or ']'", null);
            }
            pos++;
            space();
            if (at(']')) {
                throw expected(VALUE, "no comma goes before ']'");
            }
        }
    }

    private void enter() {
        if (++depth > MAX_DEPTH) {
            throw ApiError.badRequest(INVALID + "it is nested more than " + MAX_DEPTH + " objects or arrays deep (at "
                    + where(pos) + ")");
        }
    }

    /** Reads a string at the opening quote; @return its value */
    private String string() {
        int start = pos;
        pos++;
        StringBuilder value = new StringBuilder();
        while (true) {
            if (pos >= text.length()) {
                throw ApiError.badRequest(INVALID + "the string that starts at " + where(start) + " has no closing "
                        + "double quote");
            }
            char c = text.charAt(pos);
            if (c == '"') {
                pos++;
                return value.toString();
            }
            if (c < 0x20) {
                throw ApiError.badRequest(INVALID + "the string that starts at " + where(start) + " holds a control "
                        + "character (U+" + String.format("%04X", (int) c) + ") at " + where(pos) + ": write it as an "
                        + "escape such as \\n, \\t or \\u" + String.format("%04x", (int) c));
            }
            if (c != '\\') {
                value.append(c);
                pos++;
                continue;
            }
            if (pos + 1 >= text.length()) {
                throw ApiError.badRequest(INVALID + "the string that starts at " + where(start) + " has no closing "
                        + "double quote");
            }
            char e = text.charAt(pos + 1);
            switch (e) {
                case '"', '\\', '/' -> value.append(e);
                case 'b' -> value.append('\b');
                case 'f' -> value.append('\f');
                case 'n' -> value.append('\n');
                case 'r' -> value.append('\r');
                case 't' -> value.append('\t');
                case 'u' -> {
                    String hex = pos + 6 <= text.length() ? text.substring(pos + 2, pos + 6) : "";
                    if (!hex.matches("[0-9A-Fa-f]{4}")) {
                        throw escape();
                    }
                    value.append((char) Integer.parseInt(hex, 16));
                    pos += 4;
                }
                default -> throw escape();
            }
            pos += 2;
        }
    }

    private ApiError escape() {
        int end = Math.min(text.length(), pos + (text.charAt(pos + 1) == 'u' ? 6 : 2));
        return ApiError.badRequest(INVALID + "found '" + Text.printable(text.substring(pos, end)) + "' at "
                + where(pos) + " inside a string, where an escape was expected: \\\" \\\\ \\/ \\b \\f \\n \\r \\t or "
                + "\\u and four hexadecimal digits");
    }

    private JsonPrimitive number() {
        int start = pos;
        if (at('-')) {
            pos++;
        }
        if (at('0')) {
            pos++;
            if (digit()) {
                pos = start;
                throw expected("a number without leading zeros", null);
            }
        } else if (digit()) {
            digits();
        } else {
            pos = start;
            throw notDecimal();
        }
        if (at('.')) {
            pos++;
            if (!digit()) {
                throw expected("a digit after the decimal point", null);
            }
            digits();
        }
        if (at('e') || at('E')) {
            pos++;
            if (at('+') || at('-')) {
                pos++;
            }
            if (!digit()) {
                throw expected("a digit of the exponent", null);
            }
            digits();
        }
        if (pos < text.length() && (Character.isLetterOrDigit(text.charAt(pos)) || at('.'))) {
            pos = start;
            throw notDecimal();
        }
        return new JsonPrimitive(new Written(text.substring(start, pos)));
    }

    /**
     * A JSON number as it was written (valid JSON, checked by the parser): its text is its
     * {@link #toString()}, what {@link JsonPrimitive#getAsString()} and a JSON writer give; it is
     * turned into a binary number only when asked, as the field's reader asks.
     */
    private static final class Written extends Number {
        private static final long serialVersionUID = 1L;

        private final String text;

        Written(String text) {
            this.text = text;
        }

        @Override
        public int intValue() {
            return (int) longValue();
        }

        @Override
        public long longValue() {
            return new java.math.BigDecimal(text).longValue();
        }

        @Override
        public float floatValue() {
            return Float.parseFloat(text);
        }

        @Override
        public double doubleValue() {
            return Double.parseDouble(text);
        }

        @Override
        public String toString() {
            return text;
        }
    }

    private ApiError notDecimal() {
        return expected("a number in decimal digits, such as 16, -1 or 2.5", "JSON has no hexadecimal numbers, NaN or "
                + "Infinity");
    }

    private void digits() {
        while (digit()) {
            pos++;
        }
    }

    private boolean digit() {
        return pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9';
    }

    private void literal(String word) {
        if (!text.startsWith(word, pos) || pos + word.length() < text.length()
                && Character.isLetterOrDigit(text.charAt(pos + word.length()))) {
            throw expected(VALUE, "text is written in double quotes");
        }
        pos += word.length();
    }

    private boolean at(char c) {
        return pos < text.length() && text.charAt(pos) == c;
    }

    private void space() {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            pos++;
        }
    }

    /**
     * @param allowed what is allowed there
     * @param hint    what to do instead, or null
     * @return the refusal: what was found where, and what is allowed there
     */
    private ApiError expected(String allowed, String hint) {
        return ApiError.badRequest(INVALID + "found " + found() + " at " + where(pos) + ", where " + allowed
                + " was expected" + (hint == null ? "" : ": " + hint));
    }

    /** @return what is at {@link #pos}: the end of the body, a word, or one character, as a message shows it */
    private String found() {
        if (pos >= text.length()) {
            return "the end of the body";
        }
        int end = pos + 1;
        if (Character.isLetterOrDigit(text.charAt(pos)) || text.charAt(pos) == '-' || text.charAt(pos) == '+'
                || text.charAt(pos) == '.') {
            while (end < text.length() && end - pos < 24 && (Character.isLetterOrDigit(text.charAt(end))
                    || "+-._".indexOf(text.charAt(end)) >= 0)) {
                end++;
            }
        }
        String token = text.substring(pos, end);
        return token.equals("'") ? "a single quote (')" : "'" + Text.printable(token) + "'";
    }

    /** @return "line L, column C" of an index in the text, both counted from 1 */
    private String where(int index) {
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < index && i < text.length(); i++) {
            if (text.charAt(i) == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        return "line " + line + ", column " + (index - lineStart + 1);
    }
}
