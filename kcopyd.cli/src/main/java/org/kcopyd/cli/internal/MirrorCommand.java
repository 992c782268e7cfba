package org.kcopyd.cli.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

import org.kcopyd.control.KcopydControl;
import org.kcopyd.control.MirrorRequest;
import org.kcopyd.control.MirrorView;
import org.kcopyd.device.FileErrors;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.mirror.MirrorStatus;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mirror create|status|replace-leg|remove} through the {@link KcopydControl} service, which
 * checks and carries them out with the rules of the daemon's API (exit code 2 and nothing created
 * for a refused value; the mirror component's own refusal reported at once): this class parses the
 * arguments, makes paths absolute, waits for the resync when asked and prints the answers.
 */
@Command(name = "mirror", mixinStandardHelpOptions = true, description = "Mirrored block devices resynchronised by kcopyd.",
        subcommands = {MirrorCommand.Create.class, MirrorCommand.Status.class, MirrorCommand.ReplaceLeg.class,
            MirrorCommand.Remove.class})
final class MirrorCommand {

    /** The request's fields and the options or arguments that set them, for the control's refusals. */
    static final Map<String, String> OPTIONS = Map.of("regionSectors", "--region-sectors", "throttleBytesPerSecond",
            "--bandwidth", "regionLogId", "--log-id", "regionLog", "LOG");

    static void print(Console console, MirrorView s) {
        if (!"active".equals(s.state())) {
            console.out().println(s.name() + "  " + s.state() + (s.reason() == null ? ""
                    : "  (" + Console.printable(s.reason()) + ")"));
        } else {
            String progress = s.regionsToResync() == 0 ? "in sync" : String.format(Locale.ROOT,
                    "resync %d/%d regions, %s/s", s.regionsResynced(), s.regionsResynced() + s.regionsToResync(),
                    Progress.bytes(s.resyncBytesPerSecond()));
            console.out().println(s.name() + "  " + s.regions() + " regions  " + progress);
        }
        for (MirrorView.Leg leg : s.legs()) {
            console.out().println("  leg " + leg.index() + "  " + leg.state() + "  " + leg.device()
                    + (leg.failure() == null ? "" : "  (" + Console.printable(leg.failure()) + ")"));
        }
    }

