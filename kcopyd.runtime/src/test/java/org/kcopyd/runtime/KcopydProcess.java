package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs the runtime jar as a user does, in a working directory, with JVM options and arguments. */
final class KcopydProcess {

    /** What a run gave. */
    record Run(int exit, String out, String err) {
    }

    /**
     * Options every runtime these tests start gets, ahead of the test's own: start-up is most of a
     * test's run (a one-shot command starts Felix and its bundles; the code it runs is short-lived),
     * and the client compiler alone with the serial collector start it in about two thirds of the
     * time on two cores. They change how fast the JVM compiles and collects, not what kcopyd does;
     * the benchmark and the README's command run without them.
     */
    static final List<String> STARTUP_OPTIONS = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

    private KcopydProcess() {
    }

    /** The command line: {@code java STARTUP_OPTIONS JVM_OPTIONS -jar kcopyd.jar ARGS}. */
    static List<String> command(List<String> jvmOptions, List<String> args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(STARTUP_OPTIONS);
        command.addAll(jvmOptions);
        command.add("-jar");
        command.add(Path.of(System.getProperty("kcopyd.jar")).toAbsolutePath().toString());
        command.addAll(args);
        return command;
    }

    /** Runs to the end with {@code stdin} as standard input. */
    static Run run(Path dir, String stdin, List<String> jvmOptions, String... args) {
        try {
            Process p = new ProcessBuilder(command(jvmOptions, List.of(args))).directory(dir.toFile()).start();
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> {
                try {
                    return p.getErrorStream().readAllBytes();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            byte[] out = p.getInputStream().readAllBytes();
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the runtime exits").isTrue();
            return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                    new String(err.get(60, TimeUnit.SECONDS), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static Run run(Path dir, String... args) {
        return run(dir, "", List.of(), args);
    }
}
