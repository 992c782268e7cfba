package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * One {@code java -jar kcopyd.jar daemon --state DIR} process, started as a service manager would
 * (standard input from /dev/null, output and errors to files in the test's directory so that a
 * failure can show them), and the thin client run against its state directory as a separate
 * process, as a user runs it. The daemon is known to be up when its {@code control.json} names its
 * own pid (awaited, never slept for); it is stopped by SIGTERM or SIGKILL. Used by one test thread.
 */
final class RunningDaemon implements AutoCloseable {

    /** How long a daemon may take to start or stop, or an export to come back. */
    static final Duration WAIT = Duration.ofSeconds(90);

    private final Path state;
    private final Process process;
    private final Path out;
    private final Path err;

    private RunningDaemon(Path state, Process process, Path out, Path err) {
        this.state = state;
        this.process = process;
        this.out = out;
        this.err = err;
    }

    /**
     * Starts a daemon on {@code state} with {@code dir} as its working directory and waits until its
     * {@code control.json} names it.
     *
     * @param label names the files its output and errors go to ({@code daemon-LABEL.out/.err})
     */
    static RunningDaemon start(Path dir, Path state, String label) throws IOException {
        Path out = dir.resolve("daemon-" + label + ".out");
        Path err = dir.resolve("daemon-" + label + ".err");
        Process p = new ProcessBuilder(KcopydProcess.command(List.of(), List.of("daemon", "--state", state.toString())))
                .directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        RunningDaemon daemon = new RunningDaemon(state, p, out, err);
        try {
            daemon.awaitControl();
        } catch (RuntimeException | AssertionError e) {
            daemon.close();
            throw e;
        }
        return daemon;
    }

    /** Waits until {@code STATE/control.json} exists and names this process's pid; returns it parsed. */
    JsonObject awaitControl() {
        Path control = state.resolve("control.json");
        JsonObject[] seen = new JsonObject[1];
        await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            assertThat(process.isAlive()).as("the daemon runs; its errors: %s", errors()).isTrue();
            assertThat(control).exists();
            seen[0] = parsed(control);
            assertThat(seen[0] != null && seen[0].has("pid") ? seen[0].get("pid").getAsLong() : -1)
                    .isEqualTo(process.pid());
        });
        // The content that named this process: the file is read once, not again after the wait.
        return seen[0];
    }

    private static JsonObject parsed(Path control) {
        try {
            return JsonParser.parseString(read(control)).getAsJsonObject();
        } catch (RuntimeException halfWrittenOrGone) {
            return null;
        }
    }

    long pid() {
        return process.pid();
    }

    Path state() {
        return state;
    }

    /** @return what the daemon printed on standard error so far */
    String errors() {
        return read(err);
    }

    /** @return what the daemon printed on standard output so far */
    String output() {
        return read(out);
    }

    /** Sends SIGTERM and waits for the end; returns the exit code. */
    int sigterm() throws InterruptedException {
        process.destroy();
        assertThat(process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the daemon stops at SIGTERM").isTrue();
        return process.exitValue();
    }

    /** Sends SIGKILL and waits until the process is gone. */
    void kill9() throws InterruptedException {
        process.destroyForcibly();
        assertThat(process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the daemon dies at SIGKILL").isTrue();
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Runs the thin client as a user does: {@code java -jar kcopyd.jar ARGS... --state STATE} in
     * {@code dir}, to its end.
     */
    static KcopydProcess.Run client(Path dir, Path state, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--state");
        all.add(state.toString());
        return KcopydProcess.run(dir, all.toArray(String[]::new));
    }

    /** As {@link #client}, asserting exit code 0 (with the client's errors as the failure's message). */
    static KcopydProcess.Run clientOk(Path dir, Path state, String... args) {
        KcopydProcess.Run run = client(dir, state, args);
        assertThat(run.exit()).as("kcopyd %s: exit code; out: %s err: %s", String.join(" ", args), run.out(), run.err())
                .isZero();
        return run;
    }

    /** As {@link #clientOk} with {@code --json}: the one line of JSON it printed, parsed. */
    static JsonObject clientJson(Path dir, Path state, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--json");
        KcopydProcess.Run run = clientOk(dir, state, all.toArray(String[]::new));
        assertThat(run.out().lines().count()).as("one line of JSON: %s", run.out()).isEqualTo(1);
        return JsonParser.parseString(run.out()).getAsJsonObject();
    }

    /** Runs a peer program (qemu-io, nbdcopy) in {@code dir} to its end, asserting exit 0; returns its output. */
    static String peer(Path dir, String... command) {
        try {
            Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] output = p.getInputStream().readAllBytes();
            assertThat(p.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as(String.join(" ", command) + " ends").isTrue();
            String text = new String(output, StandardCharsets.UTF_8);
            assertThat(p.exitValue()).as(String.join(" ", command) + ": " + text).isZero();
            return text;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
