package org.kcopyd.mirror.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.kcopyd.mirror.internal.MirrorFixture.random;
import static org.kcopyd.mirror.internal.MirrorFixture.read;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.LegStatus;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.testdevices.MemoryUriProvider;
import org.kcopyd.testdevices.TrackingOpener;

/**
 * The mirror component and the {@link org.kcopyd.api.BlockDeviceOpener} service, bound
 * dynamically: a mirror of files never notices the opener come or go (its services stay the same
 * registrations); a mirror with a leg named by URI waits for an opener without failing, opens
 * when one is bound, is closed cleanly when the opener it used goes away (before kcopyd.impl would
 * close that opener's devices; the region log records a clean close) and reopens on the same log,
 * in sync and with the same data, when the next opener is bound.
 */
class MirrorOpenerBindingTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private static final int SECTORS = 4096;
    private static final String PID = "org.kcopyd.mirror~binding";

    @TempDir
    Path dir;
    private final MirrorFixture fixture = new MirrorFixture();
    private final FakeFramework framework = new FakeFramework();
    private final MemoryUriProvider provider = new MemoryUriProvider();
    private final List<MirrorComponent> active = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        active.forEach(MirrorComponent::deactivate);
        fixture.close();
    }

    private Map<String, Object> config(String leg0, String leg1) {
        Map<String, Object> props = new HashMap<>();
        props.put(Mirror.CONFIG_NAME, "m");
        props.put(Mirror.CONFIG_LEGS, new String[] {leg0, leg1});
        props.put(Mirror.CONFIG_REGION_LOG, dir.resolve("m.log").toString());
        props.put(Mirror.CONFIG_REGION_SECTORS, MirrorFixture.REGION);
        return props;
    }

    /** Activates a component as DS does: the engine and the opener, if any, are bound first. */
    private MirrorComponent activate(Map<String, Object> props, TrackingOpener opener) throws Exception {
        MirrorComponent c = new MirrorComponent();
        c.configurationAdmin = framework.configurationAdmin();
        c.bindFactory(fixture.engine);
        if (opener != null) {
            c.bindOpener(opener);
        }
        c.activate(framework.context(), FakeFramework.annotation(MirrorConfiguration.class, props),
                framework.configure(PID, props));
        active.add(c);
        return c;
    }

    private TrackingOpener opener() {
        return new TrackingOpener(provider.opener());
    }

    /** The mirror's service, once registered: an existing mirror with URI legs opens on a thread of its own. */
    private Mirror mirror() {
        List<Mirror> mirrors = await().atMost(WAIT).until(() -> framework.services(Mirror.class), m -> !m.isEmpty());
        assertThat(mirrors).hasSize(1);
        return mirrors.get(0);
    }

    private static void awaitInSync(Mirror m) throws Exception {
        m.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(m.status().legs()).extracting(LegStatus::state).containsOnly(LegState.IN_SYNC);
    }

    @Test
    void aFileMirrorIsNotTouchedWhenOpenersComeAndGo() throws Exception {
        byte[] data = random(SECTORS * 512, 1);
        Path a = Files.write(dir.resolve("a.img"), data);
        Path b = Files.write(dir.resolve("b.img"), new byte[SECTORS * 512]);
        TrackingOpener first = opener();
        MirrorComponent c = activate(config(a.toString(), b.toString()), first);
        awaitInSync(mirror());
        List<FakeFramework.Registered> before = List.copyOf(framework.registered);
        assertThat(before).as("the mirror and its device").hasSize(2);

        c.unbindOpener(first);
        TrackingOpener second = opener();
        c.bindOpener(second);
        TrackingOpener third = opener();
        c.bindOpener(third);
        c.unbindOpener(second);
        c.unbindOpener(third);

        assertThat(framework.registered).as("the same registrations, never withdrawn")
                .containsExactlyInAnyOrderElementsOf(before);
        assertThat(first.openDevices() + second.openDevices() + third.openDevices()).as("nothing opened through them")
                .isZero();
        byte[] written = random(8 * 512, 2);
        mirror().device().write(64, ByteBuffer.wrap(written)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        System.arraycopy(written, 0, data, 64 * 512, written.length);
        assertThat(Files.readAllBytes(b)).isEqualTo(data);
    }

    @Test
    void aUriMirrorWaitsForAnOpenerClosesWhenItGoesAndReopensWithTheNext() throws Exception {
        byte[] data = random(SECTORS * 512, 3);
        Path a = Files.write(dir.resolve("a.img"), data);
        MemoryBlockDevice b = provider.add("b", new byte[SECTORS * 512]);
        Map<String, Object> props = config(a.toString(), "mem://b");

        MirrorComponent c = activate(props, null);
        assertThat(framework.registered).as("waiting: nothing registered").isEmpty();
        assertThat(dir.resolve("m.log")).as("nothing created while waiting").doesNotExist();

        TrackingOpener first = opener();
        c.bindOpener(first);
        Mirror m = mirror();
        awaitInSync(m);
        assertThat(read(b)).as("the export resynced from leg 0").isEqualTo(data);
        assertThat(first.openDevices()).as("the URI leg, opened through the bound opener").isEqualTo(1);
        String id = m.regionLogId().toString();
        byte[] written = random(24 * 512, 4);
        m.device().write(100, ByteBuffer.wrap(written)).toCompletableFuture().get(10, TimeUnit.SECONDS);
        System.arraycopy(written, 0, data, 100 * 512, written.length);

        c.unbindOpener(first);
        assertThat(framework.registered).as("closed: its services withdrawn").isEmpty();
        assertThat(first.openDevices()).as("the leg closed before the opener's devices would be").isZero();
        assertThat(read(b)).as("every write reached the export").isEqualTo(data);

        TrackingOpener second = opener();
        c.bindOpener(second);
        Mirror again = mirror();
        assertThat(again).isNotSameAs(m);
        assertThat(again.regionLogId().toString()).as("the same region log, adopted").isEqualTo(id);
        assertThat(again.status().regionsToResync()).as("a clean close: nothing to resync").isZero();
        awaitInSync(again);
        assertThat(read(again.device())).isEqualTo(data);
        assertThat(second.openDevices()).isEqualTo(1);

        // A replacement bound before the opener in use goes (greedy): the mirror moves to it at once.
        TrackingOpener third = opener();
        c.bindOpener(third);
        assertThat(mirror()).as("kept until its opener goes").isSameAs(again);
        c.unbindOpener(second);
        assertThat(second.openDevices()).isZero();
        assertThat(mirror().regionLogId().toString()).isEqualTo(id);
        assertThat(third.openDevices()).isEqualTo(1);
        awaitInSync(mirror());
        assertThat(read(mirror().device())).isEqualTo(data);
        assertThat(Files.readAllBytes(a)).isEqualTo(data);
    }

    @Test
    void aUriMirrorRefusedAtABindIsTriedAgainAtTheNext() throws Exception {
        byte[] data = random(SECTORS * 512, 5);
        Path a = Files.write(dir.resolve("a.img"), data);
        MirrorComponent c = activate(config(a.toString(), "mem://later"), null);
        TrackingOpener first = opener();
        c.bindOpener(first);
        assertThat(framework.registered).as("the export cannot be reached: refused, logged").isEmpty();
        assertThat(dir.resolve("m.log")).doesNotExist();

        MemoryBlockDevice later = provider.add("later", new byte[SECTORS * 512]);
        c.unbindOpener(first);
        c.bindOpener(opener());
        awaitInSync(mirror());
        assertThat(read(later)).isEqualTo(data);
    }
}
