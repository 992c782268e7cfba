package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.device.FileClaim;
import org.kcopyd.device.FileClaims;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;

/**
 * {@code snapshot} refuses bad names, options and COW store paths itself, at once, with exit code
 * 2 (or 1 for a file in use) and one line naming the value, before any configuration is made.
 * What an existing COW store file holds is the snapshot component's to decide (it reads the
 * header): its refusal is reported in one line, exit code 2, and leaves no configuration.
 */
class SnapshotCommandTest {

    private static final String RULE = "a name is 1 to 64 characters of A-Z a-z 0-9 . _ -, not only dots";

    @TempDir
    Path dir;
    private final FakeRuntime runtime = new FakeRuntime();
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        return Commands.run(new Console(runtime, new PrintWriter(out), new PrintWriter(err), false), args);
    }

    private String path(String file) {
        return dir.resolve(file).toString();
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    @Test
    void namesOutsideTheRuleAreRefusedByEverySubcommand() throws Exception {
        Files.write(dir.resolve("a.img"), new byte[4096]);
        runtime.addConfiguration(Snapshot.FACTORY_PID + "~beta", Snapshot.FACTORY_PID, Map.of(Snapshot.CONFIG_NAME, "beta"));
        String tooLong = "s".repeat(65);

        for (String name : new String[] {"b*", "../s", tooLong, "a b", "s(1)", ".", "..", "..."}) {
            for (String[] args : new String[][] {{"snapshot", "create", name, path("a.img"), path("new.cow")},
                {"snapshot", "remove", name}, {"snapshot", "merge", name}}) {
                err.getBuffer().setLength(0);
                assertThat(run(args)).as(String.join(" ", args)).isEqualTo(Exit.USAGE);
                assertThat(err.toString()).isEqualTo("kcopyd snapshot: snapshot name '" + name + "' is not allowed: "
                        + RULE + System.lineSeparator());
            }
        }

        assertThat(runtime.configurations).as("beta is still there, nothing was added").containsOnlyKeys(
                Snapshot.FACTORY_PID + "~beta");
        assertThat(runtime.deleted).isEmpty();
        assertThat(dir.resolve("new.cow")).doesNotExist();
    }

    @Test
    void optionsOutsideTheirLimitsAreRefused() {
        String[][] cases = {
            {"--chunk-sectors", "7", "--chunk-sectors 7 is not a power of two in 8..2048"},
            {"--chunk-sectors", "0", "--chunk-sectors 0 is not a power of two in 8..2048"},
            {"--chunk-sectors", "-8", "--chunk-sectors -8 is not a power of two in 8..2048"},
            {"--size-mib", "0", "--size-mib 0 is outside 1..16777216"},
            {"--cow-store-id", "xyz", "--cow-store-id 'xyz' is not a UUID"},
        };
        for (String[] c : cases) {
            err.getBuffer().setLength(0);
            assertThat(run("snapshot", "create", "s1", path("a.img"), path("new.cow"), c[0], c[1])).isEqualTo(Exit.USAGE);
            assertThat(err.toString()).startsWith("kcopyd snapshot: " + c[2]);
        }
        assertThat(runtime.configurations).isEmpty();
    }

    /**
     * A kcopyd COW store is never formatted, not even with --format: the command does not decide
     * it on its own (it cannot read the header), it hands the file to the snapshot component and
     * reports its refusal as it is, exit code 2, with or without --format.
     */
    @Test
    void whatAnExistingCowStoreHoldsIsTheSnapshotsToDecideAndItsRefusalIsExit2InOneLine() throws Exception {
        Files.write(dir.resolve("a.img"), new byte[4096]);
        Path cow = Files.write(dir.resolve("s1.cow"), new byte[1 << 20]);
        String before = sha256(cow);
        String id = "123e4567-e89b-12d3-a456-426614174000";
        String refusal = "snapshot 's1': " + cow + " is kcopyd COW store " + id + " (origin of 8 sectors, chunks of 16 "
                + "sectors), and the configuration names no cowStoreId, so it is not adopted; a kcopyd COW store is "
                + "never formatted, not even with format=true (--format): set cowStoreId=" + id + " (--cow-store-id "
                + id + ") to reopen it, or delete " + cow + " yourself to start afresh";
        List<Hashtable<String, Object>> seen = new ArrayList<>();
        var description = FakeRuntime.description(Snapshot.FACTORY_PID, Snapshot.FACTORY_PID);
        runtime.descriptions.add(description);
        runtime.ds = p -> {
            seen.add(new Hashtable<>(p));
            return FakeRuntime.component(description, Map.copyOf(p), ComponentConfigurationDTO.FAILED_ACTIVATION,
                    "java.lang.IllegalArgumentException: " + refusal + "\n\tat x.y(Z.java:1)\n");
        };

        for (boolean format : new boolean[] {false, true}) {
            err.getBuffer().setLength(0);
            seen.clear();
            int code = format ? run("snapshot", "create", "s1", path("a.img"), cow.toString(), "--format")
                    : run("snapshot", "create", "s1", path("a.img"), cow.toString());

            assertThat(code).as("format " + format).isEqualTo(Exit.USAGE);
            assertThat(err.toString()).isEqualTo("kcopyd snapshot: snapshot 's1' not created: " + refusal
                    + System.lineSeparator());
            assertThat(seen.get(0).get(Snapshot.CONFIG_FORMAT)).isEqualTo(format ? true : null);
            assertThat(seen.get(0)).doesNotContainKey(Snapshot.CONFIG_COW_STORE_ID);
            assertThat(runtime.configurations).as("nothing left behind").isEmpty();
            assertThat(sha256(cow)).isEqualTo(before);
        }
        assertThat(out.toString()).isEmpty();
    }

    /** As the daemon's thin client says it: an empty list is one line saying so, not nothing. */
    @Test
    void anEmptyListSaysThereAreNoSnapshots() {
        assertThat(run("snapshot", "list")).isZero();
        assertThat(out.toString()).isEqualTo("no snapshots" + System.lineSeparator());
    }

    @Test
    void theOriginIsNeverItsOwnCowStore() throws Exception {
        Path origin = Files.write(dir.resolve("a.img"), new byte[4096]);
        Path link = Files.createSymbolicLink(dir.resolve("link-a.img"), origin);

        for (Path cow : new Path[] {origin, link}) {
            err.getBuffer().setLength(0);
            assertThat(run("snapshot", "create", "s1", origin.toString(), cow.toString(), "--format"))
                    .isEqualTo(Exit.USAGE);
            assertThat(err.toString()).contains("COW store " + cow + " is the origin " + origin + " itself");
        }
        assertThat(runtime.configurations).isEmpty();
    }

    @Test
    void aCowStoreInUseIsRefusedNamingItsHolder() throws Exception {
        Path cow = Files.write(dir.resolve("s1.cow"), new byte[4096]);
        Files.write(dir.resolve("b.img"), new byte[4096]);

        try (FileClaim held = FileClaims.claim(cow, "the COW store of snapshot s1")) {
            assertThat(run("snapshot", "create", "s2", path("b.img"), cow.toString(), "--format"))
                    .isEqualTo(Exit.FAILED);
        }

        assertThat(err.toString()).contains(cow + " is the COW store of snapshot s1");
        assertThat(runtime.configurations).isEmpty();
    }

    @Test
    void aMissingStoreNamedByItsIdentityIsNotCreated() throws Exception {
        Files.write(dir.resolve("a.img"), new byte[4096]);
        assertThat(run("snapshot", "create", "s1", path("a.img"), path("gone.cow"), "--cow-store-id",
                "123e4567-e89b-12d3-a456-426614174000")).isEqualTo(Exit.USAGE);

        assertThat(err.toString()).contains("COW store " + path("gone.cow") + " does not exist");
        assertThat(dir.resolve("gone.cow")).doesNotExist();
        assertThat(runtime.configurations).isEmpty();
    }

    @Test
    void anActivationThatFailsAfterDsReportedTheComponentSatisfiedIsReportedAndLeavesNothing() throws Exception {
        Files.write(dir.resolve("a.img"), new byte[4096]);
        var description = FakeRuntime.description(Snapshot.FACTORY_PID, Snapshot.FACTORY_PID);
        runtime.descriptions.add(description);
        java.util.concurrent.atomic.AtomicInteger looks = new java.util.concurrent.atomic.AtomicInteger();
        // What DS shows of an immediate component: satisfied, then its activation has failed.
        runtime.ds = p -> looks.incrementAndGet() == 1
                ? FakeRuntime.component(description, Map.copyOf(p), ComponentConfigurationDTO.SATISFIED, null)
                : FakeRuntime.component(description, Map.copyOf(p), ComponentConfigurationDTO.FAILED_ACTIVATION,
                        "java.io.IOException: snapshot 's1': cannot create its COW store s1.cow: permission denied"
                        + "\n\tat x.y(Z.java:1)\n");
        long start = System.nanoTime();

        assertThat(run("snapshot", "create", "s1", path("a.img"), path("s1.cow"))).isEqualTo(Exit.FAILED);

        assertThat(err.toString()).isEqualTo("kcopyd snapshot: snapshot 's1' not created: snapshot 's1': cannot create "
                + "its COW store s1.cow: permission denied" + System.lineSeparator());
        assertThat(runtime.configurations).as("nothing left behind").isEmpty();
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - start)).isLessThan(java.time.Duration.ofSeconds(5));
    }

    @Test
    void theConfigurationCarriesTheIdentityOrFormatAndARefusalLeavesNothing() throws Exception {
        Files.write(dir.resolve("a.img"), new byte[4096]);
        Path cow = Files.write(dir.resolve("s1.cow"), new byte[4096]);
        List<Hashtable<String, Object>> seen = new ArrayList<>();
        var description = FakeRuntime.description(Snapshot.FACTORY_PID, Snapshot.FACTORY_PID);
        runtime.descriptions.add(description);
        runtime.ds = p -> {
            seen.add(new Hashtable<>(p));
            return FakeRuntime.component(description, Map.copyOf(p), ComponentConfigurationDTO.FAILED_ACTIVATION,
                    "java.lang.IllegalArgumentException: snapshot 's1': " + cow + " is not its COW store\n\tat "
                    + "x.y(Z.java:1)\n");
        };

        assertThat(run("snapshot", "create", "s1", path("a.img"), cow.toString(), "--cow-store-id",
                "123e4567-e89b-12d3-a456-426614174000", "--chunk-sectors", "32")).isEqualTo(Exit.USAGE);
        assertThat(run("snapshot", "create", "s1", path("a.img"), cow.toString(), "--format")).isEqualTo(Exit.USAGE);

        assertThat(seen.get(0)).containsEntry(Snapshot.CONFIG_NAME, "s1")
                .containsEntry(Snapshot.CONFIG_ORIGIN, path("a.img"))
                .containsEntry(Snapshot.CONFIG_COW_STORE, cow.toString())
                .containsEntry(Snapshot.CONFIG_CHUNK_SECTORS, 32)
                .containsEntry(Snapshot.CONFIG_COW_STORE_ID, "123e4567-e89b-12d3-a456-426614174000")
                .containsEntry(Snapshot.CONFIG_CREATING, FakeRuntime.FRAMEWORK)
                .doesNotContainKey(Snapshot.CONFIG_FORMAT);
        assertThat(seen.get(1)).containsEntry(Snapshot.CONFIG_FORMAT, true)
                .doesNotContainKey(Snapshot.CONFIG_COW_STORE_ID);
        assertThat(err.toString()).startsWith("kcopyd snapshot: snapshot 's1' not created: snapshot 's1': " + cow
                + " is not its COW store" + System.lineSeparator());
        assertThat(runtime.configurations).as("nothing left behind").isEmpty();
    }

    /**
     * An origin starting SCHEME:// is a device URI: no file is examined, the URI reaches the
     * configuration as given, and the component's refusal (it cannot open the export) is shown
     * with exit code 1, leaving nothing; a malformed URI is exit 2 before any configuration.
     */
    @Test
    void anOriginNamedByUriReachesTheConfigurationAndTheComponentOpensIt() throws Exception {
        String uri = "nbd+unix:///disk?socket=/run/a.sock";
        List<Hashtable<String, Object>> seen = new ArrayList<>();
        var description = FakeRuntime.description(Snapshot.FACTORY_PID, Snapshot.FACTORY_PID);
        runtime.descriptions.add(description);
        runtime.ds = p -> {
            seen.add(new Hashtable<>(p));
            return FakeRuntime.component(description, Map.copyOf(p), ComponentConfigurationDTO.FAILED_ACTIVATION,
                    "java.io.IOException: snapshot 's1': cannot open its origin " + uri + ": cannot open the export: "
                    + "No such file or directory\n\tat x.y(Z.java:1)\n");
        };

        assertThat(run("snapshot", "create", "s1", uri, path("s1.cow"))).isEqualTo(Exit.FAILED);

        assertThat(seen.get(0)).containsEntry(Snapshot.CONFIG_ORIGIN, uri)
                .containsEntry(Snapshot.CONFIG_COW_STORE, path("s1.cow"));
        assertThat(err.toString()).startsWith("kcopyd snapshot: snapshot 's1' not created: snapshot 's1': cannot open "
                + "its origin " + uri + ": cannot open the export: No such file or directory" + System.lineSeparator());
        assertThat(runtime.configurations).as("nothing left behind").isEmpty();
        assertThat(dir.resolve("s1.cow")).doesNotExist();

        err.getBuffer().setLength(0);
        assertThat(run("snapshot", "create", "s1", "nbd://a host/disk", path("s1.cow"))).isEqualTo(Exit.USAGE);
        assertThat(err.toString()).startsWith("kcopyd snapshot: origin 'nbd://a host/disk' is not a valid URI: ");
        assertThat(seen).hasSize(1);
    }

    /**
     * --origin-id reaches the configuration as the user's confirmation of the origin; the
     * component decides (it must be the origin's identity now) and its refusal is shown as it is.
     */
    @Test
    void theOriginsIdentityReachesTheConfigurationOnlyWhenGiven() throws Exception {
        Files.write(dir.resolve("a.img"), new byte[4096]);
        Path cow = Files.write(dir.resolve("s1.cow"), new byte[4096]);
        String refusal = "snapshot 's1': originId file:dev=8:1:ino=99 is not the identity of its origin "
                + path("a.img") + ", which is file:dev=8:1:ino=12";
        List<Hashtable<String, Object>> seen = new ArrayList<>();
        var description = FakeRuntime.description(Snapshot.FACTORY_PID, Snapshot.FACTORY_PID);
        runtime.descriptions.add(description);
        runtime.ds = p -> {
            seen.add(new Hashtable<>(p));
            return FakeRuntime.component(description, Map.copyOf(p), ComponentConfigurationDTO.FAILED_ACTIVATION,
                    "java.lang.IllegalArgumentException: " + refusal + "\n\tat x.y(Z.java:1)\n");
        };
        String id = "123e4567-e89b-12d3-a456-426614174000";

        assertThat(run("snapshot", "create", "s1", path("a.img"), cow.toString(), "--cow-store-id", id,
                "--origin-id", "file:dev=8:1:ino=99")).isEqualTo(Exit.USAGE);
        assertThat(run("snapshot", "create", "s1", path("a.img"), cow.toString(), "--cow-store-id", id))
                .isEqualTo(Exit.USAGE);

        assertThat(seen.get(0)).containsEntry(Snapshot.CONFIG_ORIGIN_ID, "file:dev=8:1:ino=99")
                .containsEntry(Snapshot.CONFIG_COW_STORE_ID, id);
        assertThat(seen.get(1)).doesNotContainKey(Snapshot.CONFIG_ORIGIN_ID);
        assertThat(err.toString()).startsWith("kcopyd snapshot: snapshot 's1' not created: " + refusal
                + System.lineSeparator());
        assertThat(runtime.configurations).as("nothing left behind").isEmpty();

        err.getBuffer().setLength(0);
        assertThat(run("snapshot", "create", "s1", path("a.img"), cow.toString(), "--origin-id", " "))
                .isEqualTo(Exit.USAGE);
        assertThat(err.toString()).isEqualTo("kcopyd snapshot: --origin-id is empty: give the origin's identity as a "
                + "refusal printed it" + System.lineSeparator());
        assertThat(seen).hasSize(2);
    }

    /**
     * An identity reopens a store and --format makes a new one: together on a new path they made a
     * second store carrying an existing store's identity. One line, exit 2, nothing made.
     */
    @Test
    void cowStoreIdAndFormatExcludeEachOther() throws Exception {
        Files.write(dir.resolve("a.img"), new byte[4096]);
        Path existing = Files.write(dir.resolve("s1.cow"), new byte[4096]);
        String before = sha256(existing);

        for (Path cow : new Path[] {dir.resolve("new.cow"), existing}) {
            err.getBuffer().setLength(0);
            assertThat(run("snapshot", "create", "s2", path("a.img"), cow.toString(), "--cow-store-id",
                    "123e4567-e89b-12d3-a456-426614174000", "--format")).isEqualTo(Exit.USAGE);

            assertThat(err.toString().lines()).as(err.toString()).hasSize(1).first().asString()
                    .contains("--cow-store-id").contains("--format").contains("mutually exclusive");
        }
        assertThat(dir.resolve("new.cow")).doesNotExist();
        assertThat(sha256(existing)).isEqualTo(before);
        assertThat(runtime.configurations).isEmpty();
        assertThat(out.toString()).isEmpty();
    }

    /** A store named by its identity is reported "reopened" whatever it holds (it used to be "taken" when empty). */
    @Test
    void aStoreReopenedByItsIdentityIsSaidToBeReopened() throws Exception {
        Files.write(dir.resolve("a.img"), new byte[4096]);
        Path cow = Files.write(dir.resolve("s1.cow"), new byte[4096]);
        UUID id = UUID.fromString("123e4567-e89b-12d3-a456-426614174000");
        var description = FakeRuntime.description(Snapshot.FACTORY_PID, Snapshot.FACTORY_PID);
        runtime.descriptions.add(description);
        runtime.ds = p -> {
            runtime.snapshotServices.put("s1", snapshot("s1", id, 0));
            return FakeRuntime.component(description, Map.copyOf(p), ComponentConfigurationDTO.ACTIVE, null);
        };

        assertThat(run("snapshot", "create", "s1", path("a.img"), cow.toString(), "--cow-store-id", id.toString()))
                .as(err.toString()).isZero();

        assertThat(out.toString()).isEqualTo("snapshot s1 of " + path("a.img") + " reopened (COW store " + cow + ", id "
                + id + ", 100 chunks of 16 sectors)" + System.lineSeparator());
    }

    /** As for copy: a directory, FIFO or character device is a bad argument (exit 2), not a failure to run. */
    @Test
    void aFileOfTheWrongKindAsOriginOrCowStoreIsExit2() throws Exception {
        Path origin = Files.write(dir.resolve("a.img"), new byte[4096]);
        Path directory = Files.createDirectory(dir.resolve("dir"));
        Path fifo = fifo(dir.resolve("fifo"));
        for (Path bad : new Path[] {directory, fifo, Path.of("/dev/zero")}) {
            err.getBuffer().setLength(0);
            assertThat(run("snapshot", "create", "s1", bad.toString(), path("new.cow"))).as(bad.toString())
                    .isEqualTo(Exit.USAGE);
            assertThat(err.toString()).startsWith("kcopyd snapshot: origin " + bad + " is ");
            err.getBuffer().setLength(0);
            assertThat(run("snapshot", "create", "s1", origin.toString(), bad.toString(), "--format"))
                    .as(bad.toString()).isEqualTo(Exit.USAGE);
            assertThat(err.toString()).startsWith("kcopyd snapshot: COW store " + bad + " is ");
            assertThat(err.toString().lines()).hasSize(1);
        }
        assertThat(dir.resolve("new.cow")).doesNotExist();
        assertThat(runtime.configurations).isEmpty();
    }

    /** Where the file system's largest file is known (ext4 here), a larger new store is refused naming both. */
    @Test
    void aNewStoreLargerThanItsFileSystemHoldsIsRefusedNamingTheFileAndTheLimit() throws Exception {
        Files.write(dir.resolve("a.img"), new byte[4096]);
        java.nio.file.FileStore store = Files.getFileStore(dir);
        assumeTrue(store.type().equals("ext4"), "the largest file of " + dir + "'s file system (" + store.type()
                + ") is not known to kcopyd");
        long limit = ((1L << 32) - 1) * store.getBlockSize();
        assumeTrue(limit >> 20 < 16_777_216, "the file system of " + dir + " holds files as large as the largest COW "
                + "store");
        long tooMany = (limit >> 20) + 1;

        assertThat(run("snapshot", "create", "s1", path("a.img"), path("s1.cow"), "--size-mib", String.valueOf(tooMany)))
                .isEqualTo(Exit.USAGE);

        assertThat(err.toString()).isEqualTo("kcopyd snapshot: --size-mib " + tooMany + " is too large for COW store "
                + path("s1.cow") + ": its file system (ext4) holds files of at most " + limit + " bytes, --size-mib "
                + (limit >> 20) + System.lineSeparator());
        assertThat(dir.resolve("s1.cow")).doesNotExist();
        assertThat(runtime.configurations).isEmpty();
    }

    /** The JDK's bare "File too large" from the component is said with the file and its size. */
    @Test
    void aFileSystemRefusingTheStoresSizeIsReportedWithTheFileAndTheSize() throws Exception {
        Files.write(dir.resolve("a.img"), new byte[4096]);
        var description = FakeRuntime.description(Snapshot.FACTORY_PID, Snapshot.FACTORY_PID);
        runtime.descriptions.add(description);
        runtime.ds = p -> FakeRuntime.component(description, Map.copyOf(p), ComponentConfigurationDTO.FAILED_ACTIVATION,
                "java.io.IOException: File too large\n\tat x.y(Z.java:1)\n");

        assertThat(run("snapshot", "create", "s1", path("a.img"), path("s1.cow"), "--size-mib", "2048"))
                .isEqualTo(Exit.FAILED);

        assertThat(err.toString()).isEqualTo("kcopyd snapshot: snapshot 's1' not created: cannot create COW store "
                + path("s1.cow") + " of 2048 MiB (2147483648 bytes): the file is too large for its file system ("
                + Files.getFileStore(dir).type() + "); choose a smaller --size-mib" + System.lineSeparator());
        assertThat(runtime.configurations).isEmpty();
    }

    /** The configuration of snapshot s1, as snapshot create makes it, and its active service (12 chunks used). */
    private void activeSnapshot(java.util.function.Supplier<java.util.concurrent.CompletionStage<Void>> merge,
            java.util.concurrent.atomic.AtomicLong chunksUsed) {
        runtime.addConfiguration(Snapshot.FACTORY_PID + "~s1", Snapshot.FACTORY_PID, Map.of(Snapshot.CONFIG_NAME, "s1",
                Snapshot.CONFIG_ORIGIN, path("a.img"), Snapshot.CONFIG_COW_STORE, path("s1.cow")));
        Snapshot plain = snapshot("s1", UUID.fromString("123e4567-e89b-12d3-a456-426614174000"), 0);
        runtime.snapshotServices.put("s1", (Snapshot) Proxy.newProxyInstance(Snapshot.class.getClassLoader(),
                new Class<?>[] {Snapshot.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "merge" -> merge.get();
                    case "chunksUsed" -> chunksUsed.get();
                    default -> method.invoke(plain, args);
                }));
    }

    /**
     * One semantics with the daemon's API: merge goes through the control's merge job, waits for
     * it, and the snapshot is removed when it completes (its COW store stays); no fresh empty
     * snapshot is left.
     */
    @Test
    void mergeRunsTheControlsMergeJobAndTheSnapshotIsRemovedWhenItCompletes() {
        java.util.concurrent.atomic.AtomicInteger merges = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicLong chunks = new java.util.concurrent.atomic.AtomicLong(12);
        activeSnapshot(() -> {
            merges.incrementAndGet();
            chunks.set(0);
            return java.util.concurrent.CompletableFuture.completedFuture(null);
        }, chunks);

        assertThat(run("snapshot", "merge", "s1")).as(err.toString()).isZero();

        assertThat(merges).as("the snapshot merged once").hasValue(1);
        assertThat(out.toString()).isEqualTo("snapshot s1 merged into its origin (12 chunks) and removed; its COW store "
                + path("s1.cow") + " stays" + System.lineSeparator());
        assertThat(err.toString()).isEmpty();
        assertThat(runtime.configurations).as("the merged snapshot's configuration is removed").isEmpty();
        assertThat(runtime.deleted).containsExactly(Snapshot.FACTORY_PID + "~s1");
        assertThat(runtime.control().jobs()).singleElement().satisfies(j -> {
            assertThat(j.kind()).isEqualTo("merge");
            assertThat(j.state()).isEqualTo("completed");
        });
    }

    /** A merge that fails is exit 1 with the job's reason, and the snapshot is kept. */
    @Test
    void aFailedMergeIsExit1WithTheJobsReasonAndKeepsTheSnapshot() {
        java.util.concurrent.atomic.AtomicLong chunks = new java.util.concurrent.atomic.AtomicLong(12);
        activeSnapshot(() -> java.util.concurrent.CompletableFuture.failedFuture(
                new java.io.IOException("read error at sector 64 of " + path("s1.cow"))), chunks);

        assertThat(run("snapshot", "merge", "s1")).isEqualTo(Exit.FAILED);

        assertThat(err.toString()).isEqualTo("kcopyd snapshot: merging snapshot s1 failed: read error at sector 64 of "
                + path("s1.cow") + System.lineSeparator());
        assertThat(out.toString()).isEmpty();
        assertThat(runtime.configurations).containsOnlyKeys(Snapshot.FACTORY_PID + "~s1");
        assertThat(runtime.deleted).isEmpty();
    }

    /**
     * Ctrl-C in the shell interrupts the command's thread while it waits: it stops waiting (exit
     * 130, one line naming the job), the merge goes on.
     */
    @Test
    void anInterruptStopsTheWaitingNotTheMerge() {
        java.util.concurrent.CompletableFuture<Void> merged = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.atomic.AtomicLong chunks = new java.util.concurrent.atomic.AtomicLong(12);
        activeSnapshot(() -> {
            // Ctrl-C arrives once the merge has started.
            Thread.currentThread().interrupt();
            return merged;
        }, chunks);
        int exit;
        try {
            exit = run("snapshot", "merge", "s1");
        } finally {
            assertThat(Thread.interrupted()).as("the interrupt is kept for the shell").isTrue();
        }

        assertThat(exit).isEqualTo(Exit.INTERRUPTED);
        String id = runtime.control().jobs().get(0).id();
        assertThat(err.toString()).isEqualTo("kcopyd snapshot: stopped waiting; merge job " + id + " of snapshot s1 "
                + "goes on, and the snapshot is removed when it completes (snapshot list shows it merging until then)"
                + System.lineSeparator());
        assertThat(runtime.control().job(id).state()).as("the merge goes on").isEqualTo("running");
        assertThat(runtime.configurations).containsOnlyKeys(Snapshot.FACTORY_PID + "~s1");

        merged.complete(null);
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
                runtime.control().job(id).state()).isEqualTo("completed"));
        assertThat(runtime.configurations).as("removed when the merge completed").isEmpty();
    }

    static Path fifo(Path path) throws Exception {
        Process mkfifo = new ProcessBuilder("mkfifo", path.toString()).start();
        assertThat(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0).as("mkfifo").isTrue();
        return path;
    }

    private static Snapshot snapshot(String name, UUID id, long chunksUsed) {
        return (Snapshot) Proxy.newProxyInstance(Snapshot.class.getClassLoader(), new Class<?>[] {Snapshot.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "name" -> name;
                    case "cowStoreId" -> id;
                    case "chunksUsed" -> chunksUsed;
                    case "chunksCapacity" -> 100L;
                    case "chunkSectors" -> 16;
                    case "state" -> org.kcopyd.snapshot.SnapshotState.ACTIVE;
                    case "invalidReason" -> Optional.empty();
                    case "toString" -> "snapshot " + name;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }
}
