package org.kcopyd.cli.internal;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

import org.kcopyd.device.DeviceUriIdentity;
import org.kcopyd.device.FileClaims;
import org.kcopyd.device.FileErrors;

/**
 * A file named on the command line, examined before anything is opened or created: that it is a
 * regular file or a block device (a FIFO would block an open, a character device cannot be sized
 * or sought), or, for a new destination, that its directory exists and is writable. Or a device
 * named by a URI other than {@code file:} ({@link #remote}), which has no file to examine: it
 * always exists (opening it will tell), is never created, and is known by its normalized URI.
 *
 * @param path     the path as given, or null for a device named by URI
 * @param identity what tells two names of one file apart: {@link FileClaims#identityOf} of an
 *                 existing file, the real directory and name of a new one, the normalized URI of
 *                 a device named by URI
 * @param exists   false for a destination to be created
 * @param regular  a regular file (its size need not be whole sectors), else a block device or a
 *                 device named by URI (whole sectors)
 * @param uri      the device's URI, or null for a file
 */
record Operand(Path path, Object identity, boolean exists, boolean regular, URI uri) {

    /** A file or block device. */
    Operand(Path path, Object identity, boolean exists, boolean regular) {
        this(path, identity, exists, regular, null);
    }

    /**
     * @param uri a device's URI, of a scheme other than {@code file}
     * @return the operand: it exists, is whole sectors, and its identity is the normalized URI
     *         (scheme and host in lower case, dot segments removed; for NBD what it connects to:
     *         {@link DeviceUriIdentity}), so that two spellings of one URI count as one device
     */
    static Operand remote(URI uri) {
        return new Operand(null, new RemoteIdentity(normalized(uri)), true, false, uri);
    }

    /** The identity of a device named by URI: its normalized URI, never equal to a file's identity. */
    record RemoteIdentity(String uri) {
    }

    private static String normalized(URI uri) {
        return DeviceUriIdentity.of(uri);
    }

    /** @return true for a device named by URI (no file, no file identity) */
    boolean isRemote() {
        return uri != null;
    }

    /** @return the path or URI as given, for messages */
    String name() {
        return uri != null ? uri.toString() : path.toString();
    }

    private static final int S_IFMT = 0170000;
    private static final int S_IFIFO = 0010000;
    private static final int S_IFCHR = 0020000;
    private static final int S_IFBLK = 0060000;
    private static final int S_IFSOCK = 0140000;

    /**
     * @param path a file that must exist
     * @param role "source", "destination"... for messages
     * @return the examined file
     * @throws CommandException if it does not exist ({@link Exit#FAILED}) or is of the wrong kind
     *                          ({@link Exit#USAGE})
     */
    static Operand existing(Path path, String role) {
        refuseDash(path, role);
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw CommandException.failed("cannot open " + role + " " + path + ": " + (Files.isSymbolicLink(path)
                    ? "it is a symbolic link to the missing " + target(path) : "no such file"));
        } catch (IOException e) {
            throw CommandException.failed(FileErrors.describe(e, "examine " + role + " " + path));
        }
        if (attrs.isDirectory()) {
            throw CommandException.usage(role + " " + path + " is a directory, not a file or block device");
        }
        boolean regular = attrs.isRegularFile();
        if (!regular) {
            String kind = kind(path);
            if (kind != null) {
                throw CommandException.usage(role + " " + path + " is " + kind + ", not a regular file or block "
                        + "device: kcopyd needs a size and random access");
            }
        }
        try {
            return new Operand(path, FileClaims.identityOf(path), true, regular);
        } catch (IOException e) {
            throw CommandException.failed(FileErrors.describe(e, "examine " + role + " " + path));
        }
    }

    /**
     * H48-9, H49-11: dd, nbdcopy and qemu-img take "-" for standard input or output; a file of that name
     * (made, overwritten, zeroed or read) is what nobody means by it. {@code ./-} names such a file.
     */
    private static void refuseDash(Path path, String role) {
        if (path.toString().equals("-")) {
            throw CommandException.usage(role + " '-' is not standard " + (role.equals("source") ? "input" : "output")
                    + ": kcopyd copies " + (role.equals("source") ? "from" : "to") + " devices and files only; to name "
                    + "a file -, write ./-");
        }
    }

    /**
     * @param path a destination: an existing file or block device, or a new file to create
     * @return the examined destination
     * @throws CommandException as {@link #existing}, or if a new file could not be created there
     */
    static Operand destination(Path path) {
        refuseDash(path, "destination");
        if (Files.exists(path)) {
            return existing(path, "destination");
        }
        if (Files.isSymbolicLink(path)) {
            try {
                Files.readAttributes(path, BasicFileAttributes.class);
            } catch (NoSuchFileException e) {
                throw CommandException.failed("cannot create " + path + ": it is a symbolic link to the missing "
                        + target(path) + ", and kcopyd creates no file through a link");
            } catch (IOException e) {
                // A loop of links ("too many levels of symbolic links"), or a link that cannot be followed.
                throw CommandException.failed(FileErrors.describe(e, "create " + path));
            }
            // Its target appeared meanwhile: an existing destination after all.
            return existing(path, "destination");
        }
        Path shown = path.getParent() != null ? path.getParent() : Path.of(".");
        Path parent = path.toAbsolutePath().getParent();
        if (parent == null || !Files.exists(parent)) {
            throw CommandException.failed("cannot create " + path + ": no such directory " + shown);
        }
        if (!Files.isDirectory(parent)) {
            throw CommandException.failed("cannot create " + path + ": " + shown + " is not a directory");
        }
        if (!Files.isWritable(parent)) {
            throw CommandException.failed("cannot create " + path + ": directory " + shown + " is not writable");
        }
        try {
            return new Operand(path, "new file " + parent.toRealPath().resolve(path.getFileName()), false, true);
        } catch (IOException e) {
            throw CommandException.failed(FileErrors.describe(e, "create " + path));
        }
    }

    /** @return what a non-regular, non-directory file is, or null for a block device */
    private static String kind(Path path) {
        int mode;
        try {
            mode = ((Number) Files.getAttribute(path, "unix:mode")).intValue();
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "neither a regular file nor a block device";
        }
        return switch (mode & S_IFMT) {
            case S_IFBLK -> null;
            case S_IFCHR -> "a character device";
            case S_IFIFO -> "a FIFO";
            case S_IFSOCK -> "a socket";
            default -> "neither a regular file nor a block device";
        };
    }

    private static String target(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException e) {
            return "file";
        }
    }
}
