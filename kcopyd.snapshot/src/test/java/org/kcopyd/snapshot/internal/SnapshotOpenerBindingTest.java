package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.kcopyd.snapshot.internal.SnapshotFixture.assertSameBytes;
import static org.kcopyd.snapshot.internal.SnapshotFixture.pattern;
import static org.kcopyd.snapshot.internal.SnapshotFixture.read;
import static org.kcopyd.snapshot.internal.SnapshotFixture.write;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.snapshot.Snapshot;
import org.kcopyd.snapshot.internal.CowStore.CowHeader;
import org.kcopyd.testdevices.MemoryUriProvider;
import org.kcopyd.testdevices.TrackingOpener;

/**
 * The snapshot component and the {@link org.kcopyd.api.BlockDeviceOpener} service, bound
 * dynamically: a snapshot of a file never notices the opener come or go (its services stay the
 * same registrations); a snapshot of a URI waits for an opener without failing, opens when one
 * is bound, is closed cleanly when the opener it used goes away (before kcopyd.impl would close
 * that opener's devices; the COW store closed with the origin's fingerprint) and reopens on the
 * same store, with the same data, when the next opener is bound.
 */
class SnapshotOpenerBindingTest {

    private static final int SECTORS = 8192;

    @TempDir
    Path dir;
    private final SnapshotFixture fixture = new SnapshotFixture();
    private final FakeFramework framework = new FakeFramework();
    private final MemoryUriProvider provider = new MemoryUriProvider();
    private final List<SnapshotComponent> active = new ArrayList<>();
    private Origins origins;
    private byte[] initial;
    private MemoryBlockDevice disk;

    @BeforeEach
    void makeOrigins() {
        initial = pattern(SECTORS * 512, 1);
        disk = provider.add("disk", initial);
        origins = fixture.origins(framework);
    }

    @AfterEach
    void close() {
        active.forEach(SnapshotComponent::deactivate);
        fixture.close();
    }

    private Map<String, Object> config(String name, String origin) {
        Map<String, Object> props = new HashMap<>();
        props.put(Snapshot.CONFIG_NAME, name);
        props.put(Snapshot.CONFIG_ORIGIN, origin);
        props.put(Snapshot.CONFIG_COW_STORE, dir.resolve(name + ".cow").toString());
        props.put(Snapshot.CONFIG_COW_STORE_SIZE_MIB, 8);
        props.put(Snapshot.CONFIG_CHUNK_SECTORS, 16);
        return props;
    }

    /** Activates a component as DS does: the opener, if any, is bound first; a new snapshot is made before it returns. */
    private SnapshotComponent activate(Map<String, Object> props, TrackingOpener opener) throws Exception {
        SnapshotComponent c = new SnapshotComponent();
        c.origins = origins;
        c.configurationAdmin = framework.configurationAdmin();
        if (opener != null) {
            c.bindOpener(opener);
        }
        c.activate(framework.context(), FakeFramework.annotation(SnapshotConfiguration.class, props),
                framework.configure("org.kcopyd.snapshot~" + props.get(Snapshot.CONFIG_NAME), props));
        active.add(c);
        // A new snapshot of a URI is made on a thread of its own: open (or refused) once its status says so.
        framework.awaitCreated(Snapshot.NOT_OPEN, (String) props.get(Snapshot.CONFIG_NAME), Snapshot.NOT_OPEN_CREATING);
        return c;
    }

    private TrackingOpener opener() {
        return new TrackingOpener(provider.opener());
    }

    /** The snapshot's service, once registered: an existing snapshot of a URI opens on a thread of its own. */
    private Snapshot snapshot(String name) {
        List<Object> found = await().atMost(Duration.ofSeconds(10))
                .until(() -> framework.services(Snapshot.NAME, name).stream().filter(Snapshot.class::isInstance)
                        .toList(), f -> !f.isEmpty());
        assertThat(found).as("snapshot " + name).hasSize(1);
        return (Snapshot) found.get(0);
    }

    private BlockDevice originDevice() {
        List<FakeFramework.Registered> found = framework.registered.stream()
                .filter(r -> Snapshot.ROLE_ORIGIN.equals(r.properties().get(BlockDevice.ROLE))).toList();
        assertThat(found).as("one origin device service").hasSize(1);
        return (BlockDevice) found.get(0).service();
    }

    @Test
    void aFileSnapshotIsNotTouchedWhenOpenersComeAndGo() throws Exception {
        Path origin = Files.write(dir.resolve("origin.img"), initial);
        TrackingOpener first = opener();
        SnapshotComponent c = activate(config("f1", origin.toString()), first);
        List<FakeFramework.Registered> before = List.copyOf(framework.registered);
        assertThat(before).as("the snapshot, its device and its origin's device").hasSize(3);
        write(originDevice(), 0, pattern(16 * 512, 2));

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
        assertSameBytes(read(snapshot("f1").device()), initial, "the snapshot");
    }

