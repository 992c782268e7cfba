package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Everything the runtime writes while it runs (the framework's storage, the launcher's copies of
 * its jars, FileInstall's work files) is in one private directory in {@code java.io.tmpdir},
 * removed at exit; what a {@code kill -9} leaves is removed by the next start.
 */
class TemporaryFilesIT {

    @TempDir
    Path dir;

    @TempDir
    Path tmp;

    private List<String> tmpOption() {
        return List.of("-Djava.io.tmpdir=" + tmp);
    }

    private List<Path> inTmp() throws IOException {
        try (Stream<Path> entries = Files.list(tmp)) {
            return entries.toList();
        }
    }

    @Test
    void aNormalRunLeavesNothingInTheTemporaryDirectory() throws Exception {
        byte[] data = new byte[1 << 20];
        new Random(1).nextBytes(data);
        Files.write(dir.resolve("src.img"), data);
        Files.createDirectories(dir.resolve("etc"));
        Files.writeString(dir.resolve("etc/org.kcopyd.engine.cfg"), "defaultPages = 512\n");

        KcopydProcess.Run copy = KcopydProcess.run(dir, "", tmpOption(), "copy", "src.img", "dst.img");
        KcopydProcess.Run configured = KcopydProcess.run(dir, "", tmpOption(), "--config-dir", "etc", "config");
        KcopydProcess.Run shell = KcopydProcess.run(dir, "kcopyd:config\n", tmpOption(), "--config-dir", "etc");
        KcopydProcess.Run failed = KcopydProcess.run(dir, "", tmpOption(), "copy", "nothing.img", "x.img");

        assertThat(copy.exit()).as(copy.err()).isZero();
        assertThat(configured.exit()).as(configured.err()).isZero();
        assertThat(shell.out()).contains("defaultPages = 512");
        assertThat(failed.exit()).isEqualTo(1);
        assertThat(inTmp()).isEmpty();
    }

    /**
     * A temporary file system too small for the runtime's bundles (the launcher unpacks them into the run's
     * directory) ended the command with the launcher's stack trace: it says why in one line, exit 1, and leaves
     * nothing behind; nothing is written to the destination.
     */
    @Test
    void aFullTemporaryDirectoryIsSaidInOneLine() throws Exception {
        Path small = Files.createDirectory(dir.resolve("small"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small.toString())
                .redirectErrorStream(true).start();
        String said = new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (mount.waitFor() != 0) {
            org.kcopyd.testdevices.Peers.missing("mounting a small tmpfs (mount -t tmpfs, as root) failed: " + said);
        }
        try {
            Files.write(dir.resolve("src.img"), new byte[1 << 20]);
            KcopydProcess.Run copy = KcopydProcess.run(dir, "", List.of("-Djava.io.tmpdir=" + small), "copy", "src.img",
                    "dst.img");

            assertThat(copy.exit()).as(copy.err()).isEqualTo(1);
            assertThat(copy.err()).startsWith("kcopyd: cannot start the runtime in " + small + "/kcopyd-")
                    .contains("No space left on device (set another temporary directory with -Djava.io.tmpdir=DIR)")
                    .doesNotContain("\tat ");
            assertThat(dir.resolve("dst.img")).doesNotExist();
            try (Stream<Path> left = Files.list(small)) {
                assertThat(left).as("the run's directory removed").isEmpty();
            }
        } finally {
            new ProcessBuilder("umount", small.toString()).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void theNextStartRemovesWhatAKilledRunLeft() throws Exception {
        Files.createDirectories(dir.resolve("etc"));
        Files.writeString(dir.resolve("etc/org.kcopyd.engine.cfg"), "defaultPages = 512\n");
        Process p = new ProcessBuilder(KcopydProcess.command(tmpOption(), List.of("--config-dir", "etc")))
                .directory(dir.toFile()).redirectErrorStream(true).start();
        Path leftover;
        try (var shell = new java.io.PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8);
                var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8))) {
            shell.println("kcopyd:config");
            String line;
            do {
                line = out.readLine();
            } while (line != null && !line.contains("defaultPages = "));
            assertThat(line).as("the shell runs").contains("defaultPages = 512");
            List<Path> running = inTmp();
            assertThat(running).singleElement().satisfies(d -> assertThat(d.getFileName().toString())
                    .matches("kcopyd-" + p.pid() + "-\\d+"));
            leftover = running.get(0);
            assertThat(Files.getPosixFilePermissions(leftover)).isEqualTo(PosixFilePermissions.fromString("rwx------"));
            try (Stream<Path> inside = Files.list(leftover)) {
                assertThat(inside.map(f -> f.getFileName().toString()))
                        .as("the framework's storage, the launcher's jars and FileInstall's files are all in it")
                        .anyMatch(n -> n.startsWith("osgi.")).anyMatch(n -> n.startsWith("resource"))
                        .anyMatch(n -> n.startsWith("fileinstall-"));
            }

            p.destroyForcibly();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(leftover).as("kill -9 leaves it").isDirectory();
        // Not ours: a name that does not match, and a match whose process (this JVM) is alive.
        Path foreign = Files.createDirectories(tmp.resolve("kcopyd-notes"));
        Path alive = Files.createDirectories(tmp.resolve("kcopyd-" + ProcessHandle.current().pid() + "-1"));
        Path link = Files.createSymbolicLink(tmp.resolve("kcopyd-999999999-1"), dir);

        KcopydProcess.Run next = KcopydProcess.run(dir, "", tmpOption(), "config");

        assertThat(next.exit()).as(next.err()).isZero();
        assertThat(leftover).doesNotExist();
        assertThat(foreign).isDirectory();
        assertThat(alive).isDirectory();
        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(dir.resolve("etc/org.kcopyd.engine.cfg")).as("a link is never followed").exists();
        assertThat(inTmp()).containsExactlyInAnyOrder(foreign, alive, link);
        assertThat(Files.exists(link, LinkOption.NOFOLLOW_LINKS)).isTrue();
    }
}
