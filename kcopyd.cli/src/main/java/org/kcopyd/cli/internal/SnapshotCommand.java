package org.kcopyd.cli.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.kcopyd.control.ControlException;
import org.kcopyd.control.JobView;
import org.kcopyd.control.KcopydControl;
import org.kcopyd.control.SnapshotRequest;
import org.kcopyd.control.SnapshotView;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code snapshot create|list|merge|remove} through the {@link KcopydControl} service, which checks
 * and carries them out with the rules of the daemon's API (one source of truth for "is this COW
 * store safe to use"): this class parses the arguments, makes paths absolute and prints the answer.
 */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
        description = "Copy-on-write snapshots of files or block devices.",
        subcommands = {SnapshotCommand.Create.class, SnapshotCommand.ListCommand.class, SnapshotCommand.Merge.class,
            SnapshotCommand.Remove.class})
final class SnapshotCommand {

    private static final String ERROR = "kcopyd snapshot: ";
    /** The request's fields and the options that set them, for the control's refusals. */
    static final Map<String, String> OPTIONS = Map.of("chunkSectors", "--chunk-sectors", "cowStoreSizeMiB",
            "--size-mib", "cowStoreId", "--cow-store-id", "originId", "--origin-id");

    /** Runs a subcommand body, printing a refusal or failure as one line with its exit code. */
    private static int run(Console console, Callable<Integer> body) throws IOException {
        try {
            return body.call();
        } catch (CommandException e) {
            console.err().println(ERROR + e.getMessage());
            return e.exitCode();
        } catch (IOException | RuntimeException e) {
            // No control service (kcopyd.control not started)...: one line, exit 1, from Commands' handler.
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return the snapshot of that name (the name checked by the control) */
    private static SnapshotView view(Console console, String name) {
        KcopydControl control = console.services().control();
        return ControlCalls.call(() -> control.snapshot(name), OPTIONS);
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = {
        "Takes a snapshot of ORIGIN now, keeping the copied chunks in the COW store COW. Write to the origin "
            + "through its kcopyd origin device from then on: other kcopyd writers of it are refused while the "
            + "snapshot exists.",
        "COW is created if nothing is there. An existing kcopyd COW store is reopened when --cow-store-id names "
            + "it (a removed snapshot) and is never overwritten, not even with --format (delete it yourself to "
            + "start afresh); any other existing file is refused, or overwritten with a new, empty store with "
            + "--format. A COW store is reopened only with the origin it was made for: another file or disk of "
            + "the same size is refused (see --origin-id), and so is an ORIGIN that is a kcopyd COW store or region "
            + "log. NAME is 1 to 64 characters of A-Z a-z 0-9 . _ -, not "
            + "only dots.",
        "ORIGIN may be a device URI such as nbd+unix:///disk?socket=/run/a.sock or nbd://host/disk (an argument "
            + "starting SCHEME:// is a URI): the export is the origin, written through the origin device; COW stays "
            + "a local file. An export cannot be claimed: serve it to this kcopyd alone."})
    static final class Create implements Callable<Integer> {

        /**
         * What to do with an existing file at COW, one or the other: reopen the store it is, or
         * format it. Both at once would let a new store take an existing store's identity.
         */
        static final class Store {
            @Option(names = "--cow-store-id", paramLabel = "ID", description = "Reopen the existing COW store with "
                    + "this identity (a UUID, shown by snapshot list and snapshot remove); any other file is refused.")
            String cowStoreId;
            @Option(names = "--format", description = "Overwrite the file at COW with a new, empty COW store if it is "
                    + "not a kcopyd COW store (its content is lost); a COW store or a mirror's region log is never "
                    + "overwritten.")
            boolean format;
        }

        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Parameters(index = "1", paramLabel = "ORIGIN") String origin;
        @Parameters(index = "2", paramLabel = "COW") String cow;
        @Option(names = "--chunk-sectors", description = "Chunk size in sectors, a power of two in 8..2048 "
                + "(default 16).")
        int chunkSectors = 16;
        @Option(names = "--size-mib", description = "Size of a new COW store in MiB, 1..16777216 (default 1024).")
        int sizeMiB = 1024;
        @ArgGroup(exclusive = true, multiplicity = "0..1")
        Store store;
        @Option(names = "--origin-id", paramLabel = "IDENTITY", description = "Confirm that ORIGIN is the origin the "
                + "existing COW store was made for, although the store records another identity (a file restored "
                + "from a backup or copied has a new inode) or none (made by an older kcopyd): ORIGIN's identity as "
                + "the refusal prints it. Another origin of the same size is refused without it.")
        String originId;
        private final Console console;

        Create(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() throws IOException {
            return run(console, this::create);
        }

        private int create() {
            String cowStoreId = store == null ? null : store.cowStoreId;
            boolean format = store != null && store.format;
            SnapshotRequest request = new SnapshotRequest(name, ControlCalls.device("origin", origin),
                    ControlCalls.absolute("COW", cow), chunkSectors, sizeMiB, cowStoreId, format, originId);
            Path cowPath = Path.of(request.cowStore());
            boolean newStore = !Files.exists(cowPath, LinkOption.NOFOLLOW_LINKS);
            KcopydControl control = console.services().control();
            SnapshotView s;
            try {
                s = control.createSnapshot(request);
            } catch (ControlException e) {
                CommandException refusal = ControlCalls.refusal(e, OPTIONS);
                throw newStore ? new CommandException(refusal.exitCode(), tooLarge(refusal.getMessage(), cowPath))
                        : refusal;
            }
            // --cow-store-id names an existing store (a missing one is refused), and --format cannot go with it.
            console.out().println("snapshot " + name + " of " + origin + " " + (cowStoreId != null ? "reopened" : "taken")
                    + " (COW store " + cow + ", id " + s.cowStoreId() + ", " + s.chunksCapacity() + " chunks of "
                    + s.chunkSectors() + " sectors)");
            return Exit.OK;
        }

        /**
         * A file system's refusal of a file's size (EFBIG, which the JDK reports as a bare
         * "File too large") said with the file, its size and the file system.
         */
        private String tooLarge(String message, Path cowPath) {
            if (message == null || !message.toLowerCase(Locale.ROOT).endsWith("file too large")) {
                return message;
            }
            Path parent = cowPath.getParent();
            String fileSystem = null;
            try {
                fileSystem = parent == null ? null : Files.getFileStore(parent).type();
            } catch (IOException e) {
                // Not known: said without it.
            }
            return "snapshot '" + name + "' not created: cannot create COW store " + cow + " of " + sizeMiB + " MiB ("
                    + ((long) sizeMiB << 20) + " bytes): the file is too large for its file system"
                    + (fileSystem == null ? "" : " (" + fileSystem + ")") + "; choose a smaller --size-mib";
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "Lists the snapshots with their state, COW usage and COW store identity.")
    static final class ListCommand implements Callable<Integer> {
        private final Console console;

        ListCommand(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() throws IOException {
            return run(console, () -> {
                KcopydControl control = console.services().control();
                List<SnapshotView> all = ControlCalls.call(control::snapshots, OPTIONS);
                if (all.isEmpty()) {
                    console.out().println("no snapshots");
                }
                for (SnapshotView s : all) {
                    console.out().println(s.name() + "  " + s.state() + "  " + s.chunksUsed() + "/" + s.chunksCapacity()
                            + " chunks  id " + (s.cowStoreId() == null ? "-" : s.cowStoreId())
                            + (s.invalidReason() == null ? "" : "  (" + Console.printable(s.invalidReason()) + ")"));
                }
                return Exit.OK;
            });
        }
    }

    @Command(name = "merge", mixinStandardHelpOptions = true,
            description = "Rolls the origin back to the snapshot (the origin stays usable and shows the snapshot's "
            + "content from the start) and waits until the merge has ended; the snapshot is then removed, its COW "
            + "store file stays. Exports of snapshot:NAME or origin:NAME must be removed first. Ctrl-C stops the "
            + "waiting, not the merge.")
    static final class Merge implements Callable<Integer> {
        /** Pause between two looks at the merge job, in milliseconds. */
        static final long POLL_MILLIS = 100;

        @Parameters(paramLabel = "NAME") String name;
        private final Console console;

        Merge(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() throws IOException {
            return run(console, () -> {
                SnapshotView v = view(console, name);
                KcopydControl control = console.services().control();
                JobView job = ControlCalls.call(() -> control.mergeSnapshot(name), OPTIONS);
                while (!job.ended()) {
                    try {
                        Thread.sleep(POLL_MILLIS);
                    } catch (InterruptedException e) {
                        // Ctrl-C in the shell interrupts the command's thread: the merge goes on in the control.
                        console.err().println(ERROR + "stopped waiting; merge job " + job.id() + " of snapshot " + name
                                + " goes on, and the snapshot is removed when it completes (snapshot list shows it "
                                + "merging until then)");
                        Thread.currentThread().interrupt();
                        return Exit.INTERRUPTED;
                    }
                    String id = job.id();
                    job = ControlCalls.call(() -> control.job(id), OPTIONS);
                }
                if (!"completed".equals(job.state())) {
                    // The job's error says what failed (the merge, or removing the merged snapshot).
                    throw CommandException.failed(job.error() != null ? Console.printable(job.error())
                            : "merging '" + name + "' ended " + job.state() + " (job " + job.id() + ")");
                }
                console.out().println("snapshot " + name + " merged into its origin (" + v.chunksUsed()
                        + " chunks) and removed; its COW store " + v.cowStore() + " stays");
                return Exit.OK;
            });
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = "Removes the snapshot's configuration; its COW store file stays, and snapshot create "
            + "with --cow-store-id reopens it. Exports of snapshot:NAME or origin:NAME must be removed first.")
    static final class Remove implements Callable<Integer> {
        @Parameters(paramLabel = "NAME") String name;
        private final Console console;

        Remove(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() throws IOException {
            return run(console, () -> {
                SnapshotView v = view(console, name);
                KcopydControl control = console.services().control();
                ControlCalls.call(() -> {
                    control.removeSnapshot(name);
                    return null;
                }, OPTIONS);
                console.out().println("snapshot " + name + " removed");
                if (v.cowStoreId() != null) {
                    console.out().println("its COW store " + v.cowStore() + " stays; snapshot create " + name + " "
                            + v.origin() + " " + v.cowStore() + " --cow-store-id " + v.cowStoreId() + " reopens it");
                }
                return Exit.OK;
            });
        }
    }
}
