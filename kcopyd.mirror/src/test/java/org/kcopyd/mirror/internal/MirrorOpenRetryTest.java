package org.kcopyd.mirror.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.kcopyd.mirror.internal.MirrorFixture.random;
import static org.kcopyd.mirror.internal.MirrorFixture.read;
import static org.kcopyd.mirror.internal.MirrorFixture.sha256;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.LegStatus;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.testdevices.ForwardingDevice;
import org.kcopyd.testdevices.LogCapture;
import org.kcopyd.testdevices.MemoryUriProvider;
import org.kcopyd.testdevices.TrackingOpener;
import org.kcopyd.testdevices.UnreachableServerOpener;

/**
 * An existing mirror (its configuration names its region log's identity) with a leg named by URI
 * whose server cannot be reached when the component activates, as after a daemon restart with the
 * NBD server down: the component activates all the same, logs a warning naming the mirror, the leg
 * and the cause, writes nothing, and opens the mirror by itself once the leg can be opened, in sync
 * and with its data; the retries stop at deactivation and at the opener's unbinding. A new mirror
 * whose leg cannot be reached, or a configuration naming another log, is still refused at once. The
 * retries start after 10 ms here (1 s in service), through the component's package-private
 * constructor.
 */
class MirrorOpenRetryTest {

    private static final int SECTORS = 4096;
    private static final String PID = "org.kcopyd.mirror~retry";
    private static final Duration FIRST = Duration.ofMillis(10);
    private static final Duration MAX = Duration.ofMillis(40);
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** The attempts, as the not-open status says them after the cause while the legs are retried. */
    private static final String ATTEMPTS = "\\(attempt [0-9]+ (under way|failed; next attempt in [0-9]+ ms)\\)$";

    @TempDir
    Path dir;
    private final MirrorFixture fixture = new MirrorFixture();
    private final FakeFramework framework = new FakeFramework();
    private final MemoryUriProvider provider = new MemoryUriProvider();
    private final List<MirrorComponent> active = new ArrayList<>();
    /** What the component logs, once a test starts capturing it; closed after each test. */
    private LogCapture log;

    @AfterEach
    void close() throws Exception {
        active.forEach(MirrorComponent::deactivate);
        if (log != null) {
            log.close();
        }
        fixture.close();
    }

    private Map<String, Object> config() {
        Map<String, Object> props = new HashMap<>();
        props.put(Mirror.CONFIG_NAME, "m");
        props.put(Mirror.CONFIG_LEGS, new String[] {dir.resolve("a.img").toString(), "mem://b"});
        props.put(Mirror.CONFIG_REGION_LOG, dir.resolve("m.log").toString());
        props.put(Mirror.CONFIG_REGION_SECTORS, MirrorFixture.REGION);
        return props;
    }

    /**
     * A component as DS makes one, retrying after {@link #FIRST}; the engine and the opener bound
     * before activation; a new mirror is open or refused when it returns.
     */
    private MirrorComponent activate(Map<String, Object> props, BlockDeviceOpener opener) throws Exception {
        MirrorComponent c = activate(PID, props, opener);
        // A new mirror is made on the retry thread: open, or refused, once its status no longer says it is made.
        framework.awaitCreated(Mirror.NOT_OPEN, (String) props.get(Mirror.CONFIG_NAME), Mirror.NOT_OPEN_CREATING);
        return c;
    }

    /** As DS activates a component of configuration {@code pid}: returns when the activation does. */
    private MirrorComponent activate(String pid, Map<String, Object> props, BlockDeviceOpener opener)
            throws IOException {
        MirrorComponent c = new MirrorComponent(FIRST, MAX);
        c.configurationAdmin = framework.configurationAdmin();
        c.bindFactory(fixture.engine);
        if (opener != null) {
            c.bindOpener(opener);
        }
        c.activate(framework.context(), FakeFramework.annotation(MirrorConfiguration.class, props),
                framework.configure(pid, props));
        active.add(c);
        return c;
    }

