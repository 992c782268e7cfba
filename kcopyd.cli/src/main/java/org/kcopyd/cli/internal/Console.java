package org.kcopyd.cli.internal;

import java.io.PrintWriter;
import java.time.Duration;

/**
 * Where a command runs: the services, its output streams, whether the output is a terminal
 * (progress bars only then), and whether the runtime ends with the command.
 *
 * @param oneShot the runtime jar's command line ({@link MainProgram}): the framework stops when the
 *                command ends, and with it whatever the command started (a mirror's resync); false
 *                in the shell, where snapshots and mirrors live on after the command
 */
record Console(Services services, PrintWriter out, PrintWriter err, boolean terminal, boolean oneShot) {

    /** A console in a runtime that outlives the command (the shell, tests). */
    Console(Services services, PrintWriter out, PrintWriter err, boolean terminal) {
        this(services, out, err, terminal, false);
    }

    static final Duration WAIT = Duration.ofSeconds(10);

    /**
     * Longest text from elsewhere (a component's failure, a refused configuration) put on one line:
     * long enough for a refusal that names two paths, three UUIDs and what to do (a snapshot's or
     * mirror's refusal of an existing COW store or region log), short enough to stop garbage.
     */
    private static final int MAX_QUOTED = 1000;

    /**
     * Text from elsewhere made fit for one line of a terminal: control characters (a damaged
     * configuration file's bytes may reach a message) shown as {@code ?}, and cut at 1000 characters.
     */
    static String printable(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(Math.min(text.length(), MAX_QUOTED + 1));
        text.codePoints().limit(MAX_QUOTED).forEach(c -> b.appendCodePoint(Character.isISOControl(c)
                || Character.getType(c) == Character.FORMAT || !Character.isDefined(c) ? '?' : c));
        if (text.codePointCount(0, text.length()) > MAX_QUOTED) {
            b.append("...");
        }
        return b.toString();
    }
}
