package org.kcopyd.control.internal.service;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;

import org.kcopyd.control.ControlException;
import org.kcopyd.device.FileErrors;

/**
 * What kind of file a path names, and the refusal of what kcopyd cannot use as a device: a missing
 * file, a directory, a FIFO, socket or character device (no size, no random access). The command
 * line's {@code Operand.existing} applies the same rule.
 */
final class DeviceKinds {

    private DeviceKinds() {
    }

    /**
     * Refuses a path that cannot be opened as the one-shot {@code copy} and {@code zero} do, with exit
     * code 1 ("could not run": no such file, a symbolic link to nothing, a directory above it that
     * cannot be searched): FAILED, which the daemon's command-line client also exits 1 with (H48-8:
     * snapshot, mirror and export commands said 2 where copy said 1). The wrong kind of file (a
     * directory, a FIFO) is a bad argument: BAD_REQUEST, exit 2.
     *
     * @param path an absolute path
     * @param role "origin", "COW store"... for messages
     * @throws ControlException naming the path and what it is
     */
    static void requireDevice(Path path, String role) {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw ControlException.failed("cannot open " + role + " " + path + ": " + (Files.isSymbolicLink(path)
                    ? "it is a symbolic link to nothing" : "no such file"));
        } catch (IOException e) {
            throw ControlException.failed("cannot examine " + role + " " + path + ": " + FileErrors.reason(e));
        }
        if (attrs.isDirectory()) {
            throw ControlException.badRequest(role + " " + path + " is a directory, not a file or block device");
        }
        if (!attrs.isRegularFile()) {
            String kind = kind(path);
            if (kind != null) {
                throw ControlException.badRequest(role + " " + path + " is " + kind + ", not a regular file or block "
                        + "device: kcopyd needs a size and random access");
            }
        }
    }

    /** @return "a FIFO", "a socket", "a character device", or null for a block device or what cannot be told */
    private static String kind(Path path) {
        try {
            PosixFileAttributes posix = Files.readAttributes(path, PosixFileAttributes.class);
            Object mode = Files.getAttribute(path, "unix:mode");
            if (mode instanceof Integer m) {
                return switch (m & 0170000) {
                    case 0010000 -> "a FIFO";
                    case 0140000 -> "a socket";
                    case 0020000 -> "a character device";
                    default -> null;
                };
            }
            return posix.isOther() ? "not a regular file" : null;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return null;
        }
    }

    /** @return whether something (a file or a dangling link) is at {@code path} */
    static boolean present(Path path) {
        return Files.exists(path, LinkOption.NOFOLLOW_LINKS);
    }
}
