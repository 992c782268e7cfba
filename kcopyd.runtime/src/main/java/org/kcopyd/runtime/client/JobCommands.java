package org.kcopyd.runtime.client;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * {@code jobs [ID]}, {@code jobs cancel ID}, and {@code copy --daemon} / {@code zero --daemon},
 * which run a whole-device copy or zeroing inside the daemon as a job: by default the client waits
 * for the job's end and exits as the one-shot command would (0 complete, 3 read error, 4 write
 * error, 1 cancelled or failed); {@code --no-wait} returns once the job runs. Ctrl-C stops the
 * waiting, not the job ({@code jobs cancel ID} does). The one-shot options the control API's job
 * has no field for are refused with {@code --daemon}, naming them. Stateless.
 */
final class JobCommands {

    /** The most destinations of one copy (kcopyd.cli's copy). */
    static final int MAX_DESTINATIONS = 64;
    private static final java.util.regex.Pattern ID = java.util.regex.Pattern.compile("[A-Za-z0-9._-]{1,80}");
    private static final List<String> ONE_SHOT_ONLY = List.of("--flush", "--direct", "--ignore-errors", "--verify",
            "--pages", "--hash");

    private JobCommands() {
    }

    static Map<String, ThinClient.Command> jobs() {
        Map<String, ThinClient.Command> m = new LinkedHashMap<>();
        m.put("", new ThinClient.Command(new Arguments.Spec("jobs [ID] (or: jobs cancel ID)", 0, 1, Set.of(), Set.of()),
                "Lists the daemon's jobs (copies, zeroes, resyncs, merges; running, and those ended in the last 10 "
                + "minutes) with progress, rate and time left, or job ID with its result.", JobCommands::list));
        m.put("cancel", new ThinClient.Command(new Arguments.Spec("jobs cancel ID", 1, 1, Set.of(), Set.of()),
                "Cancels copy or zero job ID and waits until it has stopped, then names the destinations left "
                + "incomplete. Resyncs and merges cannot be cancelled.", JobCommands::cancel));
        return m;
    }

    static Map<String, ThinClient.Command> copy() {
        return Map.of("", new ThinClient.Command(new Arguments.Spec("copy --daemon SRC DST... [--sparse MODE] "
                + "[--no-wait]", 2, 1 + MAX_DESTINATIONS, Set.of("--sparse", "--pages", "--hash"),
                Set.of("--daemon", "--no-wait", "--flush", "--direct", "--ignore-errors", "--verify")),
                "Copies the whole of SRC to every DST inside the daemon, as a job that goes on if this command ends: "
                + "devices are paths, device URIs, snapshot:NAME, origin:NAME or mirror:NAME. --sparse auto (default), "
                + "always or never as for copy. Waits for the end (exit 0 complete, 3 read error, 4 write error, 1 "
                + "cancelled or failed) unless --no-wait. Regions (SRC:SECTOR+COUNT) and --flush, --direct, "
                + "--ignore-errors, --verify, --pages, --hash need the one-shot copy, without --daemon.",
                (s, a) -> submit(s, a, true)));
    }

    static Map<String, ThinClient.Command> zero() {
        return Map.of("", new ThinClient.Command(new Arguments.Spec("zero --daemon DST... [--no-wait]", 1,
                MAX_DESTINATIONS, Set.of(), Set.of("--daemon", "--no-wait", "--flush")),
                "Zeroes every DST whole inside the daemon, as a job that goes on if this command ends. Waits for the "
                + "end unless --no-wait. Regions and --flush need the one-shot zero, without --daemon.",
                (s, a) -> submit(s, a, false)));
    }

    private static String id(String id) {
        if (!ID.matcher(id).matches()) {
            throw ClientException.usage("job ID '" + Json.printable(id) + "' is not a job's identity (1 to 80 characters "
                    + "of A-Z a-z 0-9 . _ -, as jobs lists them)");
        }
        return id;
    }

    private static int list(Session s, Arguments a) {
        if (a.optional(0) != null) {
            JsonObject job = s.call("GET", "/api/v1/jobs/" + id(a.get(0)), null);
            s.say(line(job));
            result(s, job);
            return s.done(job);
        }
        JsonObject all = s.call("GET", "/api/v1/jobs", null);
        for (JsonElement e : Json.array(all, "jobs")) {
            s.say(line(e.getAsJsonObject()));
        }
        if (Json.array(all, "jobs").isEmpty()) {
            s.say("no jobs (none running, none ended in the last 10 minutes)");
        }
        return s.done(all);
    }

