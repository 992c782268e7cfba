package org.kcopyd.cli.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.Hashtable;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.kcopyd.mirror.LegStatus;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.mirror.MirrorStatus;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mirror create|status|remove}: mirrors as Config Admin factory configurations. */
@Command(name = "mirror", mixinStandardHelpOptions = true, description = "Mirrored block devices resynchronised by kcopyd.",
        subcommands = {MirrorCommand.Create.class, MirrorCommand.Status.class, MirrorCommand.Remove.class})
final class MirrorCommand {

    static final String FACTORY_PID = "org.kcopyd.mirror";

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

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Creates a mirror over LEG0 (the default leg, copied to the others) "
            + "and the other legs, with its dirty-region log at LOG.")
    static final class Create implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "LOG") String log;
        @Parameters(index = "2..*", arity = "2..*", paramLabel = "LEG") List<String> legs;
        @Option(names = "--region-sectors", description = "Region size in sectors (default 1024).")
        int regionSectors = 1024;
        @Option(names = "--bandwidth", description = "Resync cap in bytes per second (default 0 = none).")
        long bandwidth;
        @Option(names = "--wait", description = "Wait until every leg is in sync, showing progress.")
        boolean waitForSync;
        private final Console console;

        Create(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() throws IOException {
            if (FactoryConfigurations.find(console, FACTORY_PID, name) != null) {
                console.err().println("kcopyd mirror: a mirror named '" + name + "' exists already");
                return Exit.USAGE;
            }
            Hashtable<String, Object> props = new Hashtable<>();
            props.put("name", name);
            props.put("regionLog", java.nio.file.Path.of(log).toAbsolutePath().toString());
            props.put("legs", legs.stream().map(l -> l.startsWith("service:") ? l
                    : java.nio.file.Path.of(l).toAbsolutePath().toString()).toArray(String[]::new));
            props.put("regionSectors", regionSectors);
            props.put("throttleBytesPerSecond", bandwidth);
            console.services().configurationAdmin().createFactoryConfiguration(FACTORY_PID, "?").update(props);
            Mirror m = console.services().mirror(name, Duration.ofSeconds(10));
            if (m == null) {
                console.err().println("kcopyd mirror: mirror '" + name + "' did not start within 10 s; see the log");
                return Exit.FAILED;
            }
            if (waitForSync) {
                long bytes = m.device().sizeInSectors() * 512 * (legs.size() - 1);
                if (console.terminal()) {
                    try (Progress p = new Progress(console.out(), bytes, () -> m.status().regionsResynced()
                            * regionSectors * 512L * (legs.size() - 1))) {
                        m.whenInSync().toCompletableFuture().join();
                    }
                } else {
                    m.whenInSync().toCompletableFuture().join();
                }
            }
            print(console, m.status());
            return Exit.OK;
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
        public Integer call() {
            for (Mirror m : console.services().mirrors()) {
                if (name == null || name.equals(m.name())) {
                    print(console, m.status());
                }
            }
            return Exit.OK;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = "Removes the mirror's configuration; legs and log stay.")
    static final class Remove implements Callable<Integer> {
        @Parameters(paramLabel = "NAME") String name;
        private final Console console;

        Remove(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() throws IOException {
            return FactoryConfigurations.remove(console, FACTORY_PID, "mirror", name);
        }
    }
}
