package org.kcopyd.runtime.client;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * A timing probe for the benchmark, not part of the product's command line:
 * {@code java -cp kcopyd.jar org.kcopyd.runtime.client.ClientTimingProbe [--runs N] COMMAND ARGS...}
 * runs a daemon command N times (default 5) in this JVM through {@link ThinClient#run}, its output
 * discarded, and prints each run's wall time to standard error: the first includes loading the
 * client's and Gson's classes, the later ones only the request. (ProcessHandle's start instant is
 * too coarse to give the JVM's own start-up, so that and the whole process's wall time are measured
 * outside:
 * {@code time java -jar kcopyd.jar status}.) Exit code: the last run's,
 * or 2 when the command is not a daemon command.
 */
public final class ClientTimingProbe {

    private ClientTimingProbe() {
    }

    /**
     * @param args {@code [--runs N] COMMAND ARGS...}
     */
    public static void main(String[] args) {
        int runs = 5;
        String[] command = args;
        if (args.length >= 2 && args[0].equals("--runs")) {
            runs = Integer.parseInt(args[1]);
            if (runs < 1 || runs > 1000) {
                System.err.println("ClientTimingProbe: --runs " + runs + " is outside 1..1000");
                System.exit(2);
            }
            command = Arrays.copyOfRange(args, 2, args.length);
        }
        java.io.PrintStream nowhere = new java.io.PrintStream(java.io.OutputStream.nullOutputStream());
        int code = 0;
        for (int i = 1; i <= runs; i++) {
            long t0 = System.nanoTime();
            var result = ThinClient.run(command, System.getenv(), Path.of("").toAbsolutePath(), nowhere, System.err);
            long t1 = System.nanoTime();
            if (result.isEmpty()) {
                System.err.println("ClientTimingProbe: '" + String.join(" ", command) + "' is not a daemon command");
                System.exit(2);
            }
            code = result.getAsInt();
            System.err.println(String.format(Locale.ROOT, "run %d: %.4f s, exit %d", i, (t1 - t0) / 1e9, code));
        }
        System.exit(code);
    }
}