    private static int cancel(Session s, Arguments a) {
        String id = id(a.get(0));
        JsonObject job = await(s, s.call("POST", "/api/v1/jobs/" + id + "/cancel", null), "the cancelling of job "
                + id, "", ClientException.JOB_GONE);
        s.say(line(job));
        result(s, job);
        return s.done(job);
    }

    private static int submit(Session s, Arguments a, boolean copy) {
        for (String option : ONE_SHOT_ONLY) {
            if (a.flag(option) || a.value(option) != null) {
                throw ClientException.usage(option + " is not available with --daemon (the daemon's " + (copy ? "copy"
                        : "zero") + " job has no such setting); run " + (copy ? "copy" : "zero") + " without --daemon");
            }
        }
        JsonObject body = new JsonObject();
        body.addProperty("kind", copy ? "copy" : "zero");
        List<String> devices = a.from(0);
        if (copy) {
            refuseDash("source", devices.get(0));
            body.addProperty("source", whole("source", devices.get(0), s));
            String sparse = a.value("--sparse") == null ? "auto" : a.value("--sparse").toLowerCase(Locale.ROOT);
            if (!List.of("auto", "always", "never").contains(sparse)) {
                throw ClientException.usage("--sparse '" + Json.printable(a.value("--sparse")) + "' is not auto, always or "
                        + "never");
            }
            body.addProperty("sparse", sparse);
        }
        JsonArray destinations = new JsonArray();
        List<String> seen = new ArrayList<>();
        for (String d : devices.subList(copy ? 1 : 0, devices.size())) {
            refuseDash("destination", d);
            String device = whole("destination", d, s);
            if (copy && device.equals(body.get("source").getAsString())) {
                // H48-7: "named twice" read as if the destination were given twice.
                throw ClientException.usage("destination '" + Json.printable(d) + "' is the source (both are "
                        + Json.printable(device) + ")");
            }
            if (seen.contains(device)) {
                throw ClientException.usage("destination '" + Json.printable(d) + "' is named twice (as "
                        + Json.printable(device) + ")");
            }
            seen.add(device);
            destinations.add(device);
        }
        body.add("destinations", destinations);
        JsonObject job = s.call("POST", "/api/v1/jobs", body);
        String id = Json.string(job, "id", "?");
        if (a.flag("--no-wait")) {
            s.say("job " + Json.printable(id) + " started: " + Json.printable(Json.string(job, "description", ""))
                    + "; kcopyd jobs " + Json.printable(id) + " shows it, kcopyd jobs cancel " + Json.printable(id)
                    + " stops it");
            return s.done(job);
        }
        job = await(s, job, "job " + id, ", " + s.follow("jobs cancel " + id) + " stops it", ClientException.JOB_GONE);
        s.say(line(job));
        result(s, job);
        s.done(job);
        return exitCode(job);
    }

    /**
     * H48-9, H49-11: dd, nbdcopy and qemu-img take "-" for standard input or output; a file of that name is what
     * nobody means by it ({@code ./-} names one). The one-shot command line's {@code Operand} says the same.
     */
    private static void refuseDash(String role, String operand) {
        if (operand.equals("-")) {
            boolean source = role.equals("source");
            throw ClientException.usage(role + " '-' is not standard " + (source ? "input" : "output") + ": kcopyd copies "
                    + (source ? "from" : "to") + " devices and files only; to name a file -, write ./-");
        }
    }

    /** A device argument of a daemon job: a whole device, so a region suffix is refused. */
    private static String whole(String what, String value, Session s) {
        String device = DeviceNames.device(what, value, s.cwd());
        boolean path = device.startsWith("/") && !value.startsWith("snapshot:") && !value.startsWith("origin:")
                && !value.startsWith("mirror:");
        if (path && value.contains(":")) {
            throw ClientException.usage(what + " '" + Json.printable(value) + "': a daemon job copies whole devices and "
                    + "the text after ':' would be a region (SRC:SECTOR+COUNT); run the command without --daemon for a "
                    + "region, or rename the file");
        }
        return device;
    }

    /** @return the exit code of an ended job, as the one-shot command's */
    static int exitCode(JsonObject job) {
        String state = Json.string(job, "state", "");
        JsonObject result = Json.object(job, "result");
        if (Json.string(result, "readError") != null) {
            return ExitCodes.READ_ERROR;
        }
        for (JsonElement d : Json.array(result, "destinations")) {
            if (Json.string(d.getAsJsonObject(), "error") != null) {
                return ExitCodes.WRITE_ERROR;
            }
        }
        return state.equals("completed") ? ExitCodes.OK : ExitCodes.FAILED;
    }

