package org.kcopyd.runtime;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One run's private directory for everything the runtime writes while it runs: the OSGi
 * framework's storage, the bnd launcher's copies of its jars, FileInstall's work files.
 *
 * <p>It is made in the temporary directory as {@code kcopyd-PID-RANDOM}, readable by its owner
 * only (0700), and holds {@code lock}, locked for the life of the process. It is removed at exit;
 * a process killed with {@code kill -9} leaves it behind, and the next start removes such
 * leftovers: directories with that name pattern, owned by the same user, not symbolic links,
 * whose process is gone (no process with that id, and nobody holds the lock). Nothing else in
 * the temporary directory is ever touched.
 */
final class RunDirectory {

    static final Pattern NAME = Pattern.compile("kcopyd-(\\d+)-\\d+");
    private static final String LOCK = "lock";
    private static final Duration UNLOCKED_GRACE = Duration.ofMinutes(1);

    private final Path path;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private RunDirectory(Path path, FileChannel lockChannel, FileLock lock) {
        this.path = path;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Makes this run's directory in {@code base} (the temporary directory), then removes the
     * leftovers of runs that were killed.
     *
     * @throws IOException when the directory cannot be made
     */
    static RunDirectory create(Path base) throws IOException {
        long pid = ProcessHandle.current().pid();
        Path dir = posix()
                ? Files.createTempDirectory(base, "kcopyd-" + pid + "-",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")))
                : Files.createTempDirectory(base, "kcopyd-" + pid + "-");
        FileChannel channel = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE);
        FileLock lock = channel.tryLock();
        RunDirectory run = new RunDirectory(dir, channel, lock);
        sweep(base, dir);
        return run;
    }

    private static boolean posix() {
        return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }

    Path path() {
        return path;
    }

    /** The user id that owns the directory (this process's), or -1 where there are no Unix ids. */
    int ownerUid() {
        return uid(path);
    }

    /** Removes the directory and everything in it; what cannot be removed is left to the next start's sweep. */
    void delete() {
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            // Closing a lock on a directory about to be removed: nothing to do about it.
        }
        deleteTree(path);
    }

    /** Removes the leftovers of killed runs of the same user in {@code base}, never {@code own}. */
    static void sweep(Path base, Path own) {
        int uid = uid(own);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(base, "kcopyd-*")) {
            for (Path entry : entries) {
                if (!entry.equals(own) && isLeftover(entry, uid)) {
                    deleteTree(entry);
                }
            }
        } catch (IOException e) {
            // A temporary directory that cannot be listed has nothing of ours to sweep.
        }
    }

    private static boolean isLeftover(Path entry, int uid) {
        Matcher name = NAME.matcher(entry.getFileName().toString());
        if (!name.matches() || !Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS) || uid(entry) != uid) {
            return false;
        }
        long pid;
        try {
            pid = Long.parseLong(name.group(1));
        } catch (NumberFormatException e) {
            return false;
        }
        if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            return false;
        }
        // A process in another PID namespace sharing this directory is not visible, but holds its lock.
        Path lockFile = entry.resolve(LOCK);
        if (!Files.isRegularFile(lockFile, LinkOption.NOFOLLOW_LINKS)) {
            // Killed between making the directory and locking it, or making it right now.
            return olderThan(entry, UNLOCKED_GRACE);
        }
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            FileLock held = channel.tryLock();
            if (held == null) {
                return false;
            }
            held.release();
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static boolean olderThan(Path path, Duration age) {
        try {
            FileTime modified = Files.getLastModifiedTime(path, LinkOption.NOFOLLOW_LINKS);
            return modified.toInstant().isBefore(Instant.now().minus(age));
        } catch (IOException e) {
            return false;
        }
    }

    private static int uid(Path path) {
        try {
            return (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return -1;
        }
    }

    /** Deletes a tree without following symbolic links (a link is removed, not its target); best effort. */
    static void deleteTree(Path dir) {
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    deleteQuietly(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    deleteQuietly(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) {
                    deleteQuietly(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            // Gone already, or the next start's sweep retries.
        }
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // The next start's sweep retries.
        }
    }
}
