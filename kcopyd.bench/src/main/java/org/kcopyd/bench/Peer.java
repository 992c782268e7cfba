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
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
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
