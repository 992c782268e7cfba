package org.kcopyd.runtime.client;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

import org.kcopyd.runtime.StateLocation;

/**
 * The thin command-line client: the commands that manage what the daemon holds, sent to the daemon
 * of the state directory over its control API (kcopyd.control/CONTROL-API.md) without starting an
 * OSGi framework. The runtime's {@code Main} calls {@link #run} first; when it answers empty, the
 * command is not a daemon command and the framework runs it as before.
 *
 * <p>Daemon commands: {@code status}; {@code snapshot create|list|merge|remove};
 * {@code mirror create|status|remove|replace-leg}; {@code export add|list|remove};
 * {@code jobs [ID]} and {@code jobs cancel ID}; {@code config get|set} (a bare {@code config} keeps
 * its one-shot meaning); {@code copy} and {@code zero} with {@code --daemon}. Each takes
 * {@code --state DIR} (else {@code KCOPYD_STATE}, else {@code $XDG_STATE_HOME/kcopyd}: see
 * {@link StateLocation}), {@code --json} (the API's JSON on standard output, one line; for a
 * failure the error object {@code {"error": {"code", "message"}}} on standard output and nothing
 * on standard error) and {@code --help}.
 *
 * <p>Arguments are checked before anything is sent, and before the state directory is looked at:
 * a refused one is exit 2 with one line naming it. Paths become absolute against the client's
 * working directory; URIs and {@code snapshot:}/{@code origin:}/{@code mirror:} names pass as
 * they are. Exit codes are kcopyd.cli's; see {@link ExitCodes} for the API's error codes and
 * {@link ClientException} for the client's own. Errors of the channel (no daemon, an unsafe
 * token file, a daemon that stops answering) are {@code kcopyd: MESSAGE}, exit 1; others
 * {@code kcopyd COMMAND: MESSAGE}.
 *
 * <p>A command that waits for the daemon's work ({@code mirror create --wait}, {@code snapshot merge},
 * {@code copy}/{@code zero --daemon}, {@code jobs cancel}) registers a JVM shutdown hook while it
 * waits: at SIGTERM or SIGINT, which end the client with exit 143 or 130, it says once on standard
 * error that the work goes on in the daemon and the command that follows it (see
 * {@link Session#waiting}).
 *
 * <p>Runs on the caller's thread; touches no global state but the given streams and, while a
 * command waits, one JVM shutdown hook of its own.
 */
public final class ThinClient {

    /** What a subcommand does with its parsed arguments. */
    interface Handler {
        /** @return the exit code */
        int run(Session session, Arguments arguments);
    }

    /** A subcommand: its syntax, its help text and what it does. */
    record Command(Arguments.Spec spec, String description, Handler handler) {
    }

    private ThinClient() {
    }

    /**
     * Runs a command if it is a daemon command.
     *
     * @param args the command line after the runtime's own options ({@code snapshot list --state DIR})
     * @param env  the environment ({@code KCOPYD_STATE}, {@code XDG_STATE_HOME})
     * @param cwd  the working directory, absolute: relative paths and state directories are taken against it
     * @param out  standard output
     * @param err  standard error
     * @return the exit code, or empty when the command is not a daemon command (nothing was printed)
     */
    public static OptionalInt run(String[] args, Map<String, String> env, Path cwd, PrintStream out, PrintStream err) {
        return run(args, env, cwd, out, err, ShutdownHooks.RUNTIME);
    }

