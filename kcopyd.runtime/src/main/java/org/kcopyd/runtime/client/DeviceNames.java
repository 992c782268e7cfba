package org.kcopyd.runtime.client;

import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * The client's checks of names and device arguments before they are sent: a path becomes absolute
 * against the client's working directory (the daemon refuses relative ones), while a device URI
 * ({@code SCHEME://...}, the command line's rule) and the daemon's device names
 * {@code snapshot:NAME}, {@code origin:NAME}, {@code mirror:NAME} (and a mirror leg's
 * {@code service:NAME}) pass as they are. A file whose name starts like those is written
 * {@code ./NAME}. Every refusal is a {@link ClientException#usage} naming the argument. Stateless.
 */
final class DeviceNames {

    /** The control API's rule for names of snapshots, mirrors and exports. */
    static final Pattern NAME = Pattern.compile("(?!\\.+$)[A-Za-z0-9._-]{1,64}");
    /** The rule in words. */
    static final String NAME_RULE = "a name is 1 to 64 characters of A-Z a-z 0-9 . _ -, not only dots";
    /** An argument starting like this is a device URI (kcopyd.cli's RegionSpec.URI_PREFIX). */
    static final Pattern URI_PREFIX = Pattern.compile("[a-zA-Z][a-zA-Z0-9+.-]*://");
    /** The daemon's own device names, {@code KIND:NAME}. */
    private static final Pattern DAEMON_DEVICE = Pattern.compile("(snapshot|origin|mirror):(.*)", Pattern.DOTALL);

    private DeviceNames() {
    }

    /**
     * @param kind "snapshot", "mirror" or "export", for the message
     * @return the name, checked
     */
    static String name(String kind, String name) {
        if (!NAME.matcher(name).matches()) {
            throw ClientException.usage(kind + " name '" + Json.printable(name) + "' is not allowed: " + NAME_RULE);
        }
        return name;
    }

    /**
     * A device argument as the daemon takes it.
     *
     * @param what  "origin", "leg 1", "source"... for messages
     * @param value the argument
     * @param cwd   the client's working directory
     * @return a URI or daemon device name unchanged, else the absolute path
     */
    static String device(String what, String value, Path cwd) {
        if (URI_PREFIX.matcher(value).lookingAt()) {
            if (value.chars().anyMatch(c -> c <= ' ' || c == 0x7f)) {
                throw ClientException.usage(what + " '" + Json.printable(value) + "' is not a valid URI: it holds a space "
                        + "or control character");
            }
            return value;
        }
        var daemonDevice = DAEMON_DEVICE.matcher(value);
        if (daemonDevice.matches()) {
            String kind = daemonDevice.group(1);
            if (!NAME.matcher(daemonDevice.group(2)).matches()) {
                throw ClientException.usage(what + " '" + Json.printable(value) + "' names no " + (kind.equals("origin")
                        ? "snapshot" : kind) + ": " + NAME_RULE + " (a file whose name starts with " + kind
                        + ": is written ./NAME)");
            }
            return value;
        }
        return path(what, value, cwd);
    }

    /**
     * @return {@code value} as an absolute path against {@code cwd} (not normalized: {@code ..}
     *         after a symbolic link means what the file system says)
     */
    static String path(String what, String value, Path cwd) {
        if (value.isEmpty()) {
            throw ClientException.usage(what + " is empty: give a path");
        }
        try {
            return cwd.resolve(Path.of(value)).toString();
        } catch (InvalidPathException e) {
            throw ClientException.usage(what + " '" + Json.printable(value) + "' is not a path: " + e.getReason());
        }
    }

    /** @return the absolute path of a Unix socket, refused past the kernel's 107 bytes */
    static String socket(String option, String value, Path cwd) {
        String path = path(option, value, cwd);
        int bytes = path.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > 107) {
            throw ClientException.usage(option + " " + Json.printable(path) + " is " + bytes + " bytes long; a Unix socket "
                    + "path holds at most 107");
        }
        return path;
    }
}
