package org.kcopyd.snapshot.internal;

/** LDAP filter values (RFC 1960 as OSGi reads it): whatever a value holds, it matches only itself. */
final class Filters {

    private Filters() {
    }

    /** @return {@code value} with {@code \ * ( )} escaped, for use as a filter's value */
    static String escape(String value) {
        StringBuilder b = new StringBuilder(value.length());
        for (char c : value.toCharArray()) {
            if (c == '\\' || c == '*' || c == '(' || c == ')') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }
}
