package org.kcopyd.control.internal.service;

/**
 * Values quoted in messages (the service's and the HTTP layer's): control characters escaped so that one message
 * stays one line, and what was sent shown as it was (a lone surrogate escaped, not turned into '?').
 */
public final class Text {

    /**
     * Longest value quoted whole; longer ones are cut, saying how long they were. Also used for a component's
     * refusal quoted in an answer, whose last words say what to do (up to ~700 characters): the client prints 1000.
     */
    private static final int MAX_QUOTED = 1000;

    private Text() {
    }

    /**
     * @return {@code value} with control characters, and surrogates not in a pair, as {@code \n}, {@code \t} or
     *         {@code \}{@code uXXXX}; "null" for null
     */
    public static String printable(String value) {
        if (value == null) {
            return "null";
        }
        String cut = value.length() > MAX_QUOTED
                ? value.substring(0, MAX_QUOTED) + "... (" + value.length() + " characters)" : value;
        StringBuilder b = new StringBuilder(cut.length());
        for (int i = 0; i < cut.length(); i++) {
            char c = cut.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < cut.length() && Character.isLowSurrogate(cut.charAt(i + 1))) {
                b.append(c).append(cut.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                // Half of a pair alone: no character, and UTF-8 would show it as '?'.
                b.append(String.format("\\u%04x", (int) c));
            } else if (c == '\n') {
                b.append("\\n");
            } else if (c == '\t') {
                b.append("\\t");
            } else if (Character.isISOControl(c)) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
