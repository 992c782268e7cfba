package org.kcopyd.bench;

import java.io.Closeable;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** An nbdkit process serving one export on a Unix socket, for the NBD scenarios; killed on close. */
final class NbdkitServer implements Closeable {

    private static final long READY_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(20);
    private final Process process;
    private final Path socket;

    private NbdkitServer(Process process, Path socket) {
        this.process = process;
        this.socket = socket;
    }

    /**
     * Starts {@code nbdkit -f --exit-with-parent -U SOCKET PLUGIN ARGS...} and waits until the
     * socket accepts a connection.
     */
    static NbdkitServer start(Path socket, String plugin, String... args) throws IOException, InterruptedException {
        // The benchmark's own file (its scratch directory): an earlier server's socket, if nbdkit left it.
        Files.deleteIfExists(socket);
        List<String> command = new ArrayList<>(List.of("nbdkit", "-f", "--exit-with-parent", "-U", socket.toString(),
                plugin));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        NbdkitServer server = new NbdkitServer(p, socket);
        long deadline = System.nanoTime() + READY_TIMEOUT_NANOS;
        while (true) {
            if (!p.isAlive()) {
                throw new IOException(String.join(" ", command) + " exited " + p.exitValue());
            }
            try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                return server;
            } catch (IOException notYet) {
                if (System.nanoTime() > deadline) {
                    server.close();
                    throw new IOException(String.join(" ", command) + " did not listen within 20 s", notYet);
                }
                p.waitFor(10, TimeUnit.MILLISECONDS);
            }
        }
    }

    /** @return the export's URI, as nbdcopy and qemu take it */
    String uri() {
        return "nbd+unix:///?socket=" + socket;
    }

    Path socket() {
        return socket;
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