    /** {@link #run(String[], Map, Path, PrintStream, PrintStream)} with the shutdown hooks a wait registers in. */
    static OptionalInt run(String[] args, Map<String, String> env, Path cwd, PrintStream out, PrintStream err,
            ShutdownHooks hooks) {
        List<String> words = List.of(args);
        int at = firstWord(words, 0);
        if (at < 0) {
            return OptionalInt.empty();
        }
        String name = words.get(at);
        Map<String, Command> group = group(name, words);
        if (group == null) {
            return OptionalInt.empty();
        }
        boolean json = options(words).contains("--json");
        String label = name;
        try {
            // The subcommand: the first word after the command's name, unless the group has a default ("").
            int subAt = firstWord(words, at + 1);
            String sub = subAt < 0 ? null : words.get(subAt);
            Command command = sub == null ? null : group.get(sub);
            List<String> rest;
            if (command != null) {
                label = name + " " + sub;
                rest = without(words, at, subAt);
            } else if (group.containsKey("")) {
                command = group.get("");
                rest = without(words, at, -1);
            } else {
                if (sub == null && options(words).contains("--help") || sub != null && (sub.equals("--help")
                        || sub.equals("-h"))) {
                    groupHelp(out, name, group);
                    return OptionalInt.of(ExitCodes.OK);
                }
                throw ClientException.usage((sub == null ? "a subcommand is missing" : "unknown subcommand '"
                        + Json.printable(sub) + "'") + ": kcopyd " + name + " " + String.join("|", group.keySet())
                        + " (kcopyd " + name + " --help)");
            }
            Arguments arguments = Arguments.parse(rest, command.spec());
            if (arguments.help()) {
                out.println("Usage: kcopyd " + command.spec().usage() + " [--state DIR] [--json]");
                out.println(command.description());
                out.println("--state DIR: the daemon's state directory (else KCOPYD_STATE, else $XDG_STATE_HOME/kcopyd "
                        + "or ~/.local/state/kcopyd). --json: print the daemon's answer as JSON.");
                return OptionalInt.of(ExitCodes.OK);
            }
            Path state;
            try {
                state = StateLocation.resolve(words, env, System.getProperty("user.home"), cwd);
            } catch (IllegalArgumentException e) {
                throw ClientException.usage(e.getMessage());
            }
            boolean stateNamed = options(words).stream().anyMatch(w -> w.equals("--state") || w.startsWith("--state="));
            Session session = new Session(state, cwd, out, err, json, label, stateNamed ? " --state "
                    + MirrorCommands.quoted(state.toString()) : "", hooks);
            return OptionalInt.of(command.handler().run(session, arguments));
        } catch (ClientException e) {
            if (json) {
                out.println(Json.line(e.json()));
            } else {
                boolean channel = switch (e.code()) {
                    case "no-daemon", "unsafe-state", "connection-failed" -> true;
                    default -> false;
                };
                err.println("kcopyd" + (channel ? "" : " " + label) + ": " + Json.printable(e.getMessage()));
            }
            out.flush();
            err.flush();
            return OptionalInt.of(e.exitCode());
        }
    }

    /**
     * Whether a command line is one that goes to the daemon (what {@link #run} would answer), without
     * running it.
     *
     * @param args the command line after the runtime's own options
     * @return the name of the daemon command ({@code snapshot}, {@code copy --daemon}...), or empty
     */
    public static java.util.Optional<String> daemonCommand(String[] args) {
        List<String> words = List.of(args);
        int at = firstWord(words, 0);
        if (at < 0 || group(words.get(at), words) == null) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(words.get(at));
    }

    /** @return the subcommands of a daemon command, or null when {@code name} is not one here */
    private static Map<String, Command> group(String name, List<String> words) {
        return switch (name) {
            case "status" -> EngineCommands.status();
            case "snapshot" -> SnapshotCommands.commands();
            case "mirror" -> MirrorCommands.commands();
            case "export" -> ExportCommands.commands();
            case "jobs" -> JobCommands.jobs();
            case "config" -> {
                int sub = firstWord(words, words.indexOf(name) + 1);
                yield sub >= 0 && (words.get(sub).equals("get") || words.get(sub).equals("set"))
                        ? EngineCommands.config() : null;
            }
            case "copy" -> options(words).contains("--daemon") ? JobCommands.copy() : null;
            case "zero" -> options(words).contains("--daemon") ? JobCommands.zero() : null;
            default -> null;
        };
    }

    private static void groupHelp(PrintStream out, String name, Map<String, Command> group) {
        out.println("Usage: kcopyd " + name + " " + String.join("|", group.keySet()) + " ... [--state DIR] [--json]");
        for (Command c : group.values()) {
            out.println("  kcopyd " + c.spec().usage());
        }
        out.println("kcopyd " + name + " SUBCOMMAND --help explains each.");
    }

    /** @return the words before {@code --} */
    private static List<String> options(List<String> words) {
        int end = words.indexOf("--");
        return end < 0 ? words : words.subList(0, end);
    }

    /**
     * @return the index of the first word from {@code from} on that is not {@code --state DIR},
     *         {@code --state=DIR} or {@code --json}; -1 if there is none
     */
    private static int firstWord(List<String> words, int from) {
        for (int i = from; i < words.size(); i++) {
            String w = words.get(i);
            if (w.equals("--state")) {
                i++;
            } else if (!w.startsWith("--state=") && !w.equals("--json")) {
                return w.equals("--") ? -1 : i;
            }
        }
        return -1;
    }

    /** @return the words without those at {@code a} and {@code b}; global options before {@code a} stay */
    private static List<String> without(List<String> words, int a, int b) {
        java.util.ArrayList<String> rest = new java.util.ArrayList<>();
        for (int i = 0; i < words.size(); i++) {
            if (i != a && i != b) {
                rest.add(words.get(i));
            }
        }
        return rest;
    }
}
