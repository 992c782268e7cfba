package org.kcopyd.testdevices;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Tests that run a real program (a peer such as {@code nbdkit} or {@code qemu-img}) call
 * {@link #require} first. A missing program skips the test (JUnit reports it aborted) with a
 * message naming the Debian package to install; when the system property
 * {@value #REQUIRED_PROPERTY} is {@code true} (CI, where the packages are installed), the test
 * fails with the same message instead, so that a broken installation cannot pass as skipped.
 */
public final class Peers {

    /** System property: {@code true} makes a missing peer a failure instead of a skip. */
    public static final String REQUIRED_PROPERTY = "kcopyd.peers.required";

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
            String message = executable + " not installed (Debian package " + debianPackage + ")";
            if (required) {
                Assertions.fail(message + " and " + REQUIRED_PROPERTY + "=true");
            }
            Assumptions.abort(message);
        }
        return found;
    }

    /** @return the executable's path on {@code PATH}, or null */
    public static Path find(String executable) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String directory : path.split(File.pathSeparator)) {
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