    private MirrorComponent activateUnchecked(String pid, Map<String, Object> props, BlockDeviceOpener opener) {
        try {
            return activate(pid, props, opener);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The not-open status of m says a refusal: its message, and the exception's class. */
    private void assertRefused(String message, String exception) {
        assertThat(framework.notOpen(Mirror.NOT_OPEN, "m")).as("the status says the refusal")
                .startsWith(message).endsWith(" (refused: not tried again until a BlockDeviceOpener service is bound or "
                        + "the configuration changes)");
        assertThat(framework.notOpenProperty(Mirror.NOT_OPEN, "m", Mirror.NOT_OPEN_REFUSED)).isEqualTo(true);
        assertThat(framework.notOpenProperty(Mirror.NOT_OPEN, "m", Mirror.NOT_OPEN_EXCEPTION)).isEqualTo(exception);
        assertThat(framework.notOpenProperty(Mirror.NOT_OPEN, "m", Mirror.NOT_OPEN_CREATING)).isNull();
    }

    private void deactivate(MirrorComponent c) {
        c.deactivate();
        active.remove(c);
    }

    private Mirror mirror() {
        List<Mirror> mirrors = framework.services(Mirror.class);
        assertThat(mirrors).hasSize(1);
        return mirrors.get(0);
    }

    private static void awaitInSync(Mirror m) throws Exception {
        m.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(m.status().legs()).extracting(LegStatus::state).containsOnly(LegState.IN_SYNC);
    }

    private boolean retryThreadAlive() {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.isAlive() && t.getName().equals("kcopyd-mirror-m-open-retry"));
    }

    /**
     * Makes mirror m of a.img and mem://b, resyncs it, writes through it and closes it, as a
     * daemon's stop does.
     *
     * @return its configuration as written back, with its region log's identity; {@code data} is what it holds
     */
    private Map<String, Object> existingMirror(byte[] data) throws Exception {
        Files.write(dir.resolve("a.img"), data);
        MemoryBlockDevice b = provider.add("b", new byte[SECTORS * 512]);
        MirrorComponent first = activate(config(), new TrackingOpener(provider.opener()));
        Mirror m = mirror();
        awaitInSync(m);
        byte[] written = random(24 * 512, 9);
        m.device().write(100, ByteBuffer.wrap(written)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        System.arraycopy(written, 0, data, 100 * 512, written.length);
        deactivate(first);
        assertThat(read(b)).isEqualTo(data);
        Map<String, Object> recorded = new HashMap<>(framework.configurations.get(PID));
        assertThat(recorded).containsKey(Mirror.CONFIG_REGION_LOG_ID);
        return recorded;
    }

    @Test
    void anExistingMirrorWhoseLegCannotBeReachedOpensByItselfOnceItCan() throws Exception {
        byte[] data = random(SECTORS * 512, 1);
        Map<String, Object> props = existingMirror(data);
        Path regionLog = dir.resolve("m.log");
        String logBefore = sha256(regionLog);
        String legBefore = sha256(dir.resolve("a.img"));
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));
        log = LogCapture.of(MirrorComponent.class);

        activate(props, server);

        assertThat(framework.registered).as("not open while its leg cannot be reached").isEmpty();
        await().atMost(WAIT).untilAsserted(() -> assertThat(log.records())
                .as("a warning naming the mirror, the leg and the cause").anySatisfy(r -> {
                    assertThat(r.getLevel()).isEqualTo(Level.WARNING);
                    assertThat(r.getMessage()).contains("mirror 'm'", "leg 1 mem://b", "Connection refused");
                }));
        assertThat(framework.notOpenProperty(Mirror.NOT_OPEN, "m", Mirror.NOT_OPEN_REFUSED))
                .as("retried, not refused").isNull();
        assertThat(framework.notOpen(Mirror.NOT_OPEN, "m")).as("its not-open status: the cause, and the attempts")
                .contains("leg 1 mem://b", "Connection refused").containsPattern(ATTEMPTS);
        await().atMost(WAIT).until(() -> server.opens() >= 4);
        assertThat(framework.registered).as("still waiting").isEmpty();
        assertThat(framework.notOpen(Mirror.NOT_OPEN, "m")).as("its status counts the attempts")
                .contains("Connection refused").containsPattern(ATTEMPTS).doesNotContain("(attempt 1 ");
        assertThat(sha256(regionLog)).as("the region log untouched while waiting").isEqualTo(logBefore);
        assertThat(sha256(dir.resolve("a.img"))).as("leg 0 untouched while waiting").isEqualTo(legBefore);
        assertThat(retryThreadAlive()).isTrue();

        server.reachable(true);
        await().atMost(WAIT).until(() -> !framework.registered.isEmpty());
        assertThat(framework.statuses).as("no not-open status once open").isEmpty();
        Mirror m = mirror();
        assertThat(m.regionLogId().toString()).as("the same region log, adopted")
                .isEqualTo(props.get(Mirror.CONFIG_REGION_LOG_ID));
        assertThat(m.status().regionsToResync()).as("closed cleanly: nothing to resync").isZero();
        awaitInSync(m);
        assertThat(read(m.device())).isEqualTo(data);
        await().atMost(WAIT).until(() -> !retryThreadAlive());
        int opens = server.opens();
        await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> server.opens() == opens);
    }

    /**
     * H39 finding 7, the mirror's half: an existing mirror's export that answers but cannot be read
     * (nbdkit's error filter, a server going down) could not be checked against the fingerprint its
     * log recorded, and was taken as a replaced leg: resynced fully, written, while nothing had
     * identified it. It is now tried again as an export that cannot be reached: not refused,
     * nothing written, and once it can be read it is the leg as recorded, nothing to resync.
     */
    @Test
    void anExportThatCannotBeReadForAWhileIsTriedAgainNotReplaced() throws Exception {
        byte[] data = random(SECTORS * 512, 6);
        Map<String, Object> props = existingMirror(data);
        MemoryBlockDevice b = (MemoryBlockDevice) provider.opener().open(java.net.URI.create("mem://b"),
                org.kcopyd.api.DeviceOption.READ_WRITE);
        AtomicBoolean failing = new AtomicBoolean(true);
        AtomicInteger writes = new AtomicInteger();
        provider.put("b", new ForwardingDevice(b) {
            @Override
            public CompletionStage<Void> read(long sector, ByteBuffer dst) {
                return failing.get() ? CompletableFuture.failedFuture(new IOException("READ failed: EIO (5)"))
                        : super.read(sector, dst);
            }

            @Override
            public CompletionStage<Void> write(long sector, ByteBuffer src) {
                writes.incrementAndGet();
                return super.write(sector, src);
            }
        });

        activate(props, new TrackingOpener(provider.opener()));

        await().atMost(WAIT).until(() -> String.valueOf(framework.notOpen(Mirror.NOT_OPEN, "m")).contains("failed;"));
        assertThat(framework.notOpen(Mirror.NOT_OPEN, "m"))
                .contains("leg 1 mem://b answers but cannot be read to check that it is the disk this log recorded", "EIO")
                .containsPattern(ATTEMPTS);
        assertThat(framework.notOpenProperty(Mirror.NOT_OPEN, "m", Mirror.NOT_OPEN_REFUSED)).as("retried").isNull();
        assertThat(framework.registered).as("not open").isEmpty();
        assertThat(writes).as("nothing written to the export").hasValue(0);

        failing.set(false);
        await().atMost(WAIT).until(() -> !framework.registered.isEmpty());
        Mirror m = mirror();
        assertThat(m.status().regionsToResync()).as("the leg as recorded: nothing to resync").isZero();
        assertThat(m.status().legs()).extracting(LegStatus::state).containsOnly(LegState.IN_SYNC);
        assertThat(read(b)).isEqualTo(data);
    }

    /**
     * H42 #5: an existing mirror whose leg named by URI its region log records failed opens at the
     * next start without waiting for that leg's server (down for good, or silent): the server is not
     * even connected to, since a failed leg is neither read nor written; the other leg serves, and
     * the failed leg's status says it is not open.
     */
    @Test
    void anExistingMirrorOpensWithoutConnectingToALegRecordedFailed() throws Exception {
        byte[] data = random(SECTORS * 512, 12);
        Map<String, Object> props = existingMirror(data);
        MemoryBlockDevice b = (MemoryBlockDevice) provider.opener().open(java.net.URI.create("mem://b"),
                org.kcopyd.api.DeviceOption.READ_WRITE);
        provider.put("b", new ForwardingDevice(b) {
            @Override
            public CompletionStage<Void> write(long sector, ByteBuffer src) {
                return CompletableFuture.failedFuture(new IOException("WRITE failed: EIO (5)"));
            }
        });
        MirrorComponent failing = activate(props, new TrackingOpener(provider.opener()));
        await().atMost(WAIT).until(() -> !framework.registered.isEmpty());
        mirror().device().write(0, ByteBuffer.wrap(random(8 * 512, 13))).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(mirror().status().legs().get(1).state()).isEqualTo(LegState.FAILED);
        deactivate(failing);
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));
        server.silent(true);

        activate(new HashMap<>(framework.configurations.get(PID)), server);

        await().atMost(WAIT).until(() -> !framework.registered.isEmpty());
        assertThat(server.opens()).as("leg 1's server never connected to").isZero();
        Mirror m = mirror();
        assertThat(m.status().legs().get(1).state()).isEqualTo(LegState.FAILED);
        assertThat(m.status().legs().get(1).failure()).contains("WRITE failed: EIO (5)")
                .endsWith("; not opened at this start (not connected to)");
        byte[] later = random(8 * 512, 14);
        m.device().write(16, ByteBuffer.wrap(later)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(java.util.Arrays.copyOfRange(Files.readAllBytes(dir.resolve("a.img")), 16 * 512, 24 * 512))
                .isEqualTo(later);
        server.silent(false);
    }

    /**
     * A new mirror with a leg that cannot be reached is refused at its first attempt, not retried:
     * its activation returns (the attempt is made on a thread of its own), and its status says the
     * refusal and the exception's class, as a failed activation said them before.
     */
    @Test
    void aNewMirrorWhoseLegCannotBeReachedIsRefusedAtItsFirstAttempt() throws Exception {
        Files.write(dir.resolve("a.img"), random(SECTORS * 512, 2));
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));

        activate(config(), server);

        assertRefused("mirror 'm': leg 1 mem://b cannot be used: cannot connect to mem://b: Connection refused",
                "java.io.IOException");
        assertThat(dir.resolve("m.log")).doesNotExist();
        await().atMost(WAIT).until(() -> !retryThreadAlive());
        assertThat(server.opens()).as("one attempt").isEqualTo(1);
        assertThat(framework.registered).isEmpty();
    }

    @Test
    void aConfigurationNamingAnotherLogIsStillRefusedAtOnce() throws Exception {
        Map<String, Object> props = existingMirror(random(SECTORS * 512, 3));
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));

        props.put(Mirror.CONFIG_REGION_LOG_ID, UUID.randomUUID().toString());
        activate(props, server);
        assertRefused("mirror 'm': leg 1 mem://b cannot be used: ", "java.io.IOException");
        await().atMost(WAIT).until(() -> !retryThreadAlive());
        assertThat(server.opens()).isEqualTo(1);
    }

    /**
     * H39 finding 5: a new mirror whose server accepts and never answers held its activation, and
     * with it Config Admin's event thread (every other creation, change and removal) for the
     * opener's 60 s. Its activation now returns at once, its status says it is being made, another
     * mirror is made meanwhile, and deactivating it returns and gives its connection up at
     * once (it held the export's claim until the opener's timeout: H41); nothing is made for it.
     */
    @Test
    void aNewMirrorOfAServerThatNeverAnswersHoldsUpNoOtherMirror() throws Exception {
        Files.write(dir.resolve("a.img"), random(SECTORS * 512, 5));
        provider.add("b", new byte[SECTORS * 512]);
        TrackingOpener tracking = new TrackingOpener(provider.opener());
        UnreachableServerOpener server = new UnreachableServerOpener(tracking);
        server.reachable(true);
        server.silent(true);
        try {
            MirrorComponent c = CompletableFuture.supplyAsync(() -> activateUnchecked(PID, config(), server))
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS);
            await().atMost(WAIT).until(() -> server.waiting() == 1);
            assertThat(framework.notOpen(Mirror.NOT_OPEN, "m")).as("while the connection waits")
                    .isEqualTo("opening: its legs named by URI are being connected to (attempt 1 under way)");
            assertThat(framework.notOpenProperty(Mirror.NOT_OPEN, "m", Mirror.NOT_OPEN_CREATING)).isEqualTo(true);
            assertThat(framework.notOpenProperty(Mirror.NOT_OPEN, "m", Mirror.NOT_OPEN_REFUSED)).isNull();

            Map<String, Object> other = new HashMap<>();
            other.put(Mirror.CONFIG_NAME, "n");
            other.put(Mirror.CONFIG_LEGS, new String[] {Files.write(dir.resolve("c.img"), new byte[SECTORS * 512])
                    .toString(), Files.write(dir.resolve("d.img"), new byte[SECTORS * 512]).toString()});
            other.put(Mirror.CONFIG_REGION_LOG, dir.resolve("n.log").toString());
            other.put(Mirror.CONFIG_REGION_SECTORS, MirrorFixture.REGION);
            CompletableFuture.supplyAsync(() -> activateUnchecked(PID + "2", other, server))
                    .get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(framework.services(Mirror.class)).as("n made while m waits").hasSize(1);

            CompletableFuture.runAsync(() -> deactivate(c)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            // The attempt's connection is given up with it (H41: it held the export's claim for the opener's 60 s).
            await().atMost(WAIT).until(() -> server.waiting() == 0);
            assertThat(framework.notOpen(Mirror.NOT_OPEN, "m")).isNull();
        } finally {
            server.silent(false);
        }
        await().atMost(WAIT).until(() -> !retryThreadAlive());
        assertThat(framework.services(Mirror.class)).as("nothing opened for m after the deactivation")
                .extracting(Mirror::name).containsExactly("n");
        assertThat(dir.resolve("m.log")).as("no region log made").doesNotExist();
        assertThat(tracking.openDevices()).as("no connection left open").isZero();
    }

    @Test
    void deactivationDuringTheRetriesStopsThem() throws Exception {
        Map<String, Object> props = existingMirror(random(SECTORS * 512, 4));
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));
        MirrorComponent c = activate(props, server);
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
     * A server that accepts and never answers (H37): activating the existing mirror returns at
     * once, its status says an attempt is under way, and deactivating it returns and that
     * connection is given up (H41); nothing is opened or left open.
     */
    @Test
    void aServerThatNeverAnswersHoldsNeitherActivationNorDeactivation() throws Exception {
        Map<String, Object> props = existingMirror(random(SECTORS * 512, 7));
        TrackingOpener tracking = new TrackingOpener(provider.opener());
        UnreachableServerOpener server = new UnreachableServerOpener(tracking);
        server.reachable(true);
        server.silent(true);
        try {
            // In another thread, so that an activation that waits for the connection fails here, not hangs.
            MirrorComponent c = CompletableFuture.supplyAsync(() -> {
                try {
                    return activate(props, server);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            await().atMost(WAIT).until(() -> server.waiting() == 1);
            assertThat(framework.notOpen(Mirror.NOT_OPEN, "m")).as("while the connection waits")
                    .isEqualTo("opening: its legs named by URI are being connected to (attempt 1 under way)");

            CompletableFuture.runAsync(() -> deactivate(c)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
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
     * H38: a server that answers the attempt's first connection and no other: the mirror opens on
     * that connection (it was connected again under the component's lock, which then waited for
     * the opener's timeout, and the daemon's stop and configuration changes with it).
     */
    @Test
    void theConnectionMadeOutsideTheLockIsTheOneTheMirrorOpensWith() throws Exception {
        byte[] data = random(SECTORS * 512, 8);
        Map<String, Object> props = existingMirror(data);
        TrackingOpener tracking = new TrackingOpener(provider.opener());
        UnreachableServerOpener server = new UnreachableServerOpener(tracking);
        server.reachable(true);
        server.silentAfter(1);
        try {
            activate(props, server);
            await().atMost(WAIT).until(() -> !framework.registered.isEmpty() || server.waiting() > 0);
            assertThat(server.waiting()).as("no second connection").isZero();
            awaitInSync(mirror());
            assertThat(read(mirror().device())).isEqualTo(data);
            assertThat(server.opens()).isEqualTo(1);
            assertThat(tracking.openDevices()).isEqualTo(1);
        } finally {
            server.silent(false);
        }
    }

    /**
     * The leg answers again, but not as the mirror knows it (half its size): the retries end with
     * the refusal, which the not-open status says (not a retry), and the log says once, as an error
     * without a stack trace; nothing is opened, and deactivation removes the status.
     */
    @Test
    void aRefusalWhenTheLegAnswersAgainEndsTheRetriesAndTheStatusSaysSo() throws Exception {
        Map<String, Object> props = existingMirror(random(SECTORS * 512, 6));
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));
        MirrorComponent c = activate(props, server);
        log = LogCapture.of(MirrorComponent.class);
        await().atMost(WAIT).until(() -> server.opens() >= 2);

        provider.add("b", new byte[SECTORS * 512 / 2]);
        server.reachable(true);

        await().atMost(WAIT).until(() -> !retryThreadAlive());
        assertThat(framework.notOpen(Mirror.NOT_OPEN, "m")).as("the refusal, and that it is not retried")
                .contains("mirror 'm'").contains("(refused: not tried again until a BlockDeviceOpener service is bound "
                        + "or the configuration changes)").doesNotContain("tried again in");
        assertThat(framework.notOpenProperty(Mirror.NOT_OPEN, "m", Mirror.NOT_OPEN_REFUSED))
                .as("refused, for the control API's state 'failed'").isEqualTo(Boolean.TRUE);
        assertThat(framework.registered).as("not opened").isEmpty();
        assertThat(log.records()).filteredOn(r -> r.getLevel() == Level.SEVERE).singleElement().satisfies(r -> {
            assertThat(r.getMessage()).contains("mirror 'm': not opened at attempt", "no more attempts");
            assertThat(r.getThrown()).as("a refusal is no bug: no stack trace").isNull();
        });

        // An opener bound again tries again: retried, not refused, while the server is down.
        server.reachable(false);
        c.bindOpener(server);
        await().atMost(WAIT).until(() -> String.valueOf(framework.notOpen(Mirror.NOT_OPEN, "m")).contains("failed;"));
        assertThat(framework.notOpenProperty(Mirror.NOT_OPEN, "m", Mirror.NOT_OPEN_REFUSED))
                .as("tried again: no longer refused").isNull();

        deactivate(c);
        assertThat(framework.statuses).isEmpty();
    }

    @Test
    void theOpenerGoingStopsTheRetriesAndTheNextOneOpensTheMirror() throws Exception {
        byte[] data = random(SECTORS * 512, 5);
        Map<String, Object> props = existingMirror(data);
        UnreachableServerOpener server = new UnreachableServerOpener(new TrackingOpener(provider.opener()));
        MirrorComponent c = activate(props, server);
        await().atMost(WAIT).until(() -> server.opens() >= 3);

        c.unbindOpener(server);
        int opens = server.opens();
        server.reachable(true);
        await().atMost(WAIT).until(() -> !retryThreadAlive());
        await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> server.opens() == opens);
        assertThat(framework.registered).as("waiting for an opener").isEmpty();
        assertThat(framework.notOpen(Mirror.NOT_OPEN, "m")).isEqualTo("waiting for a BlockDeviceOpener service to "
                + "open its legs named by URI (is kcopyd.impl started?)");

        TrackingOpener next = new TrackingOpener(provider.opener());
        c.bindOpener(next);
        await().atMost(WAIT).until(() -> !framework.registered.isEmpty());
        assertThat(framework.statuses).isEmpty();
        awaitInSync(mirror());
        assertThat(read(mirror().device())).isEqualTo(data);
        assertThat(next.openDevices()).isEqualTo(1);
    }
}
