package org.kcopyd.cli.internal;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The demo's own new directory inside the one the user named ({@code kcopyd-demo-*}, private to
 * the user): every file the demo makes is named through {@link #file}, and {@link #remove}
 * deletes exactly those files and then the directory. Nothing else is ever deleted: a directory
 * that holds anything more at the end is left where it is, and the caller says so. Thread-safe:
 * a shutdown hook may remove it while the demo still names files.
 */
final class DemoDirectory {

    private final Path dir;
    private final Set<String> names = new LinkedHashSet<>();
    private boolean removed;

    private DemoDirectory(Path dir) {
        this.dir = dir;
    }

    /**
     * @param parent an existing directory
     * @return a new, empty directory {@code kcopyd-demo-*} inside it
     * @throws IOException if it cannot be created
     */
    static DemoDirectory createIn(Path parent) throws IOException {
        return new DemoDirectory(Files.createTempDirectory(parent, "kcopyd-demo-"));
    }

    Path path() {
        return dir;
    }

    /** @return the path of a file the demo will make here (deleted by {@link #remove}) */
    synchronized Path file(String name) {
        if (name.contains("/") || name.startsWith(".")) {
            throw new IllegalArgumentException("not a plain file name: " + name);
        }
        if (removed) {
            throw new IllegalStateException(dir + " has been removed (the demo is ending)");
        }
        names.add(name);
        return dir.resolve(name);
    }

    /** @return the names of the files the demo has made here so far */
    synchronized List<String> made() {
        List<String> made = new ArrayList<>();
        for (String name : names) {
            if (Files.exists(dir.resolve(name))) {
                made.add(name);
            }
        }
        return made;
    }

    /** @return the names of what is here that the demo did not make */
    synchronized List<String> others() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> !names.contains(n)).sorted().toList();
        }
    }

    /**
     * Deletes the files made here, then the directory.
     *
     * @return true if the directory is gone; false if it held something else and was left
     * @throws IOException if a file cannot be deleted
     */
    synchronized boolean remove() throws IOException {
        removed = true;
        for (String name : names) {
            Files.deleteIfExists(dir.resolve(name));
        }
        try {
            Files.deleteIfExists(dir);
            return true;
        } catch (DirectoryNotEmptyException e) {
            return false;
        }
    }

    @Override
    public String toString() {
        return dir.toString();
    }
}
