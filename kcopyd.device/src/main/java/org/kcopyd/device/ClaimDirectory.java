package org.kcopyd.device;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Where the kcopyd processes of one user record their claims (see {@link FileClaims}): a
 * directory of that user's only, so that nobody else can block or forge a claim.
 *
 * <ul>
 * <li>{@value #PROPERTY}, when set (a system property);
 * <li>for root, {@code /run/kcopyd/claims};
 * <li>else {@code $XDG_RUNTIME_DIR/kcopyd/claims} when the variable is set;
 * <li>else {@code /run/user/UID/kcopyd/claims} when {@code /run/user/UID} exists (it is what
 *     {@code XDG_RUNTIME_DIR} names in a login session, so that a process started without one,
 *     from cron say, meets the same claims);
 * <li>else {@code /tmp/kcopyd-claims-UID}.
 * </ul>
 *
 * <p>Missing directories are created (mode 0700). The directory, and the {@code kcopyd} directory
 * above it where kcopyd made one, must be real directories (not symbolic links) owned by the user
 * and writable by nobody else; otherwise claims are refused, with the reason. Not derived from
 * {@code java.io.tmpdir}: the runtime jar points that at a directory of its own per run.
 */
final class ClaimDirectory {

    /** The system property that names the claims directory. */
    static final String PROPERTY = "kcopyd.claims.dir";

    private ClaimDirectory() {
    }

    /**
     * Finds the claims directory, creating what is missing, and checks it.
     *
     * @return the directory
     * @throws IOException if it cannot be made or may not be used; the message names it and why
     */
    static Path locate() throws IOException {
        return locate(System.getProperty(PROPERTY), currentUid(), System.getenv());
    }

    /**
     * @param override the directory named by {@value #PROPERTY}, or null
     * @param uid      the user
     * @param env      the environment
     * @return the claims directory, made and checked
     * @throws IOException as {@link #locate()}
     */
    static Path locate(String override, long uid, Map<String, String> env) throws IOException {
        if (override != null && !override.isBlank()) {
            Path dir = Path.of(override).toAbsolutePath();
            try {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
                        "rwx------")));
            } catch (FileAlreadyExistsException e) {
                // A file that is not a directory: check() names it.
            } catch (IOException e) {
                throw new IOException(unusable(dir, "cannot create it (" + reason(e) + ")"), e);
            }
            Path real;
            try {
                real = dir.toRealPath();
            } catch (IOException e) {
                throw new IOException(unusable(dir, reason(e)), e);
            }
            check(real, uid);
            return real;
        }
        List<Path> chain = defaultFor(uid, env, p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS));
        Path dir = chain.get(0);
        for (Path p : chain.subList(1, chain.size())) {
            dir = p;
            try {
                Files.createDirectory(p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
                        "rwx------")));
            } catch (FileAlreadyExistsException e) {
                // Made before, by kcopyd or by someone else: check() tells which.
            } catch (IOException e) {
                throw new IOException(unusable(p, "cannot create it (" + reason(e) + ")"), e);
            }
            check(p, uid);
        }
        return dir;
    }

    /**
     * The default claims directory of a user.
     *
     * @param uid          the user
     * @param env          the environment ({@code XDG_RUNTIME_DIR})
     * @param isDirectory  whether a path is a directory (for {@code /run/user/UID})
     * @return the directory taken as it is ({@code /run}, the runtime directory, {@code /tmp}), then
     *         the ones kcopyd makes if missing and checks below it, in order; the last is the claims directory
     */
    static List<Path> defaultFor(long uid, Map<String, String> env, Predicate<Path> isDirectory) {
        if (uid == 0) {
            Path run = Path.of("/run");
            return List.of(run, run.resolve("kcopyd"), run.resolve("kcopyd/claims"));
        }
        String xdg = env.get("XDG_RUNTIME_DIR");
        if (xdg != null && !xdg.isBlank()) {
            Path base = Path.of(xdg).toAbsolutePath();
            return List.of(base, base.resolve("kcopyd"), base.resolve("kcopyd/claims"));
        }
        Path runUser = Path.of("/run/user/" + uid);
        if (isDirectory.test(runUser)) {
            return List.of(runUser, runUser.resolve("kcopyd"), runUser.resolve("kcopyd/claims"));
        }
        Path tmp = Path.of("/tmp");
        return List.of(tmp, tmp.resolve("kcopyd-claims-" + uid));
    }

    /**
     * Refuses a directory that another user could write to or replace.
     *
     * @param dir a directory (a symbolic link is refused)
     * @param uid the user who must own it
     * @throws IOException if it is not a directory, not the user's, or writable by group or others
     */
    static void check(Path dir, long uid) throws IOException {
        Map<String, Object> attrs;
        try {
            attrs = Files.readAttributes(dir, "unix:mode,uid", LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            throw new IOException(unusable(dir, "its owner and mode cannot be read on this system"), e);
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(unusable(dir, Files.isSymbolicLink(dir) ? "it is a symbolic link"
                    : "it is not a directory"));
        }
        long owner = ((Number) attrs.get("uid")).longValue();
        if (owner != uid) {
            throw new IOException(unusable(dir, "it belongs to uid " + owner + ", not to this user (uid " + uid + ")"));
        }
        int mode = ((Number) attrs.get("mode")).intValue() & 07777;
        if ((mode & 0022) != 0) {
            throw new IOException("cannot use claims directory " + dir + ": it is writable by "
                    + ((mode & 0002) != 0 ? "others" : "its group") + " (mode " + String.format("%04o", mode)
                    + "); chmod go-w " + dir);
        }
    }

    private static String unusable(Path dir, String why) {
        return "cannot use claims directory " + dir + ": " + why + "; name another with -D" + PROPERTY + "=DIR";
    }

    private static String reason(IOException e) {
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "a directory above it does not exist";
        }
        if (e instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
            return f.getReason().toLowerCase(java.util.Locale.ROOT);
        }
        return String.valueOf(e.getMessage());
    }

    /** @return the effective user id of this process */
    static long currentUid() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (Files.isReadable(status)) {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("Uid:")) {
                    // Real, effective, saved and file system uids: files are created as the effective one.
                    return Long.parseLong(line.substring(4).trim().split("\\s+")[1]);
                }
            }
        }
        Path probe = Files.createTempFile("kcopyd-uid", null);
        try {
            return ((Number) Files.getAttribute(probe, "unix:uid")).longValue();
        } finally {
            Files.delete(probe);
        }
    }
}
