package org.kcopyd.runtime;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The configuration directory a user names with {@code --config-dir}, checked before anything
 * reads it, the way ssh checks its keys: configuration decides which files kcopyd writes, so
 * nobody but the user (or root) may be able to change it.
 *
 * <p>Refused, with a message naming the path and the reason: a directory that does not exist or
 * is not a directory; a directory, or any directory above it, that is owned by another user
 * (root aside) or writable by group or others (a directory above with the sticky bit, such as
 * {@code /tmp}, is allowed: others cannot rename or replace what is in it); a configuration file
 * ({@code *.cfg}, {@code *.config}) that is not a regular file, cannot be read, or fails the same
 * owner and mode checks (through a symbolic link: the file it leads to, and the directories
 * above that). Only those files are read from the directory; nothing in it is ever installed or
 * run.
 */
final class ConfigDirectory {

    /** The files FileInstall reads (its {@code felix.fileinstall.filter}); everything else is ignored. */
    static final Pattern FILES = Pattern.compile(".*\\.(cfg|config)");

    private static final int GROUP_OR_OTHER_WRITE = 0022;
    private static final int STICKY = 01000;

    /** A directory or file kcopyd will not read configuration from. */
    static final class RefusedException extends Exception {
        private static final long serialVersionUID = 1L;

        RefusedException(String message) {
            super(message, null, false, false);
        }
    }

    private ConfigDirectory() {
    }

    /**
     * Checks the directory and its configuration files.
     *
     * @param spelled the directory as the user wrote it
     * @param uid     this process's user id (-1 where there are no Unix ids: no owner checks)
     * @return the directory's real path
     * @throws RefusedException naming the offending path and why
     */
    static Path check(String spelled, int uid) throws RefusedException {
        if (spelled.isEmpty()) {
            throw new RefusedException("--config-dir needs a directory");
        }
        Path dir;
        try {
            dir = Path.of(spelled).toRealPath();
        } catch (NoSuchFileException e) {
            throw new RefusedException("configuration directory " + spelled + " does not exist");
        } catch (IOException | RuntimeException e) {
            throw new RefusedException("configuration directory " + spelled + " cannot be read: " + e.getMessage());
        }
        if (!Files.isDirectory(dir)) {
            throw new RefusedException("configuration directory " + spelled + " is not a directory");
        }
        String what = "configuration directory " + spelled;
        secure(dir, uid, what, false);
        for (Path ancestor = dir.getParent(); ancestor != null; ancestor = ancestor.getParent()) {
            secure(ancestor, uid, what, true);
        }
        for (Path file : files(dir, what)) {
            checkFile(dir, file, uid);
        }
        return dir;
    }

    private static List<Path> files(Path dir, String what) throws RefusedException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                if (FILES.matcher(entry.getFileName().toString()).matches()) {
                    files.add(entry);
                }
            }
        } catch (IOException e) {
            throw new RefusedException(what + " cannot be listed: " + e.getMessage());
        }
        return files;
    }

    private static void checkFile(Path dir, Path file, int uid) throws RefusedException {
        String what = "configuration file " + file;
        Path real;
        try {
            real = file.toRealPath();
        } catch (IOException e) {
            throw new RefusedException(what + " cannot be read: it leads nowhere (" + e.getMessage() + ")");
        }
        if (!Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) {
            throw new RefusedException(what + " is not a regular file");
        }
        if (!Files.isReadable(real)) {
            throw new RefusedException(what + " cannot be read (permission denied)");
        }
        secure(real, uid, what, false);
        if (!real.getParent().equals(dir)) {
            for (Path ancestor = real.getParent(); ancestor != null; ancestor = ancestor.getParent()) {
                secure(ancestor, uid, what, true);
            }
        }
    }

    /**
     * Owned by {@code uid} or root, writable by nobody else. {@code above}: a directory above the
     * one named, where the sticky bit makes others' write permission harmless.
     */
    private static void secure(Path path, int uid, String what, boolean above) throws RefusedException {
        int mode;
        int owner;
        try {
            mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            owner = (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException | IllegalArgumentException noUnixAttributes) {
            return;
        } catch (IOException e) {
            throw new RefusedException(what + ": " + path + " cannot be checked: " + e.getMessage());
        }
        if (uid >= 0 && owner != uid && owner != 0) {
            throw new RefusedException("refusing " + what + ": " + path + " is owned by user " + owner
                    + ", not by you (" + uid + ") or root");
        }
        if ((mode & GROUP_OR_OTHER_WRITE) != 0 && !(above && (mode & STICKY) != 0)) {
            throw new RefusedException("refusing " + what + ": " + path + " is writable by "
                    + ((mode & 0002) != 0 ? "others" : "its group") + " (mode "
                    + String.format(Locale.ROOT, "%04o", mode & 07777) + "); chmod go-w " + path);
        }
    }
}
