package org.kcopyd.nbd;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A peer program (nbdkit, qemu-nbd, nbdcopy, ...) run by a test: its output goes to a log file
 * whose tail failures show; {@link #close()} kills it.
 */
final class PeerProcess implements AutoCloseable {

    private final Process process;
    private final Path log;
    private final String command;

    private PeerProcess(Process process, Path log, String command) {
        this.process = process;
        this.log = log;
        this.command = command;
    }

    /** Starts a program; its standard output and error go to {@code dir/NAME.log}. */
    static PeerProcess start(Path dir, String... command) throws IOException {
        Path log = Files.createTempFile(dir, command[0], ".log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(log.toFile()).start();
        return new PeerProcess(process, log, String.join(" ", command));
    }

    /** Starts a server and waits (up to 10 s) until its Unix socket accepts connections. */
    static PeerProcess server(Path dir, Path socket, String... command) throws IOException {
        PeerProcess peer = start(dir, command);
        try {
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> {
                if (!peer.process.isAlive()) {
                    throw new IllegalStateException(peer.command + " exited with " + peer.process.exitValue() + ": "
                        + peer.output());
                }
                return accepts(socket);
            });
        } catch (RuntimeException e) {
            peer.close();
            throw e;
        }
        return peer;
    }

    private static boolean accepts(Path socket) {
        if (!Files.exists(socket)) {
            return false;
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs a program to its end (at most {@code timeout}) and returns its exit code. */
    static Result run(Path dir, Duration timeout, String... command) throws IOException, InterruptedException {
        try (PeerProcess peer = start(dir, command)) {
            if (!peer.process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError(peer.command + " did not finish within " + timeout + ": " + peer.output());
            }
            return new Result(peer.process.exitValue(), peer.output());
        }
    }

    /** A finished program's exit code and output. */
    record Result(int exitCode, String output) {
    }

    /** @return everything the program printed so far */
    String output() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    /** Kills the program at once, as a crash would. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        List<ProcessHandle> children = new ArrayList<>(process.descendants().toList());
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        children.forEach(ProcessHandle::destroyForcibly);
    }
}
