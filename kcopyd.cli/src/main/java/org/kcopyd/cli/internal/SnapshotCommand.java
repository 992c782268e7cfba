package org.kcopyd.cli.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.Hashtable;
import java.util.concurrent.Callable;

import org.kcopyd.snapshot.Snapshot;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code snapshot create|list|merge|remove}: snapshots as Config Admin factory configurations. */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
        description = "Copy-on-write snapshots of files or block devices.",
        subcommands = {SnapshotCommand.Create.class, SnapshotCommand.ListCommand.class, SnapshotCommand.Merge.class,
            SnapshotCommand.Remove.class})
final class SnapshotCommand {

    static final String FACTORY_PID = "org.kcopyd.snapshot";

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Takes a snapshot of ORIGIN now, keeping the copied chunks in COW "
            + "(created if missing). Write to the origin through its kcopyd origin device from then on.")
    static final class Create implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "ORIGIN") String origin;
        @Parameters(index = "2", paramLabel = "COW") String cow;
        @Option(names = "--chunk-sectors", description = "Chunk size in sectors, a power of two (default 16).")
        int chunkSectors = 16;
        @Option(names = "--size-mib", description = "Size of a new COW store in MiB (default 1024).")
        int sizeMiB = 1024;
        private final Console console;

        Create(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() throws IOException {
            if (FactoryConfigurations.find(console, FACTORY_PID, name) != null) {
                console.err().println("kcopyd snapshot: a snapshot named '" + name + "' exists already");
                return Exit.USAGE;
            }
            Hashtable<String, Object> props = new Hashtable<>();
            props.put("name", name);
            props.put("origin", java.nio.file.Path.of(origin).toAbsolutePath().toString());
            props.put("cowStore", java.nio.file.Path.of(cow).toAbsolutePath().toString());
            props.put("chunkSectors", chunkSectors);
            props.put("cowStoreSizeMiB", sizeMiB);
            console.services().configurationAdmin().createFactoryConfiguration(FACTORY_PID, "?").update(props);
            Snapshot s = console.services().snapshot(name, Duration.ofSeconds(10));
            if (s == null) {
                console.err().println("kcopyd snapshot: snapshot '" + name + "' did not start within 10 s; see the log");
                return Exit.FAILED;
            }
            console.out().println("snapshot " + name + " of " + origin + " taken (COW store " + cow + ", "
                    + s.chunksCapacity() + " chunks of " + s.chunkSectors() + " sectors)");
            return Exit.OK;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "Lists the snapshots with their state and COW usage.")
    static final class ListCommand implements Callable<Integer> {
        private final Console console;

        ListCommand(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() {
            for (Snapshot s : console.services().snapshots()) {
                console.out().println(s.name() + "  " + s.state() + "  " + s.chunksUsed() + "/" + s.chunksCapacity()
                        + " chunks" + s.invalidReason().map(r -> "  (" + r + ")").orElse(""));
            }
            return Exit.OK;
        }
    }

    @Command(name = "merge", mixinStandardHelpOptions = true,
            description = "Rolls the origin back to the snapshot; the origin stays usable.")
    static final class Merge implements Callable<Integer> {
        @Parameters(paramLabel = "NAME") String name;
        private final Console console;

        Merge(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() {
            Snapshot s = console.services().snapshot(name, Duration.ZERO);
            if (s == null) {
                console.err().println("kcopyd snapshot: no snapshot named '" + name + "'");
                return Exit.USAGE;
            }
            long chunks = s.chunksUsed();
            s.merge().toCompletableFuture().join();
            console.out().println("snapshot " + name + " merged into its origin (" + chunks + " chunks)");
            return Exit.OK;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = "Removes the snapshot's configuration; its COW store file stays.")
    static final class Remove implements Callable<Integer> {
        @Parameters(paramLabel = "NAME") String name;
        private final Console console;

        Remove(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() throws IOException {
            return FactoryConfigurations.remove(console, FACTORY_PID, "snapshot", name);
        }
    }
}