    /**
     * Waits until a job has ended, polling it. A signal ending the client meanwhile says that
     * {@code work} goes on and that {@code kcopyd jobs ID} shows it ({@link Session#waiting}).
     *
     * @param work what the job does, for that line ("job 7", "merge job 7 of snapshot s1")
     * @param stop how to stop it, appended to that line (", kcopyd jobs cancel 7 stops it"), or ""
     * @param gone what the daemon's end while waiting means for the work ({@link ClientException#JOB_GONE})
     * @return the ended job
     */
    static JsonObject await(Session s, JsonObject job, String work, String stop, String gone) {
        String id = id(Json.string(job, "id", ""));
        if (ended(job)) {
            return job;
        }
        return s.waiting(work, s.follow("jobs " + id) + " shows it" + stop, () -> {
            JsonObject now = job;
            while (!ended(now)) {
                s.pause();
                try {
                    now = s.call("GET", "/api/v1/jobs/" + id, null);
                } catch (ClientException e) {
                    if (e.code().equals("no-daemon") || e.code().equals("connection-failed")) {
                        throw ClientException.daemonGone(work, gone, e);
                    }
                    throw e;
                }
            }
            return now;
        });
    }

    private static boolean ended(JsonObject job) {
        String state = Json.string(job, "state", "");
        return state.equals("completed") || state.equals("failed") || state.equals("cancelled");
    }

    /** @return why an ended job did not complete: its read error, a destination's error, or its state */
    static String why(JsonObject job) {
        JsonObject result = Json.object(job, "result");
        String read = Json.string(result, "readError");
        if (read != null) {
            return "reading failed: " + Json.printable(read);
        }
        for (JsonElement d : Json.array(result, "destinations")) {
            String error = Json.string(d.getAsJsonObject(), "error");
            if (error != null) {
                return "writing " + Json.printable(Json.string(d.getAsJsonObject(), "device")) + " failed: "
                        + Json.printable(error);
            }
        }
        return "job " + Json.printable(Json.string(job, "id")) + " is " + Json.printable(Json.string(job, "state"));
    }

    /** Prints an ended job's result: errors and incomplete destinations. */
    private static void result(Session s, JsonObject job) {
        JsonObject result = Json.object(job, "result");
        if (result == null) {
            return;
        }
        String read = Json.string(result, "readError");
        if (read != null) {
            s.say("  read error: " + Json.printable(read));
        }
        List<String> incomplete = new ArrayList<>();
        for (JsonElement e : Json.array(result, "destinations")) {
            JsonObject d = e.getAsJsonObject();
            String error = Json.string(d, "error");
            if (error != null) {
                s.say("  write error on " + Json.printable(Json.string(d, "device")) + ": " + Json.printable(error));
            }
            if (!Json.flag(d, "complete")) {
                incomplete.add(Json.printable(Json.string(d, "device")));
            }
        }
        if (!incomplete.isEmpty()) {
            s.say("  incomplete: " + String.join(", ", incomplete));
        }
    }

    /** @return one job in a line: id, kind, state, description, progress */
    static String line(JsonObject job) {
        long total = Json.whole(job, "bytesTotal", 0);
        long done = Json.whole(job, "bytesDone", 0);
        StringBuilder b = new StringBuilder();
        b.append(Json.printable(Json.string(job, "id"))).append("  ").append(Json.printable(Json.string(job, "kind")))
                .append("  ").append(Json.printable(Json.string(job, "state"))).append("  ")
                .append(Json.printable(Json.string(job, "description", "")));
        b.append("  ").append(Json.bytes(done)).append(" of ").append(Json.bytes(total));
        if (total > 0) {
            b.append(String.format(Locale.ROOT, " (%.0f%%)", 100.0 * done / total));
        }
        if ("running".equals(Json.string(job, "state"))) {
            Double rate = Json.number(job, "bytesPerSecond");
            Double left = Json.number(job, "secondsLeft");
            if (rate != null) {
                b.append("  ").append(Json.bytes(rate)).append("/s");
            }
            if (left != null) {
                b.append(String.format(Locale.ROOT, "  %.1f s left", left));
            }
        }
        return b.toString();
    }
}
