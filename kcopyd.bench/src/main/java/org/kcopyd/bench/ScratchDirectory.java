package org.kcopyd.bench;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A new directory of the benchmark's own inside a directory the user named: every file the
 * benchmark makes is named through {@link #file}, and {@link #remove} deletes exactly those
 * files and then the directory. Nothing else is ever deleted: a directory that holds anything
 * more at the end is left where it is, and the caller says so. Thread-safe: a shutdown hook
 * may remove it while the run still names files.
 */
final class ScratchDirectory {

    private final Path dir;
    private final Set<String> names = new LinkedHashSet<>();
    private final Set<String> trees = new LinkedHashSet<>();
    private boolean removed;

    private ScratchDirectory(Path dir) {
        this.dir = dir;
    }

    /**
     * @param parent an existing directory
     * @return a new, empty directory {@code kcopyd-bench-*} inside it
     * @throws IOException if it cannot be created
     */
    static ScratchDirectory createIn(Path parent) throws IOException {
        return new ScratchDirectory(Files.createTempDirectory(parent, "kcopyd-bench-"));
    }

    Path path() {
        return dir;
    }

    /** @return the path of a file the benchmark will make here (deleted by {@link #remove}) */
    synchronized Path file(String name) {
        if (name.contains("/") || name.startsWith(".")) {
            throw new IllegalArgumentException("not a plain file name: " + name);
        }
        if (removed) {
            throw new IllegalStateException(dir + " has been removed (the benchmark is ending)");
        }
        names.add(name);
        return dir.resolve(name);
    }

    /**
     * @return the path of a directory a program the benchmark runs will make here (a daemon's state
     *         directory), deleted with everything under it by {@link #remove}; symbolic links in it are
     *         deleted, never followed
     */
    synchronized Path tree(String name) {
        Path path = file(name);
        names.remove(name);
        trees.add(name);
        return path;
    }

    /**
     * Deletes the files and trees made here, then the directory.
     *
     * @return true if the directory is gone; false if it held something else and was left
     * @throws IOException if a file cannot be deleted
     */
    synchronized boolean remove() throws IOException {
        removed = true;
        for (String name : names) {
            Files.deleteIfExists(dir.resolve(name));
        }
        for (String name : trees) {
            deleteTree(dir.resolve(name));
        }
        try {
            Files.deleteIfExists(dir);
            return true;
        } catch (DirectoryNotEmptyException e) {
            return false;
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        // Files.walk does not follow links by default: a link is deleted, not its target.
        try (java.util.stream.Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Override
    public String toString() {
        return dir.toString();
    }
}
