package org.kcopyd.mirror.internal;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.regex.Pattern;

import org.kcopyd.device.DeviceUris;

/**
 * Legs named by URI in a mirror's configuration: which values are URIs (the command line's
 * rule: {@code SCHEME://} at the start), and the normalized form that is a remote leg's
 * identity. Stateless and thread-safe.
 */
final class DeviceUriText {

    /** A value that starts like a URI with an authority, as the command line tells URIs from paths. */
    private static final Pattern LOOKS_LIKE_URI = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]*://");

    private DeviceUriText() {
    }

    /** @return whether {@code value} names a device by URI rather than by path */
    static boolean looksLikeUri(String value) {
        return value != null && LOOKS_LIKE_URI.matcher(value).find();
    }

    /**
     * @param value a value that {@linkplain #looksLikeUri looks like a URI}
     * @return it parsed, its scheme checked
     * @throws IllegalArgumentException naming the value and why it is not a device URI
     */
    static URI parse(String value) {
        URI uri;
        try {
            uri = new URI(value);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("'" + value + "' is not a valid URI: " + e.getReason() + " at index "
                    + e.getIndex());
        }
        DeviceUris.scheme(uri);
        return uri;
    }

    /**
     * @param uri a device URI
     * @return the URI with its scheme and host in lower case and its dot segments removed: two
     *         spellings of one URI give one string (the command line's rule, so that a URI it
     *         refuses twice is one device here too); user information, port, path, query and
     *         fragment are kept as written
     */
    static String normalized(URI uri) {
        URI n = uri.normalize();
        String text = n.toString();
        String rest = text.substring(n.getScheme().length());
        String authority = n.getRawAuthority();
        if (authority != null && n.getHost() != null && rest.startsWith("://" + authority)) {
            String after = rest.substring(3 + authority.length());
            rest = "://" + (n.getRawUserInfo() == null ? "" : n.getRawUserInfo() + "@")
                    + n.getHost().toLowerCase(Locale.ROOT) + (n.getPort() >= 0 ? ":" + n.getPort() : "") + after;
        }
        return n.getScheme().toLowerCase(Locale.ROOT) + rest;
    }
}
