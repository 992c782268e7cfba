package org.kcopyd.runtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The daemon's state directory, checked and held for the life of the process before the framework
 * starts: made {@code 0700} if missing (its parents as the user's umask allows), refused when it is a
 * symbolic link, not a directory, owned by another user or writable by group or others; then
 * {@code STATE/lock} is locked exclusively (an fcntl lock through {@link FileChannel#tryLock()}, released
 * by the kernel when the process ends, even at kill -9) and this process's pid written into it. A second
 * daemon on the same directory is refused naming the holder's pid; a client tests whether a daemon runs
 * with a shared {@code tryLock} on the same file, which fails while the lock is held.
 *
 * <p>Also makes the owner-only subdirectories {@value #CONFIG} (Config Admin's configurations) and
 * {@value #LOGS}. Not thread-safe; one per process.
 */
final class StateDirectory {

    /** The lock file's name. */
    static final String LOCK = "lock";
    /** The configurations' directory. */
    static final String CONFIG = "config";
    /** The logs' directory. */
    static final String LOGS = "logs";
    private static final Set<PosixFilePermission> OWNER_ONLY_DIRECTORY = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> OWNER_ONLY_FILE = PosixFilePermissions.fromString("rw-------");

    /** Why a state directory cannot be used; the message names it and the reason. */
    static final class RefusedException extends Exception {
        private static final long serialVersionUID = 1L;

        RefusedException(String message) {
            super(message);
        }
    }

    private final Path path;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private StateDirectory(Path path, FileChannel lockChannel, FileLock lock) {
        this.path = path;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Checks, makes if needed, and locks a state directory.
     *
     * @param path absolute, normalized (see {@link StateLocation})
     * @param uid  this process's user id
     * @return the held directory
     * @throws RefusedException naming the directory and the reason
     */
    static StateDirectory open(Path path, int uid) throws RefusedException {
        try {
            if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
                Path parent = path.getParent();
                if (parent != null) {
                    Files.createDirectories(parent);
                }
                try {
                    Files.createDirectory(path, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIRECTORY));
                    Files.setPosixFilePermissions(path, OWNER_ONLY_DIRECTORY);
                } catch (FileAlreadyExistsException raced) {
                    // made by someone else meanwhile: checked below like any existing directory
                }
            }
            check(path, uid);
            for (String sub : new String[] {CONFIG, LOGS}) {
                Path dir = path.resolve(sub);
                if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIRECTORY));
                    Files.setPosixFilePermissions(dir, OWNER_ONLY_DIRECTORY);
                }
                check(dir, uid);
            }
        } catch (IOException e) {
            throw new RefusedException("state directory " + path + ": " + reason(e));
        }
        return lock(path);
    }

    private static void check(Path dir, int uid) throws RefusedException, IOException {
        if (Files.isSymbolicLink(dir)) {
            throw new RefusedException("state directory " + dir + " is a symbolic link (to " + Files.readSymbolicLink(dir)
                    + "): name the directory itself");
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new RefusedException("state directory " + dir + " is not a directory");
        }
        int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (owner != uid) {
            throw new RefusedException("state directory " + dir + " is owned by user id " + owner
                    + ", not by this user (id " + uid + "): it must be the daemon's own");
        }
        Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
        boolean group = permissions.contains(PosixFilePermission.GROUP_WRITE);
        if (group || permissions.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new RefusedException("state directory " + dir + " is writable by " + (group ? "its group" : "others")
                    + " (mode " + PosixFilePermissions.toString(permissions) + "): only its owner may change it"
                    + " (chmod 700 " + dir + ")");
        }
    }

    private static StateDirectory lock(Path path) throws RefusedException {
        Path file = path.resolve(LOCK);
        FileChannel channel;
        try {
            if (Files.isSymbolicLink(file)) {
                throw new RefusedException("lock file " + file + " is a symbolic link: remove it");
            }
            channel = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
                    PosixFilePermissions.asFileAttribute(OWNER_ONLY_FILE));
        } catch (IOException e) {
            throw new RefusedException("state directory " + path + ": cannot open " + file + ": " + reason(e));
        }
        try {
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException sameProcess) {
                lock = null;
            }
            if (lock == null) {
                String holder = holder(channel);
                channel.close();
                throw new RefusedException("state directory " + path + " is in use by another kcopyd daemon"
                        + (holder.isEmpty() ? "" : " (pid " + holder + ")") + ": one daemon per state directory");
            }
            channel.truncate(0);
            byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
            channel.write(ByteBuffer.wrap(pid), 0);
            channel.force(true);
            return new StateDirectory(path, channel, lock);
        } catch (IOException e) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the lock goes with the channel
            }
            throw new RefusedException("state directory " + path + ": cannot lock " + file + ": " + reason(e));
        }
    }

    private static String holder(FileChannel channel) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(32);
        channel.read(buffer, 0);
        return new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII).trim();
    }

    private static String reason(IOException e) {
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied (" + e.getMessage() + ")";
        }
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file or directory (" + e.getMessage() + ")";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    Path path() {
        return path;
    }

    /** Releases the lock (the process's end releases it too). */
    void release() throws IOException {
        lock.release();
        lockChannel.close();
    }
}
