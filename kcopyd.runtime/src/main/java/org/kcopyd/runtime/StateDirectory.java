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
            refusePlace(path);
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
            refuseOtherFiles(path);
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
        boolean others = permissions.contains(PosixFilePermission.OTHERS_WRITE);
        String mode = PosixFilePermissions.toString(permissions);
        if (others) {
            // A directory every user writes (/tmp, /dev/shm) is shared by nature: never advised to be chmod-ed.
            throw new RefusedException("state directory " + dir + " is writable by " + (group ? "its group and " : "")
                    + "others (mode " + mode + "): a state directory is the daemon's own; name a new directory "
                    + "(for example " + dir.resolve("kcopyd") + "), which the daemon makes owner-only");
        }
        if (group) {
            throw new RefusedException("state directory " + dir + " is writable by its group (mode " + mode + "): only "
                    + "its owner may change it (chmod g-w " + dir + ")");
        }
    }

    /** The file systems of {@code /dev}, {@code /proc}, {@code /sys}: device nodes and kernel objects, not files. */
    private static final Set<String> KERNEL_FILE_SYSTEMS = Set.of("devtmpfs", "devfs", "devpts", "proc", "sysfs",
            "debugfs", "tracefs", "securityfs", "configfs", "cgroup", "cgroup2", "mqueue", "bpf", "pstore", "efivarfs");

    /**
     * Refuses a state directory in {@code /dev}, {@code /proc} or {@code /sys} (or another file system of
     * the kernel's), looked at from the nearest directory that exists, before anything is made (found by
     * H25: {@code --state /dev} made the daemon's files among the device nodes, and its reservation of
     * {@code /dev} then refused every block device to every kcopyd process); and one inside another
     * daemon's state directory, whose configurations it would mix with its own files. {@code /dev/shm}
     * is a file system for data, but writable by everyone: refused by the mode check.
     */
    private static void refusePlace(Path path) throws RefusedException, IOException {
        Path existing = path;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return;
        }
        Path real = existing.toRealPath();
        String type = Files.getFileStore(real).type();
        boolean shm = real.startsWith("/dev/shm");
        if (KERNEL_FILE_SYSTEMS.contains(type) || !shm && (real.startsWith("/dev") || real.startsWith("/proc")
                || real.startsWith("/sys"))) {
            throw new RefusedException("state directory " + path + " would be in " + real + " (a " + type + " file "
                    + "system of device nodes and kernel objects, not files): name a directory on a file system for "
                    + "data, such as /var/lib/kcopyd");
        }
        // The directories above it (itself, when it exists, may be a state directory: a restart).
        for (Path dir = existing.equals(path) ? real.getParent() : real; dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve(LOCK)) && Files.isDirectory(dir.resolve(CONFIG))) {
                throw new RefusedException("state directory " + path + " would be inside " + dir + ", the state "
                        + "directory of another kcopyd daemon: name a directory outside it");
            }
        }
    }

    /** What a state directory holds: its lock, configurations, logs, and the control API's token and address. */
    private static final Set<String> OWN = Set.of(LOCK, CONFIG, LOGS, "control.token", "control.json");

    /**
     * Refuses an existing directory that holds other files and is not a state directory (it has no
     * {@value #LOCK}): the daemon would make its files among them and hold all of them as its own, so that
     * no kcopyd process could open one (never "initialize" a directory that is something else already).
     * A directory prepared for the daemon (its {@value #CONFIG} directory made in advance) is its own.
     */
    private static void refuseOtherFiles(Path path) throws RefusedException, IOException {
        if (Files.exists(path.resolve(LOCK), LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        java.util.List<String> names = new java.util.ArrayList<>();
        try (java.util.stream.Stream<Path> entries = Files.list(path)) {
            entries.map(e -> e.getFileName().toString()).filter(n -> !OWN.contains(n)).limit(4).forEach(names::add);
        }
        if (!names.isEmpty()) {
            java.util.Collections.sort(names);
            throw new RefusedException("state directory " + path + " holds other files (" + String.join(", ",
                    names.subList(0, Math.min(3, names.size()))) + (names.size() > 3 ? ", ..." : "") + ") and is not a "
                    + "kcopyd state directory (it has no " + LOCK + "): name a new or empty directory, which the daemon "
                    + "keeps as its own");
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
