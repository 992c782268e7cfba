package org.kcopyd.runtime.client;

import java.io.PrintStream;
import java.nio.file.Path;

import com.google.gson.JsonObject;

/**
 * One run of a daemon command: where its output goes, whether it is JSON, the state directory and
 * the client's working directory, and the channel to the daemon, found at the first request (so
 * that bad arguments are refused before the state directory is even looked at). Used by one
 * thread.
 */
final class Session {

    private final Path state;
    private final Path cwd;
    private final PrintStream out;
    private final PrintStream err;
    private final boolean json;
    private final String command;
    private final ShutdownHooks hooks;
    /** {@code --state DIR} as the command line gave it, for the commands a message suggests, or "". */
    private final String stateOption;
    private ControlChannel channel;
    /** Pause between two polls of a job or mirror being waited for, in milliseconds. */
    long pollMillis = 250;

    /**
     * @param stateOption {@code " --state DIR"} when the command line named the state directory, else ""
     * @param hooks       where a wait registers what it says when a signal ends the client
     */
    Session(Path state, Path cwd, PrintStream out, PrintStream err, boolean json, String command, String stateOption,
            ShutdownHooks hooks) {
        this.state = state;
        this.stateOption = stateOption;
        this.hooks = hooks;
        this.cwd = cwd;
        this.out = out;
        this.err = err;
        this.json = json;
        this.command = command;
    }

    Path state() {
        return state;
    }

    Path cwd() {
        return cwd;
    }

    PrintStream out() {
        return out;
    }

    boolean json() {
        return json;
    }

    /** @return the command's words for messages, such as "snapshot create" */
    String command() {
        return command;
    }

    /** Sends a request to the daemon (finding it first); see {@link ControlChannel#call}. */
    JsonObject call(String method, String path, JsonObject body) {
        if (channel == null) {
            channel = ControlChannel.find(state);
        }
        return channel.call(method, path, body);
    }

    /**
     * @param withToken whether to add the token fragment (for the owner's terminal), or not (JSON output)
     * @return the daemon's dashboard address (finding the daemon first)
     */
    String dashboard(boolean withToken) {
        if (channel == null) {
            channel = ControlChannel.find(state);
        }
        return withToken ? channel.dashboard() : channel.dashboardAddress();
    }

    /** Prints a line of text, unless the output is JSON. */
    void say(String line) {
        if (!json) {
            out.println(line);
        }
    }

    /** Prints a warning on standard error, unless the output is JSON. */
    void warn(String line) {
        if (!json) {
            err.println("kcopyd " + command + ": " + line);
        }
    }

    /**
     * Ends a command that succeeded: with {@code --json} prints {@code result} as one line.
     *
     * @return exit code 0
     */
    int done(JsonObject result) {
        if (json) {
            out.println(Json.line(result));
        }
        return ExitCodes.OK;
    }

    /**
     * @param words a daemon command's words, such as {@code mirror status m}
     * @return the command line that runs them against the same daemon: {@code kcopyd WORDS [--state DIR]}
     */
    String follow(String words) {
        return "kcopyd " + words + stateOption;
    }

    /**
     * Runs a wait for work that goes on in the daemon whatever the client does. While it runs, a
     * SIGTERM or SIGINT, which ends the client (exit 143 or 130, as the JVM exits), makes it say on
     * standard error, once, that the work goes on and how to follow it:
     * {@code kcopyd COMMAND: stopped waiting; WORK goes on in the daemon: FOLLOW}. Said with
     * {@code --json} too: standard output has no answer then, and the line is for the person who
     * pressed Ctrl-C.
     *
     * @param work   what goes on, such as "the resync of mirror m"
     * @param follow how to follow it, such as "kcopyd mirror status m shows it"
     * @param wait   the wait; returns its result
     * @return what {@code wait} returned
     */
    <T> T waiting(String work, String follow, java.util.function.Supplier<T> wait) {
        java.util.concurrent.atomic.AtomicBoolean said = new java.util.concurrent.atomic.AtomicBoolean();
        Thread hook = new Thread(() -> {
            if (said.compareAndSet(false, true)) {
                err.println("kcopyd " + command + ": stopped waiting; " + Json.printable(work) + " goes on in the daemon: "
                        + follow);
                err.flush();
            }
        }, "kcopyd: interrupted wait");
        hooks.add(hook);
        try {
            return wait.get();
        } finally {
            hooks.remove(hook);
        }
    }

    /** Waits between two polls. */
    void pause() {
        try {
            Thread.sleep(pollMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ClientException.connection("interrupted while waiting; what the daemon does goes on");
        }
    }
}
