package org.kcopyd.testdevices;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Tests that run a real program (a peer such as {@code nbdkit} or {@code qemu-img}) call
 * {@link #require} first. A missing program skips the test (JUnit reports it aborted) with a
 * message naming the Debian package to install; when the system property
 * {@value #REQUIRED_PROPERTY} is {@code true} (CI, where the packages are installed), the test
 * fails with the same message instead, so that a broken installation cannot pass as skipped.
 * {@link #missing} does the same for what is not a program (root, loop devices).
 */
public final class Peers {

    /** System property: {@code true} makes a missing peer a failure instead of a skip. */
    public static final String REQUIRED_PROPERTY = "kcopyd.peers.required";

    /** Searched after {@code PATH}. */
    private static final List<String> SYSTEM_DIRECTORIES = List.of("/usr/sbin", "/sbin");

    private Peers() {
    }

    /**
     * Makes sure a program is installed.
     *
     * @param executable    the program's name, looked up on {@code PATH}
     * @param debianPackage the Debian package that installs it
     * @return the program's path
     */
    public static Path require(String executable, String debianPackage) {
        return require(executable, debianPackage, Boolean.getBoolean(REQUIRED_PROPERTY));
    }

    /**
     * As {@link #require(String, String)}, with the choice between skipping and failing given.
     *
     * @param required true to fail the test when the program is missing, false to skip it
     * @return the program's path
     */
    public static Path require(String executable, String debianPackage, boolean required) {
        Path found = find(executable);
        if (found == null) {
            missing(executable + " not installed (Debian package " + debianPackage + ")", required);
        }
        return found;
    }

    /**
     * Ends the test because something it needs other than a program is missing (root, loop
     * devices, a file system the kernel mounts): skipped, or failed when {@value #REQUIRED_PROPERTY}
     * is {@code true}, as {@link #require(String, String)} does for a program.
     *
     * @param message what is missing and how to get it, for instance "needs root and loop devices"
     */
    public static void missing(String message) {
        missing(message, Boolean.getBoolean(REQUIRED_PROPERTY));
    }

    /**
     * As {@link #missing(String)}, with the choice between skipping and failing given.
     *
     * @param required true to fail the test, false to skip it
     */
    public static void missing(String message, boolean required) {
        if (required) {
            Assertions.fail(message + " and " + REQUIRED_PROPERTY + "=true");
        }
        Assumptions.abort(message);
    }

    /**
     * @return the executable's path on {@code PATH}, else in {@code /usr/sbin} or {@code /sbin}
     *         (system programs such as {@code mkfs.xfs}, not on every user's {@code PATH}), or null
     */
    public static Path find(String executable) {
        String path = System.getenv("PATH");
        List<String> directories = new ArrayList<>();
        if (path != null) {
            directories.addAll(Arrays.asList(path.split(File.pathSeparator)));
        }
        directories.addAll(SYSTEM_DIRECTORIES);
        for (String directory : directories) {
            if (directory.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(directory, executable);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }
}
