package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.kcopyd.snapshot.internal.SnapshotFixture.assertSameBytes;
import static org.kcopyd.snapshot.internal.SnapshotFixture.pattern;
import static org.kcopyd.snapshot.internal.SnapshotFixture.read;
import static org.kcopyd.snapshot.internal.SnapshotFixture.sha256;
import static org.kcopyd.snapshot.internal.SnapshotFixture.write;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.snapshot.Snapshot;
import org.kcopyd.testdevices.LogCapture;
import org.kcopyd.testdevices.LosableDevice;
import org.kcopyd.testdevices.MemoryUriProvider;
import org.kcopyd.testdevices.TrackingOpener;
import org.kcopyd.testdevices.UnreachableServerOpener;

/**
 * An existing snapshot (its configuration names its COW store's identity) whose origin named by
 * URI cannot be reached when the component activates, as after a daemon restart with its NBD
 * server down: the component activates all the same, logs a warning naming the snapshot, the
 * origin and the cause, touches nothing, and opens the snapshot by itself once the origin can be
 * opened, with the data it had; the retries stop at deactivation and at the opener's unbinding. A
 * new snapshot of an unreachable origin, or a configuration naming a store that is not there, is
 * still refused at once. The retries start after 10 ms here (1 s in service), through the
 * component's package-private constructor.
 */
class SnapshotOriginRetryTest {

    private static final int SECTORS = 8192;
    private static final String PID = "org.kcopyd.snapshot~retry";
    private static final Duration FIRST = Duration.ofMillis(10);
    private static final Duration MAX = Duration.ofMillis(40);
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** The attempts, as the not-open status says them after the cause while the origin is retried. */
    private static final String ATTEMPTS = "\\(attempt [0-9]+ (under way|failed; next attempt in [0-9]+ ms)\\)$";

    @TempDir
    Path dir;
    private final SnapshotFixture fixture = new SnapshotFixture();
    private final FakeFramework framework = new FakeFramework();
    private final MemoryUriProvider provider = new MemoryUriProvider();
    private final List<SnapshotComponent> active = new ArrayList<>();
    /** What the component logs, once a test starts capturing it; closed after each test. */
    private LogCapture log;
    private Origins origins;
    private byte[] initial;

    @BeforeEach
    void setUp() {
        initial = pattern(SECTORS * 512, 1);
        provider.add("disk", initial);
        origins = fixture.origins(framework);
        log = LogCapture.of(SnapshotComponent.class);
    }

    @AfterEach
    void tearDown() {
        active.forEach(SnapshotComponent::deactivate);
        if (log != null) {
            log.close();
        }
        fixture.close();
    }

    private Map<String, Object> config(String name) {
        Map<String, Object> props = new HashMap<>();
        props.put(Snapshot.CONFIG_NAME, name);
        props.put(Snapshot.CONFIG_ORIGIN, "mem://disk");
        props.put(Snapshot.CONFIG_COW_STORE, dir.resolve(name + ".cow").toString());
        props.put(Snapshot.CONFIG_COW_STORE_SIZE_MIB, 8);
        props.put(Snapshot.CONFIG_CHUNK_SECTORS, 16);
        return props;
    }

    /**
     * A component as DS makes one, retrying after {@link #FIRST}; the opener, if any, bound before
     * activation; a new snapshot is open or refused when it returns.
     */
    private SnapshotComponent activate(Map<String, Object> props, BlockDeviceOpener opener) throws Exception {
        SnapshotComponent c = activate(PID, props, opener);
        // A new snapshot is made on the retry thread: open, or refused, once its status no longer says it is made.
        framework.awaitCreated(Snapshot.NOT_OPEN, (String) props.get(Snapshot.CONFIG_NAME), Snapshot.NOT_OPEN_CREATING);
        return c;
    }

    /** As DS activates a component of configuration {@code pid}: returns when the activation does. */
    private SnapshotComponent activate(String pid, Map<String, Object> props, BlockDeviceOpener opener)
            throws IOException {
        SnapshotComponent c = new SnapshotComponent(FIRST, MAX);
        c.origins = origins;
        c.configurationAdmin = framework.configurationAdmin();
        if (opener != null) {
            c.bindOpener(opener);
        }
        c.activate(framework.context(), FakeFramework.annotation(SnapshotConfiguration.class, props),
                framework.configure(pid, props));
        active.add(c);
        return c;
    }

