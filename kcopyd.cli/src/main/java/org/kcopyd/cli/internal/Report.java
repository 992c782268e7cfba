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
        return finished(outcome, targets, fields, successLine, null, null);
    }

    /**
     * Reports a copy that ran, with what {@code --verify} found and the {@code --hash} digest.
     *
     * @param fields      the command's own JSON fields (source, bytes, timing, the digest)
     * @param successLine the words for a success
     * @param checks      one verification per destination, or null without {@code --verify}
     * @param digestLine  the digest's line ({@code sha256 HEX  SRC}), or null for none
     * @return the exit code: the copy's, else {@link Verification#exitCode}
     */
    int finished(Outcome outcome, List<Target> targets, Map<String, Object> fields, String successLine,
            List<Verification.Check> checks, String digestLine) {
        int exitCode = outcome.exitCode();
        String message = outcome.message();
        if (exitCode == Exit.OK && checks != null) {
            exitCode = Verification.exitCode(checks);
            message = verifyMessage(targets, checks);
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("result", exitCode == Exit.OK ? "ok" : "error");
            if (exitCode != Exit.OK) {
                m.put("exitCode", exitCode);
                m.put("message", oneLine(message));
            }
            m.putAll(fields);
            List<Object> dests = new ArrayList<>();
            for (int i = 0; i < targets.size(); i++) {
                Map<String, Object> d = destination(targets.get(i), outcome.reason(i), outcome.state(i));
                if (checks != null) {
                    d.put("verify", checks.get(i).json());
                }
                dests.add(d);
            }
            m.put("destinations", dests);
            console.out().println(Json.of(m));
        } else {
            if (outcome.isSuccess()) {
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
            for (int i = 0; checks != null && i < targets.size(); i++) {
                printCheck(targets.get(i), checks.get(i));
            }
            if (digestLine != null) {
                console.out().println(digestLine);
            }
        }
        flush();
        return exitCode;
    }

    private void printCheck(Target t, Verification.Check c) {
        String how = c.readBack() == null ? "" : " (read back: " + c.readBack() + ")";
        switch (c.state()) {
            case OK -> console.out().println("verified " + t.name() + ": identical to the source" + how);
            case MISMATCH -> console.err().println("kcopyd " + command + ": " + t.name()
                    + ": verify: differs from the source at sector " + c.firstDifferentSector() + how);
            case ERROR, UNVERIFIED -> console.err().println("kcopyd " + command + ": " + t.name() + ": verify: "
                    + oneLine(c.reason()) + how);
            case SKIPPED -> {
                // The copy's own line for it says why; "not verified" is in the JSON.
            }
        }
    }

    /** @return the first failed check in words, or null if none failed */
    private static String verifyMessage(List<Target> targets, List<Verification.Check> checks) {
        for (int i = 0; i < checks.size(); i++) {
            Verification.Check c = checks.get(i);
            if (c.state() == Verification.State.MISMATCH) {
                return "verification failed: " + targets.get(i).name() + " differs from the source at sector "
                        + c.firstDifferentSector();
            }
            if (c.state() == Verification.State.ERROR) {
                return "verification failed: " + targets.get(i).name() + " " + c.reason();
            }
        }
        for (int i = 0; i < checks.size(); i++) {
            Verification.Check c = checks.get(i);
            if (c.state() == Verification.State.UNVERIFIED) {
                return "verification incomplete: " + targets.get(i).name() + " " + c.reason();
            }
        }
        return null;
    }

    /**
     * Reports an interruption while {@code copy --verify} read the destinations back: the copy
     * had ended (each destination as {@code outcome} says), no destination is verified.
     */
    void verifyInterrupted(Outcome outcome, List<Target> targets) {
        List<String> names = targets.stream().map(Target::name).toList();
        String message = "interrupted while verifying after the copy " + (outcome.isSuccess() ? "completed" : "ended")
                + "; destination" + (names.size() == 1 ? "" : "s") + " not verified: " + String.join(", ", names);
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("result", "interrupted");
            m.put("message", message);
            List<Object> dests = new ArrayList<>();
            for (int i = 0; i < targets.size(); i++) {
                Map<String, Object> d = destination(targets.get(i), outcome.reason(i), outcome.state(i));
                Map<String, Object> v = new LinkedHashMap<>();
                v.put("state", Verification.State.SKIPPED.word());
                v.put("reason", "interrupted");
                d.put("verify", v);
                dests.add(d);
            }
            m.put("destinations", dests);
            console.out().println(Json.of(m));
        } else {
            console.err().println("kcopyd " + command + ": " + message);
        }
        flush();
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