    /** A word as a shell reads it back: quoted when it holds anything but plain path characters. */
    static String quoted(String word) {
        return word.matches("[A-Za-z0-9._/:,=+@%-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
    }

    /**
     * @return the command that makes mirror {@code name} again, adopting its region log {@code id}: the
     *         region size too (the log records it and refuses another), and the bandwidth cap
     */
    static String reuseCommand(String name, String log, List<String> legs, int regionSectors, long bandwidth,
            Object id) {
        List<String> words = new ArrayList<>(List.of("mirror", "create", name, log));
        words.addAll(legs);
        if (regionSectors != Mirror.DEFAULT_REGION_SECTORS) {
            words.addAll(List.of("--region-sectors", String.valueOf(regionSectors)));
        }
        if (bandwidth != 0) {
            words.addAll(List.of("--bandwidth", String.valueOf(bandwidth)));
        }
        words.addAll(List.of("--log-id", String.valueOf(id)));
        return String.join(" ", words.stream().map(MirrorCommand::quoted).toList());
    }

    /**
     * @return what precedes the command that makes a removed mirror again: a mirror that was not open had
     *         its region log's identity from its configuration, not from the file at {@code log} (which
     *         may be another log: the reason it was refused)
     */
    static String reuseAdvice(String state, String log, String id) {
        return "active".equals(state) ? "legs and region log stay; to use them again: "
                : "legs and region log stay; the mirror was " + state + ", not open, so whether " + log
                + " is still its region log " + id + " was not checked; if it is, this uses them again: ";
    }

    /**
     * @param name a mirror's name, checked by the control (only {@code A-Z a-z 0-9 . _ -}: nothing to escape)
     * @return its configuration's properties, or null: what the command to make it again needs and its
     *         view does not show (the region size, the cap, the legs as configured)
     */
    private static Dictionary<String, Object> configuration(Console console, String name) throws IOException {
        try {
            Configuration[] found = console.services().configurationAdmin().listConfigurations("(&(service.factoryPid="
                    + Mirror.FACTORY_PID + ")(" + Mirror.CONFIG_NAME + "=" + name + "))");
            return found == null ? null : found[0].getProperties();
        } catch (InvalidSyntaxException e) {
            return null;
        }
    }

    private static MirrorView view(Console console, String name) {
        KcopydControl control = console.services().control();
        return ControlCalls.call(() -> control.mirror(name), OPTIONS);
    }

    /** Runs a subcommand body, printing a refusal or failure as one line with its exit code. */
    private static int run(Console console, Callable<Integer> body) throws IOException {
        try {
            return body.call();
        } catch (CommandException e) {
            console.err().println("kcopyd mirror: " + e.getMessage());
            return e.exitCode();
        } catch (IllegalArgumentException e) {
            console.err().println("kcopyd mirror: " + e.getMessage());
            return Exit.USAGE;
        } catch (IllegalStateException e) {
            console.err().println("kcopyd mirror: " + e.getMessage());
            return Exit.FAILED;
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Creates a mirror over LEG0 (the default leg, copied to the others) and the other legs, "
                    + "with its dirty-region log at LOG.",
                "LOG is created if nothing is there. An existing kcopyd region log is used when --log-id names it (the "
                    + "log of an earlier mirror over these legs) and is never overwritten, not even with --format (delete "
                    + "it yourself to start afresh); any other existing file is refused, or overwritten with --format. "
                    + "Every leg and the log are claimed for the mirror: a file used by another leg, mirror or snapshot "
                    + "is refused, and so is a leg that is a kcopyd region log or COW store. A leg is a path (a comma "
                    + "is part of it), service:NAME, or a device URI such as "
                    + "nbd+unix:///?socket=/run/a.sock (an argument starting SCHEME:// is a URI; an export cannot be "
                    + "claimed: serve it to this kcopyd alone)."})
    static final class Create implements Callable<Integer> {

        /**
         * What to do with an existing file at LOG, one or the other: use the region log it is, or
         * format it. Both at once would let a new log take an existing log's identity.
         */
        static final class Log {
            @Option(names = "--log-id", paramLabel = "UUID",
                    description = "Use the existing region log at LOG that has this identity ('mirror remove' prints it).")
            String logId;
            @Option(names = "--format",
                    description = "Overwrite the file at LOG with a new region log if it is not a kcopyd region log (a "
                    + "region log or a snapshot's COW store is never overwritten); every leg is then resynchronised "
                    + "from LEG0.")
            boolean format;
        }

        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "LOG") String log;
        @Parameters(index = "2..*", arity = "2..*", paramLabel = "LEG") List<String> legs;
        @Option(names = "--region-sectors", paramLabel = "N",
                description = "Region size in sectors: a power of two from 8 to 1048576 (default 1024).")
        int regionSectors = Mirror.DEFAULT_REGION_SECTORS;
        @Option(names = "--bandwidth", paramLabel = "BYTES",
                description = "Resync cap in bytes per second: 0 = none (default), else at least 4096.")
        long bandwidth;
        @ArgGroup(exclusive = true, multiplicity = "0..1")
        Log existingLog;
        @Option(names = "--wait", description = "Wait until every leg is in sync, showing progress. Without it, the "
                + "runtime jar's command line ends, and the resync with it, when the command returns (the shell's "
                + "mirrors go on).")
        boolean waitForSync;
        /** Where the interruption report is hooked in; tests run the hook themselves. */
        ShutdownHooks hooks = ShutdownHooks.RUNTIME;
        private final Console console;

        Create(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() throws IOException {
            return run(console, this::create);
        }

        private int create() {
            List<String> legValues = new ArrayList<>();
            for (int i = 0; i < legs.size(); i++) {
                String leg = legs.get(i);
                legValues.add(leg.startsWith(Mirror.SERVICE_LEG) ? leg : ControlCalls.device("leg " + i, leg));
            }
            String logId = existingLog == null ? null : existingLog.logId;
            boolean format = existingLog != null && existingLog.format;
            MirrorRequest request = new MirrorRequest(name, legValues, ControlCalls.absolute("LOG", log), regionSectors,
                    bandwidth, logId, format);
            KcopydControl control = console.services().control();
            MirrorView view = ControlCalls.call(() -> control.createMirror(request), OPTIONS);
            String resume = reuseCommand(name, view.regionLog(), legValues, regionSectors, bandwidth,
                    view.regionLogId()) + " --wait";
            if (waitForSync) {
                Mirror m = console.services().mirror(name, Console.WAIT);
                if (m == null) {
                    throw CommandException.failed("mirror '" + name + "' is open but its service did not appear within "
                            + Console.WAIT.toSeconds() + " s");
                }
                if (!awaitSync(m, resume)) {
                    return Exit.INTERRUPTED;
                }
                view = ControlCalls.call(() -> control.mirror(name), OPTIONS);
            }
            print(console, view);
            console.out().println("  region log " + view.regionLog() + "  id " + view.regionLogId());
            if (!waitForSync && console.oneShot() && view.regionsToResync() > 0) {
                // The runtime stops when this command returns, and the resync with it: say so rather than exit as if done.
                console.err().println("kcopyd mirror: the resync stops when this command ends (" + view.regionsToResync()
                        + " regions still to copy); use --wait, or run it in the shell; to resume: " + resume);
            }
            return Exit.OK;
        }

        /**
         * Waits until every leg is in sync. Ctrl-C or SIGTERM (the shutdown hook) or an interrupt of
         * the command's thread (Ctrl-C in the Gogo shell) ends the wait: it says how far the resync
         * got and how to go on, once, and nothing else is printed after it.
         *
         * @return true when in sync; false if interrupted (it has reported)
         */
        private boolean awaitSync(Mirror m, String resume) {
            AtomicBoolean reported = new AtomicBoolean();
            Thread hook = new Thread(() -> {
                if (reported.compareAndSet(false, true)) {
                    interrupted(m, true, resume);
                }
            }, "kcopyd-mirror-interrupted");
            // Before the line that says the wait begins: a signal from then on is reported.
            hooks.add(hook);
            console.out().println("mirror " + name + " created; waiting until every leg is in sync");
            console.out().flush();
            long bytes = m.device().sizeInSectors() * 512 * (legs.size() - 1);
            Progress progress = console.terminal() ? new Progress(console.out(), bytes, () -> m.status().regionsResynced()
                    * regionSectors * 512L * (legs.size() - 1)) : null;
            boolean threadInterrupted = false;
            try {
                m.whenInSync().toCompletableFuture().get();
            } catch (InterruptedException e) {
                threadInterrupted = true;
            } catch (ExecutionException e) {
                throw CommandException.failed("waiting for mirror '" + name + "' to be in sync failed: "
                        + FileErrors.reason(e.getCause()));
            } finally {
                if (progress != null) {
                    progress.close();
                }
                hooks.remove(hook);
            }
            if (threadInterrupted) {
                if (reported.compareAndSet(false, true)) {
                    interrupted(m, console.oneShot(), resume);
                }
                Thread.currentThread().interrupt();
                return false;
            }
            // After a signal the hook has reported; the framework is stopping under this thread.
            return reported.compareAndSet(false, true);
        }

        /**
         * Reports an interrupted wait.
         *
         * @param ending the runtime ends with it (a signal, or the command line), taking the resync along
         */
        private void interrupted(Mirror m, boolean ending, String resume) {
            String progress;
            try {
                MirrorStatus s = m.status();
                progress = s.regionsResynced() + " of " + (s.regionsResynced() + s.regionsToResync()) + " regions copied";
            } catch (RuntimeException e) {
                // The mirror is being stopped under the hook: how far it got is unknown now, what to do is not.
                progress = "progress unknown";
            }
            console.err().println("kcopyd mirror: interrupted while resyncing mirror " + name + " (" + progress + "); "
                    + (ending ? "the resync stops, and its region log keeps what is left to copy; to resume: " + resume
                    : "it goes on in the background: mirror status " + name));
            console.err().flush();
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Shows each leg (in sync, resyncing, failed) and the resync progress.")
    static final class Status implements Callable<Integer> {
        @Parameters(arity = "0..1", paramLabel = "NAME") String name;
        private final Console console;

        Status(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() throws IOException {
            return run(console, () -> {
                KcopydControl control = console.services().control();
                List<MirrorView> views = name == null ? ControlCalls.call(control::mirrors, OPTIONS)
                        : List.of(ControlCalls.call(() -> control.mirror(name), OPTIONS));
                if (views.isEmpty()) {
                    console.out().println("no mirrors");
                }
                views.forEach(v -> print(console, v));
                return Exit.OK;
            });
        }
    }

    @Command(name = "replace-leg", mixinStandardHelpOptions = true,
            description = {"Puts DEVICE in place of leg LEG and waits until the mirror is open again with it; the new "
                    + "leg is then resynchronised fully from a leg in sync. Leg 0 can be replaced only once it has "
                    + "failed while another leg is in sync. DEVICE the leg's own device brings a failed leg back "
                    + "(its disk repaired, its server serving it again): resynchronised fully; a leg in sync is "
                    + "resynchronised fully from another leg in sync (its data doubted: written outside the mirror). "
                    + "If the mirror does not open with DEVICE, the previous legs are configured again.",
                "DEVICE is a path, service:NAME or a device URI, checked as mirror create checks a leg."})
    static final class ReplaceLeg implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "LEG") int leg;
        @Parameters(index = "2", paramLabel = "DEVICE") String device;
        private final Console console;

        ReplaceLeg(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() throws IOException {
            return run(console, () -> {
                String value = device.startsWith(Mirror.SERVICE_LEG) ? device
                        : ControlCalls.device("leg " + leg, device);
                KcopydControl control = console.services().control();
                // What the leg was: its own device again brings a failed leg back or resyncs one in sync (the
                // leg's status after says so only until its resync ends, which on a small mirror is at once).
                MirrorView before = ControlCalls.call(() -> control.mirror(name), OPTIONS);
                MirrorView v = ControlCalls.call(() -> control.replaceLeg(name, leg, value), OPTIONS);
                MirrorView.Leg was = leg >= 0 && leg < before.legs().size() ? before.legs().get(leg) : null;
                boolean same = was != null && was.device().equals(v.legs().get(leg).device());
                console.out().println("mirror " + name + " leg " + leg + (!same ? " replaced by " + value
                        : "failed".equals(was.state()) ? " brought back: " + value + " is resynced fully"
                        : " " + value + " is being resynced fully from a leg in sync, as asked"));
                print(console, v);
                return Exit.OK;
            });
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = "Removes the mirror's configuration; legs and log stay, and the printed "
            + "'mirror create ... --log-id' uses them again.")
    static final class Remove implements Callable<Integer> {
        @Parameters(paramLabel = "NAME") String name;
        private final Console console;

        Remove(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() throws IOException {
            return run(console, () -> {
                MirrorView v = view(console, name);
                Dictionary<String, Object> props = configuration(console, name);
                KcopydControl control = console.services().control();
                ControlCalls.call(() -> {
                    control.removeMirror(name);
                    return null;
                }, OPTIONS);
                console.out().println("mirror " + name + " removed");
                if (v.regionLogId() != null && props != null && props.get(Mirror.CONFIG_LEGS) instanceof String[] legs) {
                    int sectors = props.get(Mirror.CONFIG_REGION_SECTORS) instanceof Number n ? n.intValue()
                            : Mirror.DEFAULT_REGION_SECTORS;
                    long cap = props.get(Mirror.CONFIG_THROTTLE_BYTES_PER_SECOND) instanceof Number n ? n.longValue() : 0;
                    String log = String.valueOf(props.get(Mirror.CONFIG_REGION_LOG));
                    console.out().println(reuseAdvice(v.state(), log, v.regionLogId())
                            + reuseCommand(name, log, List.of(legs), sectors, cap, v.regionLogId()));
                }
                return Exit.OK;
            });
        }
    }
}
