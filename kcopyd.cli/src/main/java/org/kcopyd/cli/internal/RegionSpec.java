package org.kcopyd.cli.internal;

import java.math.BigInteger;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.DeviceUris;

/**
 * A region on the command line: {@code PATH}, {@code PATH:SECTOR} or {@code PATH:SECTOR+COUNT},
 * sectors of 512 bytes. The text after the last {@code ':'} is always the region, so it is never
 * guessed whether a colon belongs to the name: a region that is not decimal digits is refused, not
 * taken as part of a file name. A name that contains {@code ':'} is written with a trailing
 * {@code ':'} (an empty region): {@code a:b.img:} is the whole file {@code a:b.img}.
 *
 * <p>An argument that starts like a URI ({@code SCHEME://}, {@link #URI_PREFIX}) names a device by
 * URI: {@code nbd://host:10809/export}, {@code nbd+unix:///?socket=/run/a.sock}. Its region is the
 * text after the last {@code ':'} past the host and port, so {@code nbd://host:10809} has none and
 * {@code nbd://host:10809/export:2048+8} has one. A file whose name starts like a URI is written
 * {@code ./name}.
 *
 * @param text   the argument as given
 * @param path   the file or device; for a {@code file:} URI the file it names, for another URI null
 * @param uri    the device's URI, or null for a path
 * @param sector the first sector (0 when not given)
 * @param count  the sector count, or -1 when not given: to the end of the file (a source, a region
 *               to zero) or as long as the source (a destination)
 */
record RegionSpec(String text, Path path, URI uri, long sector, long count) {

    /** What makes an argument a URI rather than a path: a scheme, then {@code ://}. */
    static final Pattern URI_PREFIX = Pattern.compile("[a-zA-Z][a-zA-Z0-9+.-]*://");

    /** A region of a file or device named by its path. */
    RegionSpec(String text, Path path, long sector, long count) {
        this(text, path, null, sector, count);
    }

    /** @return true if this names a device by a URI other than {@code file:} (no path, no file identity) */
    boolean remote() {
        return uri != null && path == null;
    }

    /** @return the file's path or the device's URI as given, for messages */
    String name() {
        return uri != null ? uri.toString() : path.toString();
    }

    /** The last sector whose byte offset a {@code long} holds. */
    static final long MAX_SECTOR = Long.MAX_VALUE / BlockDevice.SECTOR_SIZE;

    /** How to write a region, for messages and help. */
    static final String RULE = "SECTOR or SECTOR+COUNT in decimal 512-byte sectors";

    private static final Pattern REGION = Pattern.compile("(\\d+)(?:\\+(\\d+))?");

    /**
     * @param text a command-line argument
     * @return its region
     * @throws IllegalArgumentException naming the argument and the rule it breaks
     */
    static RegionSpec parse(String text) {
        Matcher prefix = URI_PREFIX.matcher(text);
        boolean isUri = prefix.lookingAt();
        int colon = text.lastIndexOf(':');
        if (isUri && colon < authorityEnd(text, prefix.end())) {
            colon = -1;
        }
        String name = colon < 0 ? text : text.substring(0, colon);
        if (name.isEmpty()) {
            throw new IllegalArgumentException("'" + text + "': the file name is empty");
        }
        URI uri = isUri ? uri(text, name) : null;
        Path path = isUri ? filePath(text, uri) : Path.of(name);
        if (colon < 0 || colon == text.length() - 1) {
            return new RegionSpec(text, path, uri, 0, -1);
        }
        String region = text.substring(colon + 1);
        Matcher m = REGION.matcher(region);
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "': the region '" + region + "' after the last ':' is not "
                    + RULE + "; to name a " + (isUri ? "device whose URI contains ':' after its host and port"
                            : "file whose name contains ':'") + ", end it with ':' ('" + text + ":')");
        }
        long sector = number(text, m.group(1), "sector");
        if (m.group(2) == null) {
            return new RegionSpec(text, path, uri, sector, -1);
        }
        long count = number(text, m.group(2), "sector count");
        if (count == 0) {
            throw new IllegalArgumentException("'" + text + "': the sector count 0 is below the minimum 1");
        }
        if (sector > MAX_SECTOR - count) {
            throw new IllegalArgumentException("'" + text + "': the region ends past the largest sector "
                    + MAX_SECTOR);
        }
        return new RegionSpec(text, path, uri, sector, count);
    }

    /** @return where a URI's host and port end: at the first '/', '?' or '#' after {@code ://} */
    private static int authorityEnd(String text, int from) {
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '/' || c == '?' || c == '#') {
                return i;
            }
        }
        return text.length();
    }

    private static URI uri(String text, String name) {
        try {
            return new URI(name);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("'" + text + "': '" + name + "' is not a valid URI: " + e.getReason()
                    + " at index " + e.getIndex() + " (a file whose name starts like a URI is written ./NAME:)");
        }
    }

    /** @return the file a {@code file:} URI names, or null for another scheme */
    private static Path filePath(String text, URI uri) {
        if (!DeviceUris.FILE.equals(DeviceUris.scheme(uri))) {
            return null;
        }
        try {
            return DeviceUris.path(uri);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + text + "': " + e.getMessage(), e);
        }
    }

    private static long number(String text, String digits, String what) {
        if (new BigInteger(digits).compareTo(BigInteger.valueOf(MAX_SECTOR)) > 0) {
            throw new IllegalArgumentException("'" + text + "': the " + what + " " + digits
                    + " is past the largest sector " + MAX_SECTOR);
        }
        return Long.parseLong(digits);
    }

    /** @return the first byte of the region */
    long startByte() {
        return sector * BlockDevice.SECTOR_SIZE;
    }
}
