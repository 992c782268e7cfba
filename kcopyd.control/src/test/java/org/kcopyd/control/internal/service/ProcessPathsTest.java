package org.kcopyd.control.internal.service;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.control.ControlException;

/**
 * H48-2: the daemon looked {@code /proc/self/fd/4} up in its own process (a copy "to the user's fd 4"
 * zeroed the daemon's jar). A path that leads through {@code /proc}, by its name or by a symbolic
 * link on the way, is refused; every other path, links included, is not.
 */
class ProcessPathsTest {

    @TempDir
    Path dir;

    @Test
    void aPathInProcIsRefusedNamingIt() {
        assertThatThrownBy(() -> ProcessPaths.refuseProcessView("destination", Path.of("/proc/self/fd/4")))
                .isInstanceOf(ControlException.class).hasMessage("destination /proc/self/fd/4 names a file through "
                        + "/proc: the daemon looks paths up in its own process, not in yours, and a configuration "
                        + "keeps them for later starts; give the file's own path");
        assertThatThrownBy(() -> ProcessPaths.refuseProcessView("origin", Path.of("/proc/self/cwd/a.img")))
                .hasMessageStartingWith("origin /proc/self/cwd/a.img names a file through /proc:");
    }

    @Test
    void aLinkIntoProcIsRefusedNamingTheLink() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("fd4"), Path.of("/proc/self/fd/4"));
        assertThatThrownBy(() -> ProcessPaths.refuseProcessView("destination", link)).hasMessage("destination "
                + link + " names a file through /proc (" + link + " is a symbolic link to /proc/self/fd/4): the "
                + "daemon looks paths up in its own process, not in yours, and a configuration keeps them for later "
                + "starts; give the file's own path");
        // /dev/fd is a link to /proc/self/fd, /dev/stdin to /proc/self/fd/0.
        assertThatThrownBy(() -> ProcessPaths.refuseProcessView("source", Path.of("/dev/fd/4")))
                .hasMessageContaining("names a file through /proc (/dev/fd is a symbolic link to /proc/self/fd)");
        Path relative = Files.createSymbolicLink(dir.resolve("up"), Path.of("../../../../../../../../proc"));
        assertThatThrownBy(() -> ProcessPaths.refuseProcessView("leg 1", relative.resolve("self/fd/4")))
                .hasMessageStartingWith("leg 1 " + relative.resolve("self/fd/4") + " names a file through /proc");
    }

    /** H49-6: a proc file system mounted elsewhere names the daemon's files as /proc does. */
    @Test
    void aProcFileSystemMountedElsewhereIsRefused() throws Exception {
        Path mount = Files.createDirectory(dir.resolve("mproc"));
        Process p = new ProcessBuilder("mount", "-t", "proc", "proc", mount.toString()).redirectErrorStream(true)
                .start();
        String said = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
        if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
            org.kcopyd.testdevices.Peers.missing("mounting a proc file system (mount -t proc, as root) failed: " + said);
        }
        try {
            Path viaMount = mount.resolve(ProcessHandle.current().pid() + "/cwd/x.img");
            assertThatThrownBy(() -> ProcessPaths.refuseProcessView("destination", viaMount)).hasMessageStartingWith(
                    "destination " + viaMount + " names a file through /proc (" + mount + " is a proc file system): ");
        } finally {
            new ProcessBuilder("umount", mount.toString()).inheritIO().start().waitFor(30,
                    java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void filesAndLinksOutsideProcAreAcceptedAndALinkLoopEnds() throws Exception {
        Path file = Files.write(dir.resolve("a.img"), new byte[512]);
        Path sub = Files.createDirectory(dir.resolve("sub"));
        Path link = Files.createSymbolicLink(sub.resolve("a-link"), Path.of("../a.img"));
        Path a = Files.createSymbolicLink(dir.resolve("loop-a"), dir.resolve("loop-b"));
        Files.createSymbolicLink(dir.resolve("loop-b"), a);
        assertThatCode(() -> {
            ProcessPaths.refuseProcessView("source", file);
            ProcessPaths.refuseProcessView("source", link);
            ProcessPaths.refuseProcessView("destination", dir.resolve("new.img"));
            ProcessPaths.refuseProcessView("destination", a);
            ProcessPaths.refuseProcessView("destination", Path.of("/procedures/a.img"));
        }).doesNotThrowAnyException();
    }
}
