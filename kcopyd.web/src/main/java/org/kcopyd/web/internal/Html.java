package org.kcopyd.web.internal;

/** HTML escaping of text put into the page's markup or attributes. Stateless. */
final class Html {

    private Html() {
    }

    /** @return {@code s} with {@code & < > " '} as character references */
    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (char c : s.toCharArray()) {
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
