package org.kcopyd.cli.internal;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.kcopyd.device.DeviceUris;
import org.kcopyd.device.FileClaim;
import org.kcopyd.device.FileClaims;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.service.cm.Configuration;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code snapshot create|list|merge|remove}: snapshots as Config Admin factory configurations. */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
        description = "Copy-on-write snapshots of files or block devices.",
        subcommands = {SnapshotCommand.Create.class, SnapshotCommand.ListCommand.class, SnapshotCommand.Merge.class,
            SnapshotCommand.Remove.class})
final class SnapshotCommand {

    private static final String ERROR = "kcopyd snapshot: ";
    /** {@link Snapshot#NAME_RULE} in words. */
    static final String NAME_RULE = "a name is 1 to 64 characters of A-Z a-z 0-9 . _ -, not only dots";

    /**
     * A device named on the command line as a snapshot's origin or a mirror's leg: a path, or a
     * device URI when it starts like one ({@code SCHEME://}, as copy's arguments); a {@code file:}
     * URI is its file.
     *
     * @param path the file, or null for a device named by URI
     * @param uri  the device's URI (scheme other than {@code file}), or null for a file
     */
    record DeviceArgument(Path path, URI uri) {

        /**
         * @param what  "origin", "leg 1"... for messages
         * @param value the argument
         * @throws CommandException ({@link Exit#USAGE}) naming the argument if it is not a valid URI or path
         */
        static DeviceArgument of(String what, String value) {
            if (!RegionSpec.URI_PREFIX.matcher(value).lookingAt()) {
                try {
                    return new DeviceArgument(Path.of(value), null);
                } catch (InvalidPathException e) {
                    throw CommandException.usage(what + " '" + Console.printable(value) + "' is not a path: "
                            + e.getReason());
                }
            }
            URI uri;
            try {
                uri = new URI(value);
            } catch (URISyntaxException e) {
                throw CommandException.usage(what + " '" + Console.printable(value) + "' is not a valid URI: "
                        + e.getReason() + " at index " + e.getIndex() + " (a file whose name starts like a URI is "
                        + "written ./NAME)");
            }
            try {
                if (DeviceUris.FILE.equals(DeviceUris.scheme(uri))) {
                    return new DeviceArgument(DeviceUris.path(uri), null);
                }
            } catch (IllegalArgumentException e) {
                throw CommandException.usage(what + " " + Console.printable(e.getMessage()));
            }
            return new DeviceArgument(null, uri);
        }

        /** @return true for a device named by URI: no file to examine, claim or compare */
        boolean remote() {
            return uri != null;
        }

        /** @return what tells two URIs of one device apart from others: the normalized URI ({@link Operand#remote}) */
        Object identity() {
            return Operand.remote(uri).identity();
        }
    }

    /** @return whether {@code name} follows the rule; if not, it has said so */
    static boolean validName(Console console, String name) {
        if (Snapshot.isValidName(name)) {
            return true;
        }
        console.err().println(ERROR + "snapshot name '" + Console.printable(name) + "' is not allowed: " + NAME_RULE);
        return false;
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = {
        "Takes a snapshot of ORIGIN now, keeping the copied chunks in the COW store COW. Write to the origin "
            + "through its kcopyd origin device from then on: other kcopyd writers of it are refused while the "
            + "snapshot exists.",
        "COW is created if nothing is there. An existing kcopyd COW store is reopened when --cow-store-id names "
            + "it (a removed snapshot) and is never overwritten, not even with --format (delete it yourself to "
            + "start afresh); any other existing file is refused, or overwritten with a new, empty store with "
            + "--format. A COW store is reopened only with the origin it was made for: another file or disk of "
            + "the same size is refused (see --origin-id). NAME is 1 to 64 characters of A-Z a-z 0-9 . _ -, not "
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
                    + "not a kcopyd COW store (its content is lost); a COW store is never overwritten.")
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
        /** The largest COW store the command makes, 16 TiB. */
        static final int MAX_SIZE_MIB = 16_777_216;
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
            try {
                return create();
            } catch (CommandException e) {
                console.err().println(ERROR + e.getMessage());
                return e.exitCode();
            }
        }

