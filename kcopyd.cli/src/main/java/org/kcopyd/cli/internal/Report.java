package org.kcopyd.cli.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A command's result, in words or as JSON. In words: the result on standard output, problems on
 * standard error, each line starting with the command's name. With {@code --json}: exactly one
 * JSON object on standard output whatever happened, and nothing on standard error.
 */
final class Report {

    private final Console console;
    private final String command;
    private final boolean json;

    Report(Console console, String command, boolean json) {
        this.console = console;
        this.command = command;
        this.json = json;
    }

    boolean json() {
        return json;
    }

    /**
     * Reports a command that stopped before writing anything (or after removing what it created).
     *
     * @param arguments the destination arguments, reported untouched
     * @return the exit code
     */
    int refused(CommandException e, List<String> arguments) {
        if (json) {
            List<Object> dests = new ArrayList<>();
            for (String a : arguments) {
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("argument", a);
                d.put("state", "untouched");
                dests.add(d);
            }
            console.out().println(Json.of(error(e.exitCode(), e.getMessage(), dests)));
        } else {
            console.err().println("kcopyd " + command + ": " + oneLine(e.getMessage()));
        }
        flush();
        return e.exitCode();
    }

    /** The JSON object of a failure: result, exit code, message, then the destinations. */
    static Map<String, Object> error(int exitCode, String message, List<?> destinations) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("result", "error");
        m.put("exitCode", exitCode);
        m.put("message", oneLine(message));
        m.put("destinations", destinations);
        return m;
    }

    /**
     * Reports a job stopped by an interruption (Ctrl-C, SIGTERM): how far it got; every
     * destination is incomplete.
     *
     * @param done  bytes written to each destination, on average
     * @param total bytes of each destination's region
     */
    void interrupted(long done, long total, List<Target> targets) {
        List<String> names = targets.stream().map(Target::name).toList();
        String message = "interrupted after " + Progress.bytes(done) + " of " + Progress.bytes(total) + "; destination"
                + (names.size() == 1 ? "" : "s") + " incomplete: " + String.join(", ", names);
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("result", "interrupted");
            m.put("message", message);
            m.put("bytesDone", done);
            m.put("bytes", total);
            List<Object> dests = new ArrayList<>();
            for (Target t : targets) {
                dests.add(destination(t, "interrupted", Outcome.State.INCOMPLETE));
            }
            m.put("destinations", dests);
            console.out().println(Json.of(m));
        } else {
            console.err().println("kcopyd " + command + ": " + message);
        }
        flush();
    }

    /**
     * Reports a job that ran.
     *
     * @param fields      the command's own JSON fields (source, bytes, timing)
     * @param successLine the words for a success
     * @return the exit code
     */
    int finished(Outcome outcome, List<Target> targets, Map<String, Object> fields, String successLine) {
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("result", outcome.isSuccess() ? "ok" : "error");
            if (!outcome.isSuccess()) {
                m.put("exitCode", outcome.exitCode());
                m.put("message", oneLine(outcome.message()));
            }
            m.putAll(fields);
            List<Object> dests = new ArrayList<>();
            for (int i = 0; i < targets.size(); i++) {
                dests.add(destination(targets.get(i), outcome.reason(i), outcome.state(i)));
            }
            m.put("destinations", dests);
            console.out().println(Json.of(m));
        } else if (outcome.isSuccess()) {
            console.out().println(successLine);
        } else {
            if (outcome.readFailure() != null) {
                console.err().println("kcopyd " + command + ": " + oneLine(outcome.message()));
            }
            for (int i = 0; i < targets.size(); i++) {
                String reason = outcome.reason(i);
                console.err().println("kcopyd " + command + ": " + targets.get(i).name() + ": "
                        + outcome.state(i).word() + (reason == null ? "" : ": " + oneLine(reason)));
            }
        }
        flush();
        return outcome.exitCode();
    }

    private static Map<String, Object> destination(Target t, String reason, Outcome.State state) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("path", t.name());
        d.put("sector", t.spec().sector());
        // "error" is null only for a complete destination: an incomplete one says why.
        d.put("error", reason);
        d.put("state", state.word());
        return d;
    }

    static String oneLine(String text) {
        return text == null ? null : text.replaceAll("[\\r\\n]+", " ");
    }

    private void flush() {
        console.out().flush();
        console.err().flush();
    }
}
