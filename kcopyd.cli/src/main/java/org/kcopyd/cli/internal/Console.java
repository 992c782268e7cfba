package org.kcopyd.cli.internal;

import java.io.PrintWriter;
import java.time.Duration;

/**
 * Where a command runs: the services, its output streams, and whether the output is a terminal
 * (progress bars only then).
 */
record Console(Services services, PrintWriter out, PrintWriter err, boolean terminal) {

    static final Duration WAIT = Duration.ofSeconds(10);
}