        private int create() throws IOException {
            if (!validName(console, name)) {
                return Exit.USAGE;
            }
            if (chunkSectors < 8 || chunkSectors > 2048 || Integer.bitCount(chunkSectors) != 1) {
                throw CommandException.usage("--chunk-sectors " + chunkSectors + " is not a power of two in 8..2048");
            }
            if (sizeMiB < 1 || sizeMiB > MAX_SIZE_MIB) {
                throw CommandException.usage("--size-mib " + sizeMiB + " is outside 1.." + MAX_SIZE_MIB);
            }
            String cowStoreId = store == null ? null : store.cowStoreId;
            boolean format = store != null && store.format;
            UUID id = null;
            if (cowStoreId != null) {
                try {
                    id = UUID.fromString(cowStoreId);
                } catch (IllegalArgumentException e) {
                    id = null;
                }
                if (id == null || !id.toString().equalsIgnoreCase(cowStoreId)) {
                    throw CommandException.usage("--cow-store-id '" + Console.printable(cowStoreId) + "' is not a UUID "
                            + "(such as 123e4567-e89b-12d3-a456-426614174000)");
                }
            }
            if (originId != null && originId.isBlank()) {
                throw CommandException.usage("--origin-id is empty: give ORIGIN's identity as a refusal printed it");
            }
            DeviceArgument originArg = DeviceArgument.of("origin", origin);
            Path originPath = originArg.remote() ? null : originArg.path().toAbsolutePath();
            Path cowPath = Path.of(cow).toAbsolutePath();
            // The kind of each file first, as copy does: a directory, FIFO or character device is a bad argument.
            // A device named by URI has no file to examine: opening it (the snapshot component) tells.
            if (!originArg.remote()) {
                Operand.existing(originArg.path(), "origin");
            }
            boolean newStore = !Files.exists(cowPath, LinkOption.NOFOLLOW_LINKS);
            if (!newStore && Files.exists(cowPath)) {
                Operand.existing(Path.of(cow), "COW store");
            }
            Integer refused = checkCow(originPath, cowPath, id);
            if (refused != null) {
                return refused;
            }
            if (newStore) {
                checkSize(cowPath);
            }
            if (FactoryConfigurations.find(console, Snapshot.FACTORY_PID, name) != null) {
                throw CommandException.usage("a snapshot named '" + name + "' exists already");
            }
            Hashtable<String, Object> props = new Hashtable<>();
            props.put(Snapshot.CONFIG_NAME, name);
            props.put(Snapshot.CONFIG_ORIGIN, originArg.remote() ? originArg.uri().toString() : originPath.toString());
            props.put(Snapshot.CONFIG_COW_STORE, cowPath.toString());
            props.put(Snapshot.CONFIG_CHUNK_SECTORS, chunkSectors);
            props.put(Snapshot.CONFIG_COW_STORE_SIZE_MIB, sizeMiB);
            if (id != null) {
                props.put(Snapshot.CONFIG_COW_STORE_ID, id.toString());
            }
            if (format) {
                props.put(Snapshot.CONFIG_FORMAT, true);
            }
            if (originId != null) {
                props.put(Snapshot.CONFIG_ORIGIN_ID, originId.trim());
            }
            Configuration created;
            try {
                created = FactoryConfigurations.create(console, Snapshot.FACTORY_PID, "snapshot", name, props);
            } catch (IllegalArgumentException e) {
                throw CommandException.usage(e.getMessage());
            } catch (IllegalStateException e) {
                throw CommandException.failed(newStore ? tooLarge(e.getMessage(), cowPath) : e.getMessage());
            }
            Snapshot s = console.services().snapshot(name, Duration.ZERO);
            long deadline = System.nanoTime() + Console.WAIT.toNanos();
            while (s == null) {
                // DS may report an immediate component satisfied before its activation has run (and failed).
                ComponentStates.Outcome outcome = outcome(created);
                if (outcome.state() == ComponentStates.State.FAILED || System.nanoTime() - deadline > 0) {
                    created.delete();
                    String message = "snapshot '" + name + "' not created: "
                            + (outcome.state() == ComponentStates.State.FAILED ? Console.printable(outcome.reason())
                            : "its service did not appear within " + Console.WAIT.toSeconds() + " s");
                    throw new CommandException(outcome.exitCode(), newStore ? tooLarge(message, cowPath) : message);
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
                s = console.services().snapshot(name, Duration.ZERO);
            }
            // --cow-store-id names an existing store (a missing one is refused above), and --format cannot go with it.
            console.out().println("snapshot " + name + " of " + origin + " " + (id != null ? "reopened" : "taken")
                    + " (COW store " + cow + ", id " + s.cowStoreId() + ", " + s.chunksCapacity()
                    + " chunks of " + s.chunkSectors() + " sectors)");
            return Exit.OK;
        }

        /**
         * Refuses a new COW store larger than its file system can hold, where that limit is known
         * (see {@link FileSizeLimit}); elsewhere the file system's refusal is explained by {@link #tooLarge}.
         */
        private void checkSize(Path cowPath) {
            Path parent = cowPath.getParent();
            if (parent == null || !Files.isDirectory(parent)) {
                return;
            }
            long bytes = (long) sizeMiB << 20;
            FileSizeLimit.of(parent).ifPresent(limit -> {
                if (bytes > limit.bytes()) {
                    throw CommandException.usage("--size-mib " + sizeMiB + " is too large for COW store " + cow
                            + ": its file system (" + limit.fileSystem() + ") holds files of at most " + limit.bytes()
                            + " bytes, --size-mib " + (limit.bytes() >> 20));
                }
            });
        }

        /**
         * A file system's refusal of a file's size (EFBIG, which the JDK reports as a bare
         * "File too large") said with the file, its size and, where known, the file system.
         */
        private String tooLarge(String message, Path cowPath) {
            if (message == null || !message.toLowerCase(Locale.ROOT).endsWith("file too large")) {
                return message;
            }
            Path parent = cowPath.getParent();
            String fileSystem = parent == null ? null : FileSizeLimit.typeOf(parent);
            return "snapshot '" + name + "' not created: cannot create COW store " + cow + " of " + sizeMiB + " MiB ("
                    + ((long) sizeMiB << 20) + " bytes): the file is too large for its file system"
                    + (fileSystem == null ? "" : " (" + fileSystem + ")") + "; choose a smaller --size-mib";
        }

        private ComponentStates.Outcome outcome(Configuration created) {
            try {
                return ComponentStates.of(console.services().components(), created.getPid(),
                        FactoryConfigurations.properties(created));
            } catch (IllegalStateException e) {
                return new ComponentStates.Outcome(ComponentStates.State.PENDING, e.getMessage(), false);
            }
        }

        /**
         * The refusals that need no snapshot bundle, said in the command line's words; the
         * snapshot component checks all of them again (and the origin). What an existing file holds
         * is the component's to decide: it reads the header, adopts the store the identity names,
         * refuses any other kcopyd COW store even with --format, and says why and what to do.
         *
         * @param originPath the origin file, or null for a device named by URI
         * @return the exit code if refused, else null
         */
        private Integer checkCow(Path originPath, Path cowPath, UUID id) throws IOException {
            if (!Files.exists(cowPath, LinkOption.NOFOLLOW_LINKS)) {
                if (id != null) {
                    console.err().println(ERROR + "COW store " + cow + " does not exist; --cow-store-id reopens an "
                            + "existing store (without it, a new store is created)");
                    return Exit.USAGE;
                }
                return null;
            }
            if (!Files.exists(cowPath)) {
                console.err().println(ERROR + "COW store " + cow + " is a symbolic link to nothing");
                return Exit.USAGE;
            }
            Optional<FileClaim> holder = FileClaims.holderOf(cowPath);
            if (holder.isPresent()) {
                console.err().println(ERROR + cow + (holder.get().path().equals(cowPath) ? ""
                        : " (the same file as " + holder.get().path() + ")") + " is " + holder.get().purpose());
                return Exit.FAILED;
            }
            if (originPath != null && Files.exists(originPath)
                    && FileClaims.identityOf(originPath).equals(FileClaims.identityOf(cowPath))) {
                console.err().println(ERROR + "COW store " + cow + " is the origin " + origin + " itself");
                return Exit.USAGE;
            }
            return null;
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
        public Integer call() {
            for (Snapshot s : console.services().snapshots()) {
                console.out().println(s.name() + "  " + s.state() + "  " + s.chunksUsed() + "/" + s.chunksCapacity()
                        + " chunks  id " + s.cowStoreId()
                        + s.invalidReason().map(r -> "  (" + Console.printable(r) + ")").orElse(""));
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
            if (!validName(console, name)) {
                return Exit.USAGE;
            }
            Snapshot s = console.services().snapshot(name, Duration.ZERO);
            if (s == null) {
                console.err().println(ERROR + "no snapshot named '" + name + "'");
                return Exit.USAGE;
            }
            long chunks = s.chunksUsed();
            try {
                s.merge().toCompletableFuture().join();
            } catch (IllegalStateException e) {
                console.err().println(ERROR + "cannot merge '" + name + "': " + Console.printable(e.getMessage()));
                return Exit.FAILED;
            } catch (CompletionException e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                console.err().println(ERROR + "merging '" + name + "' failed: " + Console.printable(cause.getMessage()));
                return Exit.FAILED;
            }
            console.out().println("snapshot " + name + " merged into its origin (" + chunks + " chunks)");
            return Exit.OK;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = "Removes the snapshot's configuration; its COW store file stays, and snapshot create "
            + "with --cow-store-id reopens it.")
    static final class Remove implements Callable<Integer> {
        @Parameters(paramLabel = "NAME") String name;
        private final Console console;

        Remove(Console console) {
            this.console = console;
        }

        @Override
        public Integer call() throws IOException {
            if (!validName(console, name)) {
                return Exit.USAGE;
            }
            Configuration c = FactoryConfigurations.find(console, Snapshot.FACTORY_PID, name);
            Dictionary<String, Object> props = c == null ? null : c.getProperties();
            int code = FactoryConfigurations.remove(console, Snapshot.FACTORY_PID, "snapshot", name);
            if (code == Exit.OK && props != null && props.get(Snapshot.CONFIG_COW_STORE_ID) != null) {
                console.out().println("its COW store " + props.get(Snapshot.CONFIG_COW_STORE) + " stays; snapshot create "
                        + name + " " + props.get(Snapshot.CONFIG_ORIGIN) + " " + props.get(Snapshot.CONFIG_COW_STORE)
                        + " --cow-store-id " + props.get(Snapshot.CONFIG_COW_STORE_ID) + " reopens it");
            }
            return code;
        }
    }
}