    @Test
    void aUriSnapshotWaitsForAnOpenerClosesWhenItGoesAndReopensWithTheNext() throws Exception {
        Map<String, Object> props = config("r1", "mem://disk");
        Path cow = dir.resolve("r1.cow");

        SnapshotComponent c = activate(props, null);
        assertThat(framework.registered).as("waiting: nothing registered").isEmpty();
        assertThat(cow).as("nothing created while waiting").doesNotExist();

        TrackingOpener first = opener();
        c.bindOpener(first);
        Snapshot s = snapshot("r1");
        assertThat(first.openDevices()).as("the origin, opened through the bound opener").isEqualTo(1);
        byte[] written = pattern(32 * 512, 3);
        write(originDevice(), 16, written);
        byte[] now = initial.clone();
        System.arraycopy(written, 0, now, 16 * 512, written.length);
        String id = s.cowStoreId().toString();
        assertThat(framework.configurations.get("org.kcopyd.snapshot~r1"))
                .containsEntry(Snapshot.CONFIG_COW_STORE_ID, id);

        c.unbindOpener(first);
        assertThat(framework.registered).as("closed: its services withdrawn").isEmpty();
        assertThat(first.openDevices()).as("the origin closed before the opener's devices would be").isZero();
        try (BlockDevice device = SnapshotFixture.FILES.open(cow, "a test file")) {
            CowHeader h = CowStore.readHeader(device);
            assertThat(h.id().toString()).isEqualTo(id);
            assertThat(h.originSeen()).as("a clean close: the origin's fingerprint recorded").isNotNull();
        }
        assertSameBytes(read(disk), now, "the export, as written through the origin");

        TrackingOpener second = opener();
        c.bindOpener(second);
        Snapshot again = snapshot("r1");
        assertThat(again).isNotSameAs(s);
        assertThat(again.cowStoreId().toString()).as("the same COW store, adopted").isEqualTo(id);
        assertSameBytes(read(again.device()), initial, "the reopened snapshot");
        assertSameBytes(read(originDevice()), now, "the reopened origin");
        assertThat(second.openDevices()).isEqualTo(1);

        // A replacement bound before the opener in use goes (greedy): the snapshot moves to it at once.
        TrackingOpener third = opener();
        c.bindOpener(third);
        assertThat(snapshot("r1")).as("kept until its opener goes").isSameAs(again);
        c.unbindOpener(second);
        assertThat(second.openDevices()).isZero();
        Snapshot onThird = snapshot("r1");
        assertThat(third.openDevices()).isEqualTo(1);
        assertSameBytes(read(onThird.device()), initial, "the snapshot on the third opener");
        assertThat(snapshot("r1").cowStoreId().toString()).isEqualTo(id);
    }

    @Test
    void twoSnapshotsOfOneExportMoveTogetherToAReplacementOpener() throws Exception {
        TrackingOpener first = opener();
        SnapshotComponent a = activate(config("a", "mem://disk"), first);
        SnapshotComponent b = activate(config("b", "mem://disk"), first);
        assertThat(first.openDevices()).as("one origin, shared").isEqualTo(1);
        write(originDevice(), 0, pattern(16 * 512, 4));

        // DS binds the replacement to each, then unbinds the old one from each, one component after the other.
        TrackingOpener second = opener();
        a.bindOpener(second);
        b.bindOpener(second);
        a.unbindOpener(first);
        assertThat(framework.services(Snapshot.NAME, "a")).as("a waits while b holds the origin through the old "
                + "opener").isEmpty();
        // a's attempt may have connected through the new opener to learn the export answers; it keeps nothing open.
        await().atMost(Duration.ofSeconds(10)).until(() -> second.openDevices() == 0);
        b.unbindOpener(first);

        Snapshot sa = snapshot("a");
        Snapshot sb = snapshot("b");
        assertThat(first.openDevices()).isZero();
        assertThat(second.openDevices()).as("one origin, shared again, through the new opener").isEqualTo(1);
        assertSameBytes(read(sa.device()), initial, "a");
        assertSameBytes(read(sb.device()), initial, "b");
    }

    @Test
    void aUriSnapshotRefusedAtABindIsTriedAgainAtTheNext() throws Exception {
        Map<String, Object> props = config("r2", "mem://later");
        SnapshotComponent c = activate(props, null);
        TrackingOpener first = opener();
        c.bindOpener(first);
        assertThat(framework.registered).as("the export cannot be reached: refused, logged").isEmpty();
        assertThat(dir.resolve("r2.cow")).doesNotExist();

        provider.add("later", initial);
        c.unbindOpener(first);
        c.bindOpener(opener());
        assertSameBytes(read(snapshot("r2").device()), initial, "opened at the next bind");
    }
}
