package org.kcopyd.testdevices;

import java.io.Closeable;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A file system of a given kind made in a sparse image file and mounted through a loop device
 * ({@code mount -o loop}) on a directory of its own, for tests and benchmarks that need a file
 * system this machine does not have (XFS or Btrfs, whose copies share blocks). Needs root, loop
 * devices and the file system's {@code mkfs}: {@link #unavailable} says what is missing.
 * {@link #close()} unmounts (lazily, {@code umount -l}, if a plain unmount is refused) and deletes
 * the image and the directory; a test calls it in a {@code finally} or {@code @AfterAll}, a
 * program also from a shutdown hook. Each external command has {@value #COMMAND_SECONDS} seconds.
 * Thread-safe ({@link #close()} is synchronized).
 */
public final class LoopMount implements Closeable {

    /** Seconds each command (mkfs, mount, umount) may take. */
    public static final int COMMAND_SECONDS = 60;

    /** File systems this class makes, with the least image each accepts. */
    public enum Kind {
        /** XFS: {@code mkfs.xfs} refuses less than 300 MiB. */
        XFS("xfs", "mkfs.xfs", "xfsprogs", 300L << 20),
        /** Btrfs: {@code mkfs.btrfs} refuses less than 114 MiB (with its defaults). */
        BTRFS("btrfs", "mkfs.btrfs", "btrfs-progs", 128L << 20);

        private final String type;
        private final String mkfs;
        private final String debianPackage;
        private final long leastBytes;

        Kind(String type, String mkfs, String debianPackage, long leastBytes) {
            this.type = type;
            this.mkfs = mkfs;
            this.debianPackage = debianPackage;
            this.leastBytes = leastBytes;
        }

        /** @return the type {@code mount} and {@code stat -f} name, e.g. {@code xfs} */
        public String type() {
            return type;
        }

        /** @return the program that makes it, e.g. {@code mkfs.xfs} */
        public String mkfs() {
            return mkfs;
        }

        /** @return the Debian package of {@link #mkfs()} */
        public String debianPackage() {
            return debianPackage;
        }

        /** @return the least image size in bytes this class makes for it */
        public long leastBytes() {
            return leastBytes;
        }
    }

    private final Kind kind;
    private final Path image;
    private final Path directory;
    private boolean mounted; // guarded by this

    private LoopMount(Kind kind, Path image, Path directory) {
        this.kind = kind;
        this.image = image;
        this.directory = directory;
    }

    /**
     * @return null if this machine can make and mount {@code kind}, else what is missing, e.g.
     *         "needs root and loop devices (/dev/loop-control)" or "mkfs.xfs not installed
     *         (Debian package xfsprogs)"; whether the kernel mounts it is known only by trying
     */
    public static String unavailable(Kind kind) {
        if (!isRoot()) {
            return "mounting a " + kind.type + " image needs root and loop devices: not running as root";
        }
        if (!Files.exists(Path.of("/dev/loop-control"))) {
            return "mounting a " + kind.type + " image needs root and loop devices: no /dev/loop-control";
        }
        for (String[] program : new String[][] {{kind.mkfs, kind.debianPackage}, {"mount", "mount"},
            {"umount", "mount"}}) {
            if (Peers.find(program[0]) == null) {
                return program[0] + " not installed (Debian package " + program[1] + ")";
            }
        }
        return null;
    }

    /**
     * Makes a sparse image of {@code bytes} at {@code image}, a {@code kind} file system in it, and
     * mounts it on {@code directory} (created; must not exist or be empty). On any failure what
     * was made is undone.
     *
     * @throws IllegalArgumentException if {@code bytes} is below {@link Kind#leastBytes()}
     * @throws IOException              if a command fails (its exit status and output in the
     *                                  message), runs out of time, or {@link #unavailable} names
     *                                  what is missing
     */
    public static LoopMount create(Kind kind, Path image, Path directory, long bytes) throws IOException {
        if (bytes < kind.leastBytes) {
            throw new IllegalArgumentException("image of " + bytes + " bytes for " + kind.type
                    + " is below its least size " + kind.leastBytes + " bytes");
        }
        String missing = unavailable(kind);
        if (missing != null) {
            throw new IOException(missing);
        }
        LoopMount m = new LoopMount(kind, image, directory);
        try {
            try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(bytes);
            }
            run(List.of(Peers.find(kind.mkfs).toString(), "-q", "-f", image.toString()));
            Files.createDirectories(directory);
            run(List.of("mount", "-t", kind.type, "-o", "loop", image.toString(), directory.toString()));
            m.mounted = true;
            return m;
        } catch (IOException | RuntimeException e) {
            try {
                m.close();
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /** @return the directory the file system is mounted on */
    public Path directory() {
        return directory;
    }

    /** @return the file system's kind */
    public Kind kind() {
        return kind;
    }

    /**
     * Unmounts ({@code umount}, else {@code umount -l}), then deletes the image and the mount
     * directory. Idempotent; may be called by the owner and by a shutdown hook at once.
     *
     * @throws IOException if the file system stays mounted or a file cannot be deleted
     */
    @Override
    public synchronized void close() throws IOException {
        if (mounted) {
            try {
                run(List.of("umount", directory.toString()));
                mounted = false;
            } catch (IOException e) {
                try {
                    run(List.of("umount", "-l", directory.toString()));
                    mounted = false;
                } catch (IOException lazy) {
                    e.addSuppressed(lazy);
                    throw new IOException(kind.type + " image " + image + " is still mounted on " + directory, e);
                }
            }
        }
        IOException failure = null;
        for (Path p : new Path[] {directory, image}) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public synchronized String toString() {
        return kind.type + " " + image + " on " + directory + (mounted ? "" : " (not mounted)");
    }

    /** @return true if this process runs with effective user id 0 (root) */
    public static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
                if (line.startsWith("Uid:")) {
                    String[] ids = line.substring(4).trim().split("\\s+");
                    return ids.length > 1 && ids[1].equals("0");
                }
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Runs {@code command} (for {@link LoopDevice} too).
     *
     * @return its output, both streams, trimmed
     * @throws IOException with the output in the message if it fails or runs out of time
     */
    static String run(List<String> command) throws IOException {
        Path output = Files.createTempFile("kcopyd-loopmount", ".out");
        try {
            Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true)
                    .redirectOutput(output.toFile()).start();
            try {
                if (!p.waitFor(COMMAND_SECONDS, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IOException(String.join(" ", command) + " still running after " + COMMAND_SECONDS
                            + " s");
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException(String.join(" ", command) + " interrupted", e);
            }
            String out = Files.readString(output, StandardCharsets.UTF_8).trim();
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " exited with status " + p.exitValue() + ": " + out);
            }
            return out;
        } finally {
            Files.deleteIfExists(output);
        }
    }
}
