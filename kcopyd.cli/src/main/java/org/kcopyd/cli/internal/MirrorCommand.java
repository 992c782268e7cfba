package org.kcopyd.cli.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

import org.kcopyd.mirror.LegStatus;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.mirror.MirrorStatus;
import org.osgi.service.cm.Configuration;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mirror create|status|remove}: mirrors as Config Admin factory configurations of
 * {@value Mirror#FACTORY_PID}, with the property names the mirror bundle exports. Arguments are
 * checked here first (exit code 2, nothing created); the mirror component then checks the files
 * (claims, the region log's header) and its refusal is reported at once.
 */
@Command(name = "mirror", mixinStandardHelpOptions = true, description = "Mirrored block devices resynchronised by kcopyd.",
        subcommands = {MirrorCommand.Create.class, MirrorCommand.Status.class, MirrorCommand.Remove.class})
final class MirrorCommand {

    static void print(Console console, MirrorStatus s) {
        String progress = s.regionsToResync() == 0 ? "in sync" : String.format(Locale.ROOT,
                "resync %d/%d regions, %s/s", s.regionsResynced(), s.regionsResynced() + s.regionsToResync(),
                Progress.bytes(s.resyncBytesPerSecond()));
        console.out().println(s.name() + "  " + s.regions() + " regions  " + progress);
        for (LegStatus leg : s.legs()) {
            console.out().println("  leg " + leg.index() + "  " + leg.state() + "  " + leg.path()
                    + (leg.failure() == null ? "" : "  (" + leg.failure() + ")"));
        }
    }

    /** A word as a shell reads it back: quoted when it holds anything but plain path characters. */
    static String quoted(String word) {
        return word.matches("[A-Za-z0-9._/:,=+@%-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
    }

    /**
     * @param props a mirror's configuration
     * @return the command that makes that mirror again, adopting its region log {@code id}: the
     *         region size too (the log records it and refuses another), and the bandwidth cap
     */
    static String reuseCommand(Dictionary<String, Object> props, Object id) {
        List<String> words = new ArrayList<>(List.of("mirror", "create", String.valueOf(props.get(Mirror.CONFIG_NAME)),
                String.valueOf(props.get(Mirror.CONFIG_REGION_LOG))));
        words.addAll(List.of((String[]) props.get(Mirror.CONFIG_LEGS)));
        if (props.get(Mirror.CONFIG_REGION_SECTORS) instanceof Number n && n.intValue() != Mirror.DEFAULT_REGION_SECTORS) {
            words.addAll(List.of("--region-sectors", String.valueOf(n)));
        }
        if (props.get(Mirror.CONFIG_THROTTLE_BYTES_PER_SECOND) instanceof Number n && n.longValue() != 0) {
            words.addAll(List.of("--bandwidth", String.valueOf(n)));
        }
        words.addAll(List.of("--log-id", String.valueOf(id)));
        return String.join(" ", words.stream().map(MirrorCommand::quoted).toList());
    }

    private static void checkName(String name) {
        if (!Mirror.isValidName(name)) {
            throw CommandException.usage("mirror name '" + Console.printable(name) + "' is not allowed: 1 to 64 "
                    + "letters, digits, '.', '_' or '-', not only dots");
        }
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
                    + "is refused. A leg is a path (a comma is part of it), service:NAME, or a device URI such as "
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
                    + "region log is never overwritten); every leg is then resynchronised from LEG0.")
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

        private int create() throws IOException {
            Dictionary<String, Object> props = properties();
            if (FactoryConfigurations.find(console, Mirror.FACTORY_PID, name) != null) {
                throw CommandException.usage("a mirror named '" + name + "' exists already");
            }
            FactoryConfigurations.create(console, Mirror.FACTORY_PID, "mirror", name, props);
            Mirror m = console.services().mirror(name, Console.WAIT);
            if (m == null) {
                throw CommandException.failed("mirror '" + name + "' started but its service did not appear within "
                        + Console.WAIT.toSeconds() + " s");
            }
            String resume = reuseCommand(props, m.regionLogId()) + " --wait";
            if (waitForSync && !awaitSync(m, resume)) {
                return Exit.INTERRUPTED;
            }
            MirrorStatus status = m.status();
            print(console, status);
            console.out().println("  region log " + props.get(Mirror.CONFIG_REGION_LOG) + "  id " + m.regionLogId());
            if (!waitForSync && console.oneShot() && status.regionsToResync() > 0) {
                // The runtime stops when this command returns, and the resync with it: say so rather than exit as if done.
                console.err().println("kcopyd mirror: the resync stops when this command ends (" + status.regionsToResync()
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

        /** The configuration, every argument checked: nothing is created when one is refused. */
        Dictionary<String, Object> properties() {
            checkName(name);
            if (!Mirror.isValidRegionSize(regionSectors)) {
                throw CommandException.usage("--region-sectors " + regionSectors + " is not allowed: a power of two "
                        + "from " + Mirror.MIN_REGION_SECTORS + " to " + Mirror.MAX_REGION_SECTORS + " sectors");
            }
            if (bandwidth < 0 || bandwidth > 0 && bandwidth < 4096) {
                throw CommandException.usage("--bandwidth " + bandwidth + " is not allowed: 0 (no cap) or at least "
                        + "4096 bytes per second");
            }
            if (legs.size() > Mirror.MAX_LEGS) {
                throw CommandException.usage(legs.size() + " legs given, a mirror has 2 to " + Mirror.MAX_LEGS);
            }
            String logId = existingLog == null ? null : existingLog.logId;
            boolean format = existingLog != null && existingLog.format;
            UUID id = null;
            if (logId != null) {
                try {
                    id = UUID.fromString(logId);
                } catch (IllegalArgumentException e) {
                    throw CommandException.usage("--log-id '" + Console.printable(logId) + "' is not a UUID "
                            + "(8-4-4-4-12 hexadecimal digits)");
                }
            }
            Path logPath = path("LOG", log);
            // The kind of each file first, as copy does: a directory, FIFO or character device is a bad argument.
            if (Files.exists(logPath)) {
                Operand.existing(logPath, "region log");
            } else if (Files.isSymbolicLink(logPath)) {
                throw CommandException.usage("region log " + logPath + " is a symbolic link to nothing");
            }
            List<String> legValues = new ArrayList<>();
            List<Path> legPaths = new ArrayList<>();
            List<Object> legUris = new ArrayList<>();
            for (int i = 0; i < legs.size(); i++) {
                String leg = legs.get(i);
                Path p = null;
                Object uriIdentity = null;
                SnapshotCommand.DeviceArgument device = leg.startsWith(Mirror.SERVICE_LEG) ? null
                        : SnapshotCommand.DeviceArgument.of("leg " + i, leg);
                if (device == null) {
                    if (leg.length() == Mirror.SERVICE_LEG.length()) {
                        throw CommandException.usage("leg " + i + " '" + leg + "' names no device service");
                    }
                } else if (device.remote()) {
                    // No file to examine: opening it (the mirror component) tells whether it exists.
                    leg = device.uri().toString();
                    uriIdentity = device.identity();
                    int bytes = leg.getBytes(StandardCharsets.UTF_8).length;
                    if (bytes > Mirror.MAX_LEG_PATH_BYTES) {
                        throw CommandException.usage("leg " + i + " URI is " + bytes + " bytes long, at most "
                                + Mirror.MAX_LEG_PATH_BYTES);
                    }
                } else {
                    p = path("leg " + i, device.path().toString());
                    Operand.existing(p, "leg " + i);
                    leg = p.toString();
                    int bytes = leg.getBytes(StandardCharsets.UTF_8).length;
                    if (bytes > Mirror.MAX_LEG_PATH_BYTES) {
                        throw CommandException.usage("leg " + i + " path is " + bytes + " bytes long, at most "
                                + Mirror.MAX_LEG_PATH_BYTES);
                    }
                    if (sameFile(p, logPath)) {
                        throw CommandException.usage("LOG " + logPath + " is leg " + i + " " + p
                                + "; the region log must be a file of its own");
                    }
                }
                for (int j = 0; j < i; j++) {
                    boolean same = legValues.get(j).equals(leg)
                            || p != null && legPaths.get(j) != null && sameFile(p, legPaths.get(j))
                            || uriIdentity != null && uriIdentity.equals(legUris.get(j));
                    if (same) {
                        throw CommandException.usage("leg " + i + " " + leg + " is leg " + j + " " + legValues.get(j)
                                + " already");
                    }
                }
                legValues.add(leg);
                legPaths.add(p);
                legUris.add(uriIdentity);
            }
            // What an existing LOG holds is the mirror component's to decide: it reads the header and says why.
            boolean logExists = Files.exists(logPath, LinkOption.NOFOLLOW_LINKS);
            if (!logExists && id != null) {
                throw CommandException.usage("no region log at " + logPath + " to use (--log-id " + id + ")");
            }
            Hashtable<String, Object> props = new Hashtable<>();
            props.put(Mirror.CONFIG_NAME, name);
            props.put(Mirror.CONFIG_REGION_LOG, logPath.toString());
            props.put(Mirror.CONFIG_LEGS, legValues.toArray(new String[0]));
            props.put(Mirror.CONFIG_REGION_SECTORS, regionSectors);
            props.put(Mirror.CONFIG_THROTTLE_BYTES_PER_SECOND, bandwidth);
            if (id != null) {
                props.put(Mirror.CONFIG_REGION_LOG_ID, id.toString());
            }
            if (format) {
                props.put(Mirror.CONFIG_FORMAT, true);
            }
            return props;
        }

        private static Path path(String what, String value) {
            try {
                return Path.of(value).toAbsolutePath();
            } catch (InvalidPathException e) {
                throw CommandException.usage(what + " '" + Console.printable(value) + "' is not a path: " + e.getReason());
            }
        }

        /** Both exist and are one file (any spelling, links); the mirror's claims catch the rest. */
        private static boolean sameFile(Path a, Path b) {
            try {
                return Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
            } catch (IOException e) {
                return false;
            }
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
                if (name != null) {
                    checkName(name);
                }
                for (Mirror m : console.services().mirrors()) {
                    if (name == null || name.equals(m.name())) {
                        print(console, m.status());
                    }
                }
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
                checkName(name);
                Configuration c = FactoryConfigurations.find(console, Mirror.FACTORY_PID, name);
                List<Mirror> running = c == null ? List.of() : console.services().mirrors();
                Dictionary<String, Object> props = c == null ? null : c.getProperties();
                int code = FactoryConfigurations.remove(console, Mirror.FACTORY_PID, "mirror", name);
                Object id = props == null ? null : props.get(Mirror.CONFIG_REGION_LOG_ID);
                if (id == null) {
                    // The identity of a log made just now may not be written back yet: the service has it.
                    id = running.stream().filter(m -> m.name().equals(name)).map(Mirror::regionLogId).findFirst()
                            .orElse(null);
                }
                if (code == Exit.OK && id != null && props.get(Mirror.CONFIG_LEGS) instanceof String[]) {
                    console.out().println("legs and region log stay; to use them again: " + reuseCommand(props, id));
                }
                return code;
            });
        }
    }
}
