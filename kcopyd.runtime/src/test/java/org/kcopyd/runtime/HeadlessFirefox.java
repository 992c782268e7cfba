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
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * One {@code firefox-esr --headless --marionette} process on a profile of its own, made fresh in a
 * directory the test gives, with {@link MarionetteClient} connected to it. The profile's
 * {@code user.js} sets {@code marionette.port} to 0, so Firefox listens on a free port and writes it
 * to the profile's {@code MarionetteActivePort} file (awaited, never slept for); {@code HOME} and the
 * XDG directories point into the same directory, so nothing is written outside it. {@link #close}
 * ends the browser whatever state it is in (Marionette's quit, then SIGTERM, then SIGKILL, for the
 * process, its content processes and its crash helper) and removes the whole directory. Used by
 * one test thread.
 */
final class HeadlessFirefox implements AutoCloseable {

    /** Preferences keeping a test browser quiet: no first-run pages, updates, telemetry or remote lists. */
    private static final List<String> PREFERENCES = List.of(
            "user_pref(\"marionette.port\", 0);",
            "user_pref(\"browser.shell.checkDefaultBrowser\", false);",
            "user_pref(\"browser.startup.homepage_override.mstone\", \"ignore\");",
            "user_pref(\"browser.startup.page\", 0);",
            "user_pref(\"datareporting.policy.dataSubmissionEnabled\", false);",
            "user_pref(\"toolkit.telemetry.reportingpolicy.firstRun\", false);",
            "user_pref(\"app.update.disabledForTesting\", true);",
            "user_pref(\"app.normandy.enabled\", false);",
            "user_pref(\"extensions.update.enabled\", false);",
            "user_pref(\"browser.safebrowsing.update.enabled\", false);",
            "user_pref(\"network.captive-portal-service.enabled\", false);",
            "user_pref(\"network.connectivity-service.enabled\", false);");

    /** How long the browser and each process it started may take to end at each step of {@link #close}. */
    private static final Duration GRACE = Duration.ofSeconds(30);

    private final Path root;
    private final Process process;
    private final MarionetteClient marionette;

    private HeadlessFirefox(Path root, Process process, MarionetteClient marionette) {
        this.root = root;
        this.process = process;
        this.marionette = marionette;
    }

    /**
     * Starts the browser on a new profile under {@code root} (which must not exist) and connects to
     * its Marionette.
     *
     * @param timeout how long the browser may take to listen, and later to answer each command
     */
    static HeadlessFirefox start(Path executable, Path root, Duration timeout) throws IOException {
        Path profile = root.resolve("profile");
        Path home = root.resolve("home");
        Files.createDirectory(root);
        Files.createDirectories(profile);
        Files.createDirectories(home);
        Files.write(profile.resolve("user.js"), PREFERENCES, StandardCharsets.UTF_8);
        ProcessBuilder builder = new ProcessBuilder(executable.toString(), "--headless", "--marionette",
                "--no-remote", "--profile", profile.toString())
                .directory(root.toFile()).redirectOutput(root.resolve("firefox.out").toFile())
                .redirectError(root.resolve("firefox.err").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Map<String, String> env = builder.environment();
        env.put("HOME", home.toString());
        env.put("XDG_CACHE_HOME", home.resolve(".cache").toString());
        env.put("XDG_CONFIG_HOME", home.resolve(".config").toString());
        env.put("XDG_DATA_HOME", home.resolve(".local/share").toString());
        env.put("MOZ_CRASHREPORTER_DISABLE", "1");
        Process process;
        try {
            process = builder.start();
        } catch (IOException | RuntimeException e) {
            delete(root);
            throw e;
        }
        HeadlessFirefox partial = new HeadlessFirefox(root, process, null);
        try {
            Path portFile = profile.resolve("MarionetteActivePort");
            await().atMost(timeout).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
                assertThat(process.isAlive()).as("firefox runs; its errors: %s", read(root.resolve("firefox.err")))
                        .isTrue();
                assertThat(read(portFile).trim()).as("Marionette's port in %s", portFile).matches("[1-9][0-9]*");
            });
            int port = Integer.parseInt(read(portFile).trim());
            return new HeadlessFirefox(root, process, MarionetteClient.connect(port, timeout));
        } catch (IOException | RuntimeException | Error e) {
            partial.close();
            throw e;
        }
    }

    /** @return the client connected to this browser's Marionette */
    MarionetteClient marionette() {
        return marionette;
    }

    /** @return the directory holding the profile, {@code HOME} and the browser's output (gone after close) */
    Path root() {
        return root;
    }

    /**
     * Ends the browser and everything it started, then removes its directory. Marionette's quit is
     * asked first; a browser that does not end within 30 seconds gets SIGTERM, then SIGKILL.
     */
    @Override
    public void close() {
        List<ProcessHandle> started = new ArrayList<>();
        process.descendants().forEach(started::add);
        crashHelper().ifPresent(started::add);
        try {
            boolean quitting = false;
            if (marionette != null) {
                try (marionette) {
                    marionette.quit();
                    quitting = true;
                } catch (IOException | RuntimeException unresponsive) {
                    // Gone or hung: the signals below end it.
                }
            }
            end(process.toHandle(), quitting ? GRACE : Duration.ZERO);
            for (ProcessHandle p : started) {
                end(p, GRACE);
            }
        } finally {
            delete(root);
        }
    }

    /** Firefox's crash helper, which it starts detached (parent 1) and which names Firefox's pid. */
    private Optional<ProcessHandle> crashHelper() {
        String pid = Long.toString(process.pid());
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            return all.filter(p -> p.info().command().map(c -> c.endsWith("/crashhelper")).orElse(false))
                    .filter(p -> p.info().arguments().map(a -> a.length > 0 && a[0].equals(pid)).orElse(false))
                    .findFirst();
        }
    }

    /** Waits {@code grace} for the process to end by itself, then sends SIGTERM, then SIGKILL. */
    private static void end(ProcessHandle p, Duration grace) {
        if (ended(p, grace)) {
            return;
        }
        p.destroy();
        if (!ended(p, GRACE)) {
            p.destroyForcibly();
            ended(p, GRACE);
        }
    }

    private static boolean ended(ProcessHandle p, Duration wait) {
        if (!p.isAlive()) {
            return true;
        }
        try {
            p.onExit().get(wait.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException | ExecutionException e) {
            return !p.isAlive();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !p.isAlive();
        }
    }

    /** Removes a directory tree, not following links (the profile's lock is one). */
    private static void delete(Path root) {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> tree = Files.walk(root)) {
            for (Path p : tree.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("removing Firefox's directory " + root, e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }
}
