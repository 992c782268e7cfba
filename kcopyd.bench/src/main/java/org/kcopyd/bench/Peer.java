package org.kcopyd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A peer program (dd, dcfldd, nbdcopy, cmp): found on the PATH, run, timed. */
final class Peer {

    private Peer() {
    }

    static boolean installed(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs a command to completion.
     *
     * @return elapsed seconds
     * @throws IOException if it cannot start or exits non-zero
     */
    static double run(List<String> command) throws IOException, InterruptedException {
        return run(command, null);
    }

    /**
     * Runs a command to completion in the given environment.
     *
     * @param environment the whole environment of the command, or null for the benchmark's own
     * @return elapsed seconds, from before the process is started until it has exited
     * @throws IOException if it cannot start or exits non-zero
     */
    static double run(List<String> command, java.util.Map<String, String> environment)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        if (environment != null) {
            pb.environment().clear();
            pb.environment().putAll(environment);
        }
        long start = System.nanoTime();
        Process p = pb.start();
        byte[] output = p.getInputStream().readAllBytes();
        int exit = p.waitFor();
        double seconds = (System.nanoTime() - start) / 1e9;
        if (exit != 0) {
            throw new IOException(String.join(" ", command) + " exited " + exit + ": " + new String(output).trim());
        }
        return seconds;
    }

    /** @return true if the two files are byte-identical (cmp) */
    static boolean same(Path a, Path b) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("cmp", "-s", a.toString(), b.toString()).start();
        return p.waitFor() == 0;
    }
}