    private void deactivate(SnapshotComponent c) {
        c.deactivate();
        active.remove(c);
    }

    private Snapshot snapshot() {
        List<Object> found = framework.registered.stream().filter(r -> r.type() == Snapshot.class)
                .map(FakeFramework.Registered::service).toList();
        assertThat(found).as("one snapshot service").hasSize(1);
        return (Snapshot) found.get(0);
    }

    private BlockDevice originDevice() {
        return (BlockDevice) framework.registered.stream()
                .filter(r -> Snapshot.ROLE_ORIGIN.equals(r.properties().get(BlockDevice.ROLE))).findFirst()
                .orElseThrow().service();
    }

    private boolean retryThreadAlive() {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.isAlive() && t.getName().equals("kcopyd snapshot 's1' origin retry"));
    }

    /**
     * Makes snapshot s1 of mem://disk, writes chunk 1 of the origin through its origin device (so
     * that the COW store holds the chunk as it was) and closes it, as a daemon's stop does.
     *
     * @return its configuration as written back: with its COW store's identity
     */
    private Map<String, Object> existingSnapshot(byte[] written) throws Exception {
        SnapshotComponent first = activate(config("s1"), new TrackingOpener(provider.opener()));
        write(originDevice(), 16, written);
        assertThat(snapshot().chunksUsed()).as("chunk 1 copied to the COW store").isEqualTo(1);
        deactivate(first);
        Map<String, Object> recorded = new HashMap<>(framework.configurations.get(PID));
        assertThat(recorded).containsKey(Snapshot.CONFIG_COW_STORE_ID);
        return recorded;
    }

    @ParameterizedTest(name = "format={0}")
    @ValueSource(booleans = {false, true})
    void anExistingSnapshotWhoseOriginCannotBeReachedOpensByItselfOnceItCan(boolean format) throws Exception {
        byte[] written = pattern(16 * 512, 2);
        Map<String, Object> props = existingSnapshot(written);
        // A configuration file keeps format=true after the store is made: harmless, and still an existing snapshot.
        props.put(Snapshot.CONFIG_FORMAT, format);
        Path cow = dir.resolve("s1.cow");
        String cowBefore = sha256(cow);
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));

        activate(props, server);

        assertThat(framework.registered).as("not open while its origin cannot be reached").isEmpty();
        await().atMost(WAIT).untilAsserted(() -> assertThat(log.records())
                .as("a warning naming the snapshot, its origin and the cause").anySatisfy(r -> {
                    assertThat(r.getLevel()).isEqualTo(Level.WARNING);
                    assertThat(r.getMessage()).contains("snapshot 's1'", "mem://disk", "Connection refused");
                }));
        assertThat(framework.notOpenProperty(Snapshot.NOT_OPEN, "s1", Snapshot.NOT_OPEN_REFUSED))
                .as("retried, not refused").isNull();
        assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1")).as("its not-open status: the cause, and the attempts")
                .contains("mem://disk", "Connection refused").containsPattern(ATTEMPTS);
        await().atMost(WAIT).until(() -> server.opens() >= 4);
        assertThat(framework.registered).as("still waiting").isEmpty();
        assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1")).as("its status counts the attempts")
                .contains("Connection refused").containsPattern(ATTEMPTS).doesNotContain("(attempt 1 ");
        assertThat(sha256(cow)).as("the COW store untouched while waiting").isEqualTo(cowBefore);
        assertThat(retryThreadAlive()).isTrue();

        server.reachable(true);
        await().atMost(WAIT).until(() -> !framework.registered.isEmpty());
        assertThat(framework.statuses).as("no not-open status once open").isEmpty();
        Snapshot s1 = snapshot();
        assertThat(s1.cowStoreId().toString()).as("the same store, adopted")
                .isEqualTo(props.get(Snapshot.CONFIG_COW_STORE_ID));
        assertThat(s1.chunksUsed()).isEqualTo(1);
        byte[] chunk = new byte[16 * 512];
        System.arraycopy(read(s1.device()), 16 * 512, chunk, 0, chunk.length);
        byte[] before = new byte[16 * 512];
        System.arraycopy(initial, 16 * 512, before, 0, before.length);
        assertSameBytes(chunk, before, "chunk 1, copied before the restart, read through the snapshot");
        assertSameBytes(read(s1.device()), initial, "the whole snapshot");
        byte[] now = initial.clone();
        System.arraycopy(written, 0, now, 16 * 512, written.length);
        assertSameBytes(read(originDevice()), now, "the origin");
        await().atMost(WAIT).until(() -> !retryThreadAlive());
        int opens = server.opens();
        await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> server.opens() == opens);
    }

    /**
     * A new snapshot of an origin that cannot be reached is refused at its first attempt, not
     * retried: its activation returns (the attempt is made on a thread of its own), and its status
     * says the refusal and the exception's class, as a failed activation said them before.
     */
    @Test
    void aNewSnapshotWhoseOriginCannotBeReachedIsRefusedAtItsFirstAttempt() throws Exception {
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));

        activate(config("s1"), server);

        assertRefused("snapshot 's1': cannot open its origin mem://disk: cannot connect to mem://disk: "
                + "Connection refused", "java.io.IOException");
        assertThat(dir.resolve("s1.cow")).doesNotExist();
        await().atMost(WAIT).until(() -> !retryThreadAlive());
        assertThat(server.opens()).as("one attempt").isEqualTo(1);
        assertThat(framework.registered).isEmpty();
    }

    /**
     * H39 finding 5: a new snapshot whose server accepts and never answers held its activation,
     * and with it Config Admin's event thread (every other creation, change and removal) for the
     * opener's 60 s. Its activation now returns at once, its status says it is being made, another
     * snapshot is made meanwhile, and deactivating it returns and gives its connection up at
     * once (it held the export's claim until the opener's timeout: H41); nothing is made for it.
     */
    @Test
    void aNewSnapshotOfAServerThatNeverAnswersHoldsUpNoOtherSnapshot() throws Exception {
        TrackingOpener tracking = new TrackingOpener(provider.opener());
        UnreachableServerOpener server = new UnreachableServerOpener(tracking);
        server.reachable(true);
        server.silent(true);
        try {
            SnapshotComponent c = CompletableFuture.supplyAsync(() -> activateUnchecked(PID, config("s1"), server))
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS);
            await().atMost(WAIT).until(() -> server.waiting() == 1);
            assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1")).as("while the connection waits")
                    .isEqualTo("opening: its origin mem://disk is being connected to (attempt 1 under way)");
            assertThat(framework.notOpenProperty(Snapshot.NOT_OPEN, "s1", Snapshot.NOT_OPEN_CREATING)).isEqualTo(true);
            assertThat(framework.notOpenProperty(Snapshot.NOT_OPEN, "s1", Snapshot.NOT_OPEN_REFUSED)).isNull();

            Map<String, Object> other = config("s2");
            other.put(Snapshot.CONFIG_ORIGIN, java.nio.file.Files.write(dir.resolve("o.img"), initial).toString());
            CompletableFuture.supplyAsync(() -> activateUnchecked(PID + "2", other, server))
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(framework.services(Snapshot.NAME, "s2")).as("s2 made while s1 waits")
                    .anyMatch(Snapshot.class::isInstance);

            CompletableFuture.runAsync(() -> deactivate(c)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            // The attempt's connection is given up with it (H41: it held the export's claim for the opener's 60 s).
            await().atMost(WAIT).until(() -> server.waiting() == 0);
            assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1")).isNull();
        } finally {
            server.silent(false);
        }
        await().atMost(WAIT).until(() -> !retryThreadAlive());
        assertThat(framework.services(Snapshot.NAME, "s1")).as("nothing opened after the deactivation").isEmpty();
        assertThat(dir.resolve("s1.cow")).as("no store made").doesNotExist();
        assertThat(tracking.openDevices()).as("no connection left open").isZero();
    }

    private SnapshotComponent activateUnchecked(String pid, Map<String, Object> props, BlockDeviceOpener opener) {
        try {
            return activate(pid, props, opener);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * H40 finding 4: an open snapshot whose origin export is lost (its server restarted): origin
     * writes and reads of uncopied chunks failed for good while the snapshot said it was open. It
     * is now closed when its origin's device reports the loss, waits while the server cannot be
     * reached, and is adopted again, with its COW store and its data, once the export is served
     * again; origin writes work again.
     */
    @Test
    void aSnapshotWhoseOriginIsLostClosesAndIsOpenedAgainOnceTheExportIsBack() throws Exception {
        BlockDevice disk = disk();
        LosableDevice first = new LosableDevice(disk);
        provider.put("disk", first);
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));
        server.reachable(true);
        activate(config("s1"), server);
        byte[] written = pattern(16 * 512, 13);
        write(originDevice(), 16, written);
        String id = snapshot().cowStoreId().toString();
        log = LogCapture.of(SnapshotComponent.class);

        server.reachable(false);
        first.lose(new IOException("connection nbd+unix:///?socket=/run/a.sock lost: the server closed it"));

        await().atMost(WAIT).until(() -> framework.registered.isEmpty());
        await().atMost(WAIT).until(() -> String.valueOf(framework.notOpen(Snapshot.NOT_OPEN, "s1")).contains("failed;"));
        assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1")).contains("Connection refused").containsPattern(ATTEMPTS);
        assertThat(framework.notOpenProperty(Snapshot.NOT_OPEN, "s1", Snapshot.NOT_OPEN_REFUSED)).isNull();
        assertThat(log.records()).anySatisfy(r -> assertThat(r.getMessage())
                .contains("snapshot 's1': its origin mem://disk was lost (connection ", "the snapshot is closed"));

        provider.put("disk", new LosableDevice(disk));
        server.reachable(true);
        await().atMost(WAIT).until(() -> !framework.registered.isEmpty());
        Snapshot again = snapshot();
        assertThat(again.cowStoreId().toString()).as("its COW store, adopted again").isEqualTo(id);
        assertSameBytes(read(again.device()), initial, "the snapshot, as before the loss");
        byte[] more = pattern(16 * 512, 14);
        write(originDevice(), 64, more);
        assertSameBytes(read(again.device()), initial, "the snapshot, after an origin write since");
        assertThat(again.chunksUsed()).isEqualTo(2);
    }

    /**
     * The export comes back after the loss with another disk of the same size: the snapshot is
     * refused as at a start (its view samples are not what the origin shows), nothing is written
     * to that disk, and the status says why.
     */
    @Test
    void aSnapshotWhoseOriginComesBackAsAnotherDiskAfterALossIsRefused() throws Exception {
        LosableDevice first = new LosableDevice(disk());
        provider.put("disk", first);
        activate(config("s1"), new TrackingOpener(provider.opener()));
        write(originDevice(), 16, pattern(16 * 512, 15));

        byte[] other = pattern(SECTORS * 512, 16);
        org.kcopyd.device.MemoryBlockDevice otherDisk = new org.kcopyd.device.MemoryBlockDevice("mem://disk", SECTORS);
        write(otherDisk, 0, other);
        provider.put("disk", otherDisk);
        first.lose(new IOException("connection lost: the server closed it"));

        await().atMost(WAIT).until(() -> framework.registered.isEmpty()
                && framework.notOpen(Snapshot.NOT_OPEN, "s1") != null
                && framework.notOpenProperty(Snapshot.NOT_OPEN, "s1", Snapshot.NOT_OPEN_REFUSED) != null);
        assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1")).contains("does not give the snapshot its content");
        assertSameBytes(read(otherDisk), other, "the other disk, untouched");
    }

    /**
     * H41: a new snapshot whose origin answers but fails some reads (nbdkit's error filter at 5 %)
     * was refused after its COW store was made, and the 1 GiB store was left behind (the same
     * create was then refused for it, exit 2, until the user deleted it); the refusal said the raw
     * read error. The store is deleted again and the refusal names the snapshot and its origin.
     */
    @Test
    void aNewSnapshotRefusedAfterItsStoreWasMadeLeavesNoStore() throws Exception {
        provider.put("disk", new org.kcopyd.testdevices.ForwardingDevice(disk()) {
            @Override
            public java.util.concurrent.CompletionStage<Void> read(long sector, java.nio.ByteBuffer dst) {
                // Its first sectors read (where a kcopyd header would be), the places sampled further on fail.
                return sector >= 128 ? CompletableFuture.failedFuture(new IOException("READ failed: EIO (5)"))
                        : super.read(sector, dst);
            }
        });

        activate(config("s1"), new TrackingOpener(provider.opener()));

        assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1")).startsWith("snapshot 's1': its origin mem://disk cannot "
                + "be read").contains("EIO").contains("(refused: ");
        assertThat(dir.resolve("s1.cow")).as("the store made for it, deleted again").doesNotExist();

        // H42: a file given to be formatted was formatted, then the snapshot refused: the origin is read first.
        byte[] users = pattern(1 << 20, 21);
        java.nio.file.Files.write(dir.resolve("s2.cow"), users);
        Map<String, Object> format = config("s2");
        format.put(Snapshot.CONFIG_FORMAT, true);
        activate(PID + "2", format, new TrackingOpener(provider.opener()));
        framework.awaitCreated(Snapshot.NOT_OPEN, "s2", Snapshot.NOT_OPEN_CREATING);
        assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s2")).startsWith("snapshot 's2': its origin mem://disk cannot "
                + "be read");
        assertSameBytes(java.nio.file.Files.readAllBytes(dir.resolve("s2.cow")), users, "the file, not formatted");
    }

    /** @return the memory device served as mem://disk, opened read-write as the provider serves it */
    private BlockDevice disk() throws IOException {
        return provider.opener().open(java.net.URI.create("mem://disk"), org.kcopyd.api.DeviceOption.READ_WRITE);
    }

    /** The not-open status of s1 says a refusal: its message, and the exception's class. */
    private void assertRefused(String message, String exception) {
        assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1")).as("the status says the refusal")
                .isEqualTo(message + " (refused: not tried again until a BlockDeviceOpener service is bound or the "
                        + "configuration changes)");
        assertThat(framework.notOpenProperty(Snapshot.NOT_OPEN, "s1", Snapshot.NOT_OPEN_REFUSED)).isEqualTo(true);
        assertThat(framework.notOpenProperty(Snapshot.NOT_OPEN, "s1", Snapshot.NOT_OPEN_EXCEPTION)).isEqualTo(exception);
        assertThat(framework.notOpenProperty(Snapshot.NOT_OPEN, "s1", Snapshot.NOT_OPEN_CREATING)).isNull();
    }

    @Test
    void aConfigurationNamingAStoreThatIsNotThereIsStillRefusedAtOnce() throws Exception {
        Map<String, Object> props = existingSnapshot(pattern(16 * 512, 3));
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));

        Map<String, Object> otherId = new HashMap<>(props);
        otherId.put(Snapshot.CONFIG_COW_STORE_ID, UUID.randomUUID().toString());
        SnapshotComponent c = activate(otherId, server);
        assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1"))
                .startsWith("snapshot 's1': cannot open its origin mem://disk: ").contains("(refused: ");
        assertThat(framework.notOpenProperty(Snapshot.NOT_OPEN, "s1", Snapshot.NOT_OPEN_EXCEPTION))
                .isEqualTo("java.io.IOException");
        deactivate(c);
        Map<String, Object> missing = new HashMap<>(props);
        missing.put(Snapshot.CONFIG_COW_STORE, dir.resolve("gone.cow").toString());
        activate(missing, server);
        assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1"))
                .startsWith("snapshot 's1': cannot open its origin mem://disk: ").contains("(refused: ");
        await().atMost(WAIT).until(() -> !retryThreadAlive());
        assertThat(server.opens()).isEqualTo(2);
        assertThat(dir.resolve("gone.cow")).doesNotExist();
    }

    @Test
    void deactivationDuringTheRetriesStopsThem() throws Exception {
        Map<String, Object> props = existingSnapshot(pattern(16 * 512, 4));
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));
        SnapshotComponent c = activate(props, server);
        await().atMost(WAIT).until(() -> server.opens() >= 3);

        deactivate(c);
        int opens = server.opens();
        server.reachable(true);

        await().atMost(WAIT).until(() -> !retryThreadAlive());
        await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> server.opens() == opens);
        assertThat(framework.registered).as("nothing opened after the deactivation").isEmpty();
        assertThat(framework.statuses).as("no not-open status after the deactivation").isEmpty();
    }

    /**
     * A server that accepts and never answers (H37: a daemon's start, SIGTERM and every configuration
     * change waited for the opener's 60 s timeout): activating the existing snapshot returns at once,
     * its status says an attempt is under way, and deactivating it returns and that connection
     * is given up (H41); nothing is opened or left open.
     */
    @Test
    void aServerThatNeverAnswersHoldsNeitherActivationNorDeactivation() throws Exception {
        Map<String, Object> props = existingSnapshot(pattern(16 * 512, 8));
        TrackingOpener tracking = new TrackingOpener(provider.opener());
        UnreachableServerOpener server = new UnreachableServerOpener(tracking);
        server.reachable(true);
        server.silent(true);
        try {
            // In another thread, so that an activation that waits for the connection fails here, not hangs.
            SnapshotComponent c = CompletableFuture.supplyAsync(() -> {
                try {
                    return activate(props, server);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            await().atMost(WAIT).until(() -> server.waiting() == 1);
            assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1")).as("while the connection waits")
                    .isEqualTo("opening: its origin mem://disk is being connected to (attempt 1 under way)");

            CompletableFuture.runAsync(() -> deactivate(c))
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS);
            // The attempt's connection is given up with it (H41: it held the export's claim for the opener's 60 s).
            await().atMost(WAIT).until(() -> server.waiting() == 0);
            assertThat(framework.statuses).isEmpty();
        } finally {
            server.silent(false);
        }
        await().atMost(WAIT).until(() -> !retryThreadAlive());
        assertThat(framework.registered).as("nothing opened after the deactivation").isEmpty();
        assertThat(tracking.openDevices()).as("no connection left open").isZero();
    }

    /**
     * H38: a server that answers the attempt's first connection and no other: the snapshot opens
     * on that connection (it was connected again under the component's lock, which then waited
     * for the opener's timeout, and the daemon's stop and configuration changes with it).
     */
    @Test
    void theConnectionMadeOutsideTheLockIsTheOneTheSnapshotOpensWith() throws Exception {
        Map<String, Object> props = existingSnapshot(pattern(16 * 512, 9));
        TrackingOpener tracking = new TrackingOpener(provider.opener());
        UnreachableServerOpener server = new UnreachableServerOpener(tracking);
        server.reachable(true);
        server.silentAfter(1);
        try {
            activate(props, server);
            await().atMost(WAIT).until(() -> !framework.registered.isEmpty() || server.waiting() > 0);
            assertThat(server.waiting()).as("no second connection").isZero();
            assertSameBytes(read(snapshot().device()), initial, "opened on the first connection");
            assertThat(server.opens()).isEqualTo(1);
            assertThat(tracking.openDevices()).isEqualTo(1);
        } finally {
            server.silent(false);
        }
    }

    /**
     * The origin answers again, but not as the COW store knows it (half its size): the retries end
     * with the refusal, which the not-open status says (not a retry), and the log says once, as an
     * error without a stack trace; nothing is opened, and deactivation removes the status.
     */
    @Test
    void aRefusalWhenTheOriginAnswersAgainEndsTheRetriesAndTheStatusSaysSo() throws Exception {
        Map<String, Object> props = existingSnapshot(pattern(16 * 512, 7));
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));
        SnapshotComponent c = activate(props, server);
        await().atMost(WAIT).until(() -> server.opens() >= 2);

        provider.add("disk", pattern(SECTORS * 512 / 2, 8));
        server.reachable(true);

        await().atMost(WAIT).until(() -> !retryThreadAlive());
        String status = framework.notOpen(Snapshot.NOT_OPEN, "s1");
        assertThat(status).as("the refusal, and that it is not retried").contains("snapshot 's1'")
                .contains("(refused: not tried again until a BlockDeviceOpener service is bound or the configuration "
                        + "changes)").doesNotContain("tried again in");
        assertThat(framework.notOpenProperty(Snapshot.NOT_OPEN, "s1", Snapshot.NOT_OPEN_REFUSED))
                .as("refused, for the control API's state 'failed'").isEqualTo(Boolean.TRUE);
        assertThat(framework.registered).as("not opened").isEmpty();
        assertThat(log.records()).filteredOn(r -> r.getLevel() == Level.SEVERE).singleElement().satisfies(r -> {
            assertThat(r.getMessage()).contains("snapshot 's1': not opened at attempt", "no more attempts");
            assertThat(r.getThrown()).as("a refusal is no bug: no stack trace").isNull();
        });

        // An opener bound again tries again: retried, not refused, while the server is down.
        server.reachable(false);
        c.bindOpener(server);
        await().atMost(WAIT).until(() -> String.valueOf(framework.notOpen(Snapshot.NOT_OPEN, "s1")).contains("failed;"));
        assertThat(framework.notOpenProperty(Snapshot.NOT_OPEN, "s1", Snapshot.NOT_OPEN_REFUSED))
                .as("tried again: no longer refused").isNull();

        deactivate(c);
        assertThat(framework.statuses).isEmpty();
    }

    /**
     * H39 finding 7: an origin that answers but cannot be read for a while (nbdkit's error filter):
     * the existing snapshot waits and is tried again, as for an unreachable server (it was refused,
     * "failed" until a restart), and opens with its data once the origin reads again.
     */
    @Test
    void anOriginThatCannotBeReadForAWhileIsTriedAgainNotRefused() throws Exception {
        Map<String, Object> props = existingSnapshot(pattern(16 * 512, 12));
        BlockDevice disk = disk();
        java.util.concurrent.atomic.AtomicBoolean failing = new java.util.concurrent.atomic.AtomicBoolean(true);
        provider.put("disk", new org.kcopyd.testdevices.ForwardingDevice(disk) {
            @Override
            public java.util.concurrent.CompletionStage<Void> read(long sector, java.nio.ByteBuffer dst) {
                return failing.get() ? CompletableFuture.failedFuture(new IOException("READ failed: EIO (5)"))
                        : super.read(sector, dst);
            }
        });
        activate(props, new TrackingOpener(provider.opener()));

        await().atMost(WAIT).until(() -> String.valueOf(framework.notOpen(Snapshot.NOT_OPEN, "s1")).contains("failed;"));
        assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1")).contains("could be connected to but not used", "EIO")
                .containsPattern(ATTEMPTS);
        assertThat(framework.notOpenProperty(Snapshot.NOT_OPEN, "s1", Snapshot.NOT_OPEN_REFUSED)).isNull();
        assertThat(framework.registered).as("not open").isEmpty();

        failing.set(false);
        await().atMost(WAIT).until(() -> !framework.registered.isEmpty());
        assertSameBytes(read(snapshot().device()), initial, "the snapshot, as the origin was");
    }

    @Test
    void theOpenerGoingStopsTheRetriesAndTheNextOneOpensTheSnapshot() throws Exception {
        Map<String, Object> props = existingSnapshot(pattern(16 * 512, 5));
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));
        SnapshotComponent c = activate(props, server);
        await().atMost(WAIT).until(() -> server.opens() >= 3);

        c.unbindOpener(server);
        int opens = server.opens();
        server.reachable(true);
        await().atMost(WAIT).until(() -> !retryThreadAlive());
        await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> server.opens() == opens);
        assertThat(framework.registered).as("waiting for an opener").isEmpty();
        assertThat(framework.notOpen(Snapshot.NOT_OPEN, "s1")).isEqualTo("waiting for a BlockDeviceOpener service to "
                + "open its origin mem://disk (named by URI; is kcopyd.impl started?)");

        TrackingOpener next = new TrackingOpener(provider.opener());
        c.bindOpener(next);
        await().atMost(WAIT).until(() -> !framework.registered.isEmpty());
        assertThat(framework.statuses).isEmpty();
        assertSameBytes(read(snapshot().device()), initial, "opened at the bind");
        assertThat(next.openDevices()).isEqualTo(1);
    }

    @Test
    void aChangedConfigurationRestartsTheRetriesWithIt() throws Exception {
        Map<String, Object> props = existingSnapshot(pattern(16 * 512, 6));
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));
        SnapshotComponent c = activate(props, server);
        await().atMost(WAIT).until(() -> server.opens() >= 3);

        Map<String, Object> changed = new HashMap<>(props);
        changed.put(Snapshot.CONFIG_MAX_COPIES_IN_FLIGHT, 32);
        c.modified(FakeFramework.annotation(SnapshotConfiguration.class, changed), framework.configure(PID, changed));
        int opens = server.opens();
        await().atMost(WAIT).until(() -> server.opens() > opens);
        assertThat(framework.registered).isEmpty();

        server.reachable(true);
        await().atMost(WAIT).until(() -> !framework.registered.isEmpty());
        assertSameBytes(read(snapshot().device()), initial, "the snapshot, opened with the changed configuration");
        assertThat(framework.configurations.get(PID)).containsEntry(Snapshot.CONFIG_MAX_COPIES_IN_FLIGHT, 32);
    }
}
