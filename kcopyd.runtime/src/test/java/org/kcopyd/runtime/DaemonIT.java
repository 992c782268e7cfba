package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kcopyd daemon} as a service manager runs it: a real process on a temporary state directory.
 * The daemon is up when control.json names its pid (written once the control API is served), after the
 * lock, the token and the org.kcopyd.control configuration (stored by Config Admin through kcopyd.daemon's
 * persistence manager).
 */
class DaemonIT {

    @TempDir
    Path dir;

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void stopAll() throws InterruptedException {
        for (Process p : started) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private Process start(Path state, String... more) throws IOException {
        List<String> args = new ArrayList<>(List.of("daemon", "--state", state.toString()));
        args.addAll(List.of(more));
        Process p = new ProcessBuilder(KcopydProcess.command(List.of(), args)).directory(dir.toFile())
                .redirectOutput(dir.resolve("out-" + started.size()).toFile())
                .redirectError(dir.resolve("err-" + started.size()).toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        started.add(p);
        return p;
    }

    /**
     * Waits until the daemon holds the directory, has written a token other than {@code previousToken}
     * (null: any) and Config Admin has stored through the persistence manager.
     */
    private static void awaitUp(Process daemon, Path state, String previousToken) {
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            assertThat(daemon.isAlive()).as("the daemon runs").isTrue();
            Path token = state.resolve("control.token");
            Path address = state.resolve("control.json");
            return Files.exists(state.resolve("config/org.kcopyd.control.config"))
                    && Files.readString(state.resolve("lock")).equals(daemon.pid() + "\n")
                    && Files.exists(token) && !Files.readString(token).equals(previousToken)
                    && Files.exists(address) && Files.readString(address).contains("\"pid\": " + daemon.pid() + ",");
        });
    }

