package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * The thin client's side of the daemon's lifecycle, with real processes: every daemon command run
 * with no daemon for the state directory (none ever started, one stopped by SIGTERM, one killed by
 * SIGKILL whose control.json is left behind) says so in one line naming the directory and the
 * command that starts one, exit code 1, and with {@code --json} prints the error object instead;
 * after kill -9 the stale control.json's port is never connected to (the token is not sent to
 * whatever listens there now); a token file others can read is not used. The daemon's own refusals
 * (a second daemon on one directory, unsafe state directories) are {@link DaemonIT}'s.
 */
class DaemonLifecycleIT {

    /** Daemon commands of each group, with arguments that pass the client's own checks. */
    private static final List<List<String>> COMMANDS = List.of(List.of("status"), List.of("snapshot", "list"),
            List.of("snapshot", "create", "s1", "origin.img", "s1.cow"), List.of("export", "list"),
            List.of("export", "add", "e", "snapshot:s1", "--socket", "e.sock"), List.of("mirror", "status"),
            List.of("jobs"), List.of("config", "get"), List.of("copy", "--daemon", "origin.img", "copy.img"));

    @TempDir
    Path dir;

    private static String noDaemon(Path state) {
        return "kcopyd: no kcopyd daemon for " + state + "; start one with kcopyd daemon --state " + state + "\n";
    }

    private void assertEveryCommandSaysNoDaemon(Path state) {
        for (List<String> command : COMMANDS) {
            KcopydProcess.Run run = RunningDaemon.client(dir, state, command.toArray(String[]::new));
            assertThat(run.exit()).as("kcopyd %s: %s", command, run.err()).isEqualTo(1);
            assertThat(run.err()).as("kcopyd %s", command).isEqualTo(noDaemon(state));
            assertThat(run.out()).as("kcopyd %s", command).isEmpty();
        }
        KcopydProcess.Run json = RunningDaemon.client(dir, state, "snapshot", "list", "--json");
        assertThat(json.exit()).isEqualTo(1);
        assertThat(json.err()).isEmpty();
        JsonObject error = JsonParser.parseString(json.out()).getAsJsonObject().getAsJsonObject("error");
        assertThat(error.get("code").getAsString()).isEqualTo("no-daemon");
        assertThat(error.get("message").getAsString() + "\n").isEqualTo(noDaemon(state).substring("kcopyd: ".length()));
    }

    @Test
    void withNoDaemonEveryCommandSaysHowToStartOneAndExitsOne() throws Exception {
        Files.write(dir.resolve("origin.img"), new byte[4096]);
        Path never = dir.resolve("never-started");
        assertEveryCommandSaysNoDaemon(never);
        assertThat(never).as("the client makes no state directory").doesNotExist();
        assertThat(dir.resolve("s1.cow")).doesNotExist();
        assertThat(dir.resolve("copy.img")).doesNotExist();

        Path state = dir.resolve("state");
        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "stopped")) {
            assertThat(RunningDaemon.clientJson(dir, state, "status").get("pid").getAsLong()).isEqualTo(daemon.pid());
            assertThat(daemon.sigterm()).as("errors: %s", daemon.errors()).isZero();
        }
        assertEveryCommandSaysNoDaemon(state);
    }

    @Test
    void afterKillMinus9TheStaleControlFilesPortIsNeverConnectedTo() throws Exception {
        Path state = dir.resolve("state");
        URI url;
        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "killed")) {
            url = URI.create(daemon.awaitControl().get("url").getAsString());
            assertThat(url.getHost()).isEqualTo("127.0.0.1");
            daemon.kill9();
        }
        assertThat(state.resolve("control.json")).as("kill -9 leaves control.json behind").exists();
        // Something else takes the dead daemon's port: the client must not send it the token.
        try (ServerSocket decoy = new ServerSocket()) {
            decoy.setReuseAddress(true);
            decoy.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), url.getPort()));
            KcopydProcess.Run run = RunningDaemon.client(dir, state, "status");
            assertThat(run.exit()).isEqualTo(1);
            assertThat(run.err()).isEqualTo(noDaemon(state));
            // The client has exited: a connection it made would be waiting in the backlog now.
            decoy.setSoTimeout(1);
            boolean connected;
            try (var accepted = decoy.accept()) {
                connected = true;
            } catch (SocketTimeoutException nobody) {
                connected = false;
            }
            assertThat(connected).as("the client connected to the stale control.json's port").isFalse();
        }
    }

    @Test
    void aTokenFileOthersCanReadIsNotUsed() throws Exception {
        Path state = dir.resolve("state");
        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "token")) {
            Path token = state.resolve("control.token");
            Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-r--r--"));
            KcopydProcess.Run run = RunningDaemon.client(dir, state, "status");
            assertThat(run.exit()).isEqualTo(1);
            assertThat(run.err()).isEqualTo("kcopyd: " + token + " can be read by others (mode rw-r--r--); the daemon "
                    + "writes it for its owner alone (rw-------), so it is not used: restart the daemon, or chmod 600 it "
                    + "if you made it\n");
            assertThat(run.out()).isEmpty();

            Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
            assertThat(RunningDaemon.clientJson(dir, state, "status").get("stateDirectory").getAsString())
                    .isEqualTo(state.toString());
            assertThat(daemon.sigterm()).isZero();
        }
    }
}
