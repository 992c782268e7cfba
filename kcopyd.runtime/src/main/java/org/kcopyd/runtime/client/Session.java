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
    private ControlChannel channel;
    /** Pause between two polls of a job or mirror being waited for, in milliseconds. */
    long pollMillis = 250;

    Session(Path state, Path cwd, PrintStream out, PrintStream err, boolean json, String command) {
        this.state = state;
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