    /** The control API's base URL from control.json. */
    private static String url(Path state) throws IOException {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"url\": \"(http://127\\.0\\.0\\.1:\\d+/)\"")
                .matcher(Files.readString(state.resolve("control.json")));
        assertThat(m.find()).as("control.json names a loopback URL").isTrue();
        return m.group(1);
    }

    private static int status(String url, String token) throws IOException {
        java.net.HttpURLConnection c = (java.net.HttpURLConnection) java.net.URI.create(url + "api/v1/status").toURL()
                .openConnection();
        if (token != null) {
            c.setRequestProperty("Authorization", "Bearer " + token);
        }
        try {
            return c.getResponseCode();
        } finally {
            c.disconnect();
        }
    }

    private static String mode(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS));
    }

    private static boolean clientSeesADaemon(Path state) throws IOException {
        try (FileChannel channel = FileChannel.open(state.resolve("lock"), StandardOpenOption.READ)) {
            FileLock shared = channel.tryLock(0, Long.MAX_VALUE, true);
            if (shared == null) {
                return true;
            }
            shared.release();
            return false;
        }
    }

    @Test
    void theDaemonHoldsItsOwnerOnlyStateDirectoryUntilSigtermThenExitsZero() throws Exception {
        Path state = dir.resolve("state");
        Process daemon = start(state);
        awaitUp(daemon, state, null);

        assertThat(mode(state)).isEqualTo("rwx------");
        assertThat(mode(state.resolve("config"))).isEqualTo("rwx------");
        assertThat(mode(state.resolve("logs"))).isEqualTo("rwx------");
        assertThat(mode(state.resolve("lock"))).isEqualTo("rw-------");
        assertThat(mode(state.resolve("control.token"))).isEqualTo("rw-------");
        assertThat(Files.readString(state.resolve("control.token"))).matches("[0-9a-f]{64}\n");
        assertThat(mode(state.resolve("config/org.kcopyd.control.config"))).isEqualTo("rw-------");
        assertThat(Files.readString(state.resolve("config/org.kcopyd.control.config")))
                .contains("tokenFile=\"" + state.resolve("control.token") + "\"");
        assertThat(clientSeesADaemon(state)).as("a client's shared tryLock fails while the daemon runs").isTrue();
        assertThat(mode(state.resolve("control.json"))).isEqualTo("rw-------");
        // Printed right after control.json is written (CI, loaded, read the output between the two).
        String announced = "kcopyd daemon: state " + state + ", control " + url(state) + ", pid " + daemon.pid();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(Files.readString(dir.resolve("out-0")))
                .contains(announced));
        String token = Files.readString(state.resolve("control.token")).trim();
        assertThat(status(url(state), token)).as("GET /api/v1/status with the token").isEqualTo(200);
        assertThat(status(url(state), null)).as("without a token").isEqualTo(401);
        assertThat(status(url(state), "0".repeat(64))).as("with another token").isEqualTo(401);
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(state.resolve("logs/kcopyd.log")));
        assertThat(mode(state.resolve("logs/kcopyd.log"))).isEqualTo("rw-------");

        KcopydProcess.Run second = KcopydProcess.run(dir, "daemon", "--state", state.toString());
        assertThat(second.exit()).isEqualTo(1);
        assertThat(second.err()).contains(state.toString()).contains("in use by another kcopyd daemon")
                .contains("pid " + daemon.pid());

        daemon.destroy(); // SIGTERM
        assertThat(daemon.waitFor(60, TimeUnit.SECONDS)).as("the daemon stops at SIGTERM").isTrue();
        assertThat(daemon.exitValue()).as("SIGTERM is a normal stop").isZero();
        assertThat(state.resolve("control.json")).doesNotExist();
        assertThat(clientSeesADaemon(state)).isFalse();
    }

    @Test
    void afterKillMinus9TheNextDaemonStartsWithTheStoredConfigurationAndANewToken() throws Exception {
        Path state = dir.resolve("state");
        Process first = start(state);
        awaitUp(first, state, null);
        String oldToken = Files.readString(state.resolve("control.token"));
        Files.writeString(state.resolve("control.json"),
                "{\"url\": \"http://127.0.0.1:1/\", \"pid\": 1, \"version\": \"0\"}");
        first.destroyForcibly(); // SIGKILL
        assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(clientSeesADaemon(state)).as("the kernel released the lock").isFalse();

        Process second = start(state);
        awaitUp(second, state, oldToken);
        assertThat(Files.readString(state.resolve("control.token"))).matches("[0-9a-f]{64}\n").isNotEqualTo(oldToken);
        assertThat(url(state)).as("the stale control.json was replaced").isNotEqualTo("http://127.0.0.1:1/");
        String token = Files.readString(state.resolve("control.token")).trim();
        assertThat(status(url(state), token)).isEqualTo(200);
        second.destroy();
        assertThat(second.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(second.exitValue()).isZero();
        assertThat(state.resolve("control.json")).doesNotExist();
    }

    @Test
    void unsafeStateDirectoriesAndOptionsAreRefusedBeforeAnythingStarts() throws Exception {
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxr-x"));
        KcopydProcess.Run run = KcopydProcess.run(dir, "daemon", "--state", shared.toString());
        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.err()).contains(shared.toString()).contains("writable by its group");
        assertThat(shared.resolve("lock")).doesNotExist();

        Path link = Files.createSymbolicLink(dir.resolve("link"), Files.createDirectory(dir.resolve("real")));
        run = KcopydProcess.run(dir, "daemon", "--state", link.toString());
        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.err()).contains(link.toString()).contains("symbolic link");

        run = KcopydProcess.run(dir, "daemon", "--state", dir.resolve("s").toString(), "--listen", "0.0.0.0:8080");
        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).contains("0.0.0.0:8080").contains("not a loopback address");

        run = KcopydProcess.run(dir, "--config-dir", dir.toString(), "daemon");
        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err()).contains("--config-dir cannot be used with daemon");
        assertThat(dir.resolve("s")).doesNotExist();
    }

    @Test
    void aConfigurationFileThatCannotBeReadStopsTheDaemonNamingIt() throws Exception {
        Path state = dir.resolve("state");
        Files.createDirectories(state.resolve("config"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwx------"));
        Path corrupt = state.resolve("config/org.kcopyd.engine.config");
        Files.writeString(corrupt, "service.pid=\"org.kcopyd.engine\"\ndefaultPages=I\"x\n", StandardCharsets.UTF_8);
        KcopydProcess.Run run = KcopydProcess.run(dir, "daemon", "--state", state.toString());
        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.err()).contains(corrupt.toString());
        assertThat(corrupt).exists();
    }
}
