package org.kcopyd.control.internal.service;

/** Values quoted in messages: control characters escaped so that one message stays one line. */
final class Text {

    /**
     * Longest value quoted whole; longer ones are cut, saying how long they were. Also used for a component's
     * refusal quoted in an answer, whose last words say what to do (up to ~700 characters): the client prints 1000.
     */
    private static final int MAX_QUOTED = 1000;

    private Text() {
    }

    /** @return {@code value} with control characters as {@code \n}, {@code \t} or {@code \}{@code uXXXX}; "null" for null */
    static String printable(String value) {
        if (value == null) {
            return "null";
        }
        String cut = value.length() > MAX_QUOTED
                ? value.substring(0, MAX_QUOTED) + "... (" + value.length() + " characters)" : value;
        StringBuilder b = new StringBuilder(cut.length());
        for (char c : cut.toCharArray()) {
            if (c == '\n') {
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
