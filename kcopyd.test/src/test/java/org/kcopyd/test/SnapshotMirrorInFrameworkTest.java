package org.kcopyd.test;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.mirror.MirrorStatus;
import org.kcopyd.snapshot.Snapshot;
import org.kcopyd.snapshot.SnapshotState;
import org.kcopyd.testdevices.ForwardingDevice;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class SnapshotMirrorInFrameworkTest extends KcopydTestSupport {

    private static final int SECTORS = 8192;
    private static final String S1 = "(" + Snapshot.NAME + "=s1)";
    private static final String M1 = "(" + Mirror.NAME + "=m1)";
    private static final String ORIGIN = "(" + BlockDevice.ROLE + "=" + Snapshot.ROLE_ORIGIN + ")";
    private Path dir;

    @Before
    public void makeDirectory() throws IOException {
        dir = Files.createTempDirectory("kcopyd-it");
    }

    @After
    public void removeDirectory() throws IOException {
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
    }

    private static byte[] random(int bytes, long seed) {
        byte[] b = new byte[bytes];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static Dictionary<String, Object> properties(Object... keyValues) {
        Hashtable<String, Object> d = new Hashtable<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            d.put((String) keyValues[i], keyValues[i + 1]);
        }
        return d;
    }

    private <T> T awaitService(Class<T> type, String filter) throws Exception {
        await(type.getSimpleName() + " " + filter, () -> find(type, filter) != null);
        return context.getService(find(type, filter));
    }

    private <T> ServiceReference<T> find(Class<T> type, String filter) {
        try {
            Collection<ServiceReference<T>> refs = context.getServiceReferences(type, filter);
            return refs.isEmpty() ? null : refs.iterator().next();
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static byte[] read(BlockDevice device) {
        ByteBuffer b = ByteBuffer.allocate((int) device.sizeInSectors() * 512);
        device.read(0, b).toCompletableFuture().join();
        return b.array();
    }

    private static void randomWrites(BlockDevice device, int count, long seed) {
        Random r = new Random(seed);
        for (int i = 0; i < count; i++) {
            int sectors = 1 + r.nextInt(64);
            byte[] data = random(sectors * 512, r.nextLong());
            device.write(r.nextInt(SECTORS - sectors), ByteBuffer.wrap(data)).toCompletableFuture().join();
        }
    }

    @Test
    public void aSnapshotIsCreatedUpdatedMergedAndDeletedThroughConfigAdmin() throws Exception {
        byte[] initial = random(SECTORS * 512, 1);
        Path origin = Files.write(dir.resolve("origin.img"), initial);
        Configuration config = service(ConfigurationAdmin.class).createFactoryConfiguration(Snapshot.FACTORY_PID, "?");
        config.update(properties(Snapshot.CONFIG_NAME, "s1", Snapshot.CONFIG_ORIGIN, origin.toString(),
                Snapshot.CONFIG_COW_STORE, dir.resolve("s1.cow").toString(), Snapshot.CONFIG_COW_STORE_SIZE_MIB, 16));
        Snapshot snapshot = awaitService(Snapshot.class, S1);
        BlockDevice originDevice = awaitService(BlockDevice.class, ORIGIN);

        randomWrites(originDevice, 200, 2);
        byte[] changed = read(originDevice);
        assertFalse(java.util.Arrays.equals(initial, changed));
        assertArrayEquals(initial, read(snapshot.device()));

        // The snapshot made its COW store and wrote the store's identity into its configuration.
        String id = snapshot.cowStoreId().toString();
        await("the COW store's identity recorded",
                () -> id.equals(config.getProperties().get(Snapshot.CONFIG_COW_STORE_ID)));
        Dictionary<String, Object> edited = config.getProperties();
        edited.put(Snapshot.CONFIG_MAX_COPIES_IN_FLIGHT, 64);
        config.update(edited);
        await("the updated snapshot is back", () -> {
            ServiceReference<Snapshot> ref = find(Snapshot.class, S1);
            return ref != null && context.getService(ref) != snapshot;
        });
        Snapshot reopened = awaitService(Snapshot.class, S1);
        assertArrayEquals("the snapshot survives its reconfiguration", initial, read(reopened.device()));
        assertEquals("the same COW store, adopted", id, reopened.cowStoreId().toString());

        reopened.merge().toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        BlockDevice originAgain = awaitService(BlockDevice.class, ORIGIN);
        assertArrayEquals("merged back", initial, read(originAgain));
        assertEquals(SnapshotState.ACTIVE, reopened.state());

        config.delete();
        await("snapshot services gone", () -> find(Snapshot.class, null) == null
                && find(BlockDevice.class, ORIGIN) == null);
        assertTrue("the COW store stays", Files.exists(dir.resolve("s1.cow")));
    }

    @Test
    public void snapshotsStayConsistentWhileKcopydImplStopsAndStartsUnderLoad() throws Exception {
        byte[] initial = random(SECTORS * 512, 3);
        Path origin = Files.write(dir.resolve("origin.img"), initial);
        Configuration config = service(ConfigurationAdmin.class).createFactoryConfiguration(Snapshot.FACTORY_PID, "?");
        config.update(properties(Snapshot.CONFIG_NAME, "load", Snapshot.CONFIG_ORIGIN, origin.toString(),
                Snapshot.CONFIG_COW_STORE, dir.resolve("load.cow").toString(), Snapshot.CONFIG_COW_STORE_SIZE_MIB, 16,
                Snapshot.CONFIG_FACTORY_WAIT_SECONDS, 20));
        Snapshot snapshot = awaitService(Snapshot.class, "(" + Snapshot.NAME + "=load)");
        BlockDevice originDevice = awaitService(BlockDevice.class, ORIGIN);

        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger written = new AtomicInteger();
        List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread writer = new Thread(() -> {
            Random r = new Random(4);
            while (!stop.get()) {
                int sectors = 1 + r.nextInt(32);
                try {
                    originDevice.write(r.nextInt(SECTORS - sectors), ByteBuffer.wrap(random(sectors * 512, r.nextLong())))
                            .toCompletableFuture().get(60, TimeUnit.SECONDS);
                    written.incrementAndGet();
                } catch (Exception e) {
                    failures.add(e);
                }
            }
        });
        writer.start();
        await("writes under way", () -> written.get() > 50);
        Bundle impl = bundle("kcopyd.impl");
        impl.stop();
        int atStop = written.get();
        impl.start();
        await("writes continue after the restart", () -> written.get() > atStop + 100);
        stop.set(true);
        writer.join(TIMEOUT_MS);

        assertEquals("no origin write failed", List.of(), failures);
        assertEquals(SnapshotState.ACTIVE, snapshot.state());
        assertArrayEquals(initial, read(snapshot.device()));
        config.delete();
    }

    /** A leg that fails every write past the middle of the device, registered as a service. */
    private static final class FlakyLeg extends ForwardingDevice {
        FlakyLeg() {
            super(new MemoryBlockDevice("flaky", SECTORS));
        }

        @Override
        public CompletionStage<Void> write(long sector, ByteBuffer src) {
            if (sector >= SECTORS / 2) {
                return CompletableFuture.failedFuture(new IOException("flaky leg refuses sector " + sector));
            }
            return inner.write(sector, src);
        }
    }

    @Test
    public void aMirrorWithALegFailingMidResyncEndsWithTheHealthyLegsIdentical() throws Exception {
        byte[] data = random(SECTORS * 512, 5);
        Path leg0 = Files.write(dir.resolve("leg0.img"), data);
        Path leg1 = Files.write(dir.resolve("leg1.img"), new byte[SECTORS * 512]);
        ServiceRegistration<BlockDevice> flaky = context.registerService(BlockDevice.class, new FlakyLeg(),
                properties(BlockDevice.NAME, "flaky"));
        Configuration config = service(ConfigurationAdmin.class).createFactoryConfiguration(Mirror.FACTORY_PID, "?");
        config.update(properties(Mirror.CONFIG_NAME, "m1", Mirror.CONFIG_LEGS,
                new String[] {leg0.toString(), leg1.toString(), Mirror.SERVICE_LEG + "flaky"},
                Mirror.CONFIG_REGION_SECTORS, 256, Mirror.CONFIG_REGION_LOG, dir.resolve("m1.log").toString(),
                Mirror.CONFIG_THROTTLE_BYTES_PER_SECOND, 0));
        Mirror mirror = awaitService(Mirror.class, M1);
        Object serviceId = find(Mirror.class, M1).getProperty("service.id");
        // The mirror made its region log and wrote the log's identity into its configuration.
        String id = mirror.regionLogId().toString();
        await("the region log's identity recorded",
                () -> id.equals(config.getProperties().get(Mirror.CONFIG_REGION_LOG_ID)));

        mirror.whenInSync().toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);

        MirrorStatus status = mirror.status();
        assertEquals(LegState.IN_SYNC, status.legs().get(0).state());
        assertEquals(LegState.IN_SYNC, status.legs().get(1).state());
        assertEquals(LegState.FAILED, status.legs().get(2).state());
        assertTrue(status.legs().get(2).failure(), status.legs().get(2).failure().contains("flaky leg refuses"));
        assertArrayEquals(data, Files.readAllBytes(leg1));
        assertArrayEquals(data, read(mirror.device()));

        Dictionary<String, Object> edited = config.getProperties();
        edited.put(Mirror.CONFIG_THROTTLE_BYTES_PER_SECOND, 1 << 20);
        config.update(edited);
        org.kcopyd.api.KcopydClientFactory factory = service(org.kcopyd.api.KcopydClientFactory.class);
        await("throttle applied live", () -> factory.throttle("mirror-m1").bytesPerSecond() == 1 << 20);
        assertEquals("same service: no restart for a live setting", serviceId,
                find(Mirror.class, M1).getProperty("service.id"));

        config.delete();
        await("mirror gone", () -> find(Mirror.class, null) == null);
        flaky.unregister();
        assertNull(find(Mirror.class, null));
        assertNotEquals(0, Files.size(dir.resolve("m1.log")));
    }

    /**
     * A mirror whose region log is one of its legs, or an unrelated file, is refused with the reason
     * (which the command line shows) and writes nothing; its component stays active, its not-open
     * status saying the refusal, and the configuration mended in place opens the mirror (Felix SCR does
     * not activate a component whose activation failed again when its configuration changes).
     */
    @Test
    public void aMirrorWhoseRegionLogIsALegOrAnUnrelatedFileIsRefusedAndWritesNothing() throws Exception {
        byte[] data0 = random(SECTORS * 512, 6);
        byte[] data1 = random(SECTORS * 512, 7);
        byte[] notes = random(64 * 1024, 8);
        Path leg0 = Files.write(dir.resolve("leg0.img"), data0);
        Path leg1 = Files.write(dir.resolve("leg1.img"), data1);
        Path notesFile = Files.write(dir.resolve("notes.bin"), notes);
        ConfigurationAdmin cm = service(ConfigurationAdmin.class);

        Configuration config = cm.createFactoryConfiguration(Mirror.FACTORY_PID, "?");
        for (Object[] c : new Object[][] {{leg1, "is leg 1 of mirror m2"}, {notesFile, "is not a kcopyd region log"}}) {
            config.update(properties(Mirror.CONFIG_NAME, "m2", Mirror.CONFIG_LEGS,
                    new String[] {leg0.toString(), leg1.toString()}, Mirror.CONFIG_REGION_LOG, c[0].toString()));

            String refusal = awaitRefusal("m2", (String) c[1]);

            assertTrue(refusal, refusal.startsWith(IllegalArgumentException.class.getName() + ": mirror 'm2': "));
            assertNull(find(Mirror.class, null));
        }
        assertArrayEquals(data0, Files.readAllBytes(leg0));
        assertArrayEquals(data1, Files.readAllBytes(leg1));
        assertArrayEquals(notes, Files.readAllBytes(notesFile));

        config.update(properties(Mirror.CONFIG_NAME, "m2", Mirror.CONFIG_LEGS,
                new String[] {leg0.toString(), leg1.toString()}, Mirror.CONFIG_REGION_LOG,
                dir.resolve("m2.log").toString()));
        await("mirror m2 open", () -> find(Mirror.class, null) != null);
        config.delete();
    }

    /**
     * @return the refusal, "EXCEPTION: reason", that the not-open status of mirror {@code name} says, once
     *         it says one whose reason contains {@code text}
     */
    private String awaitRefusal(String name, String text) {
        String[] refusal = new String[1];
        await("mirror " + name + " refused: " + text, () -> {
            try {
                ServiceReference<?>[] statuses = context.getServiceReferences(java.util.function.Supplier.class
                        .getName(), "(&(" + Mirror.NOT_OPEN + "=" + name + ")(" + Mirror.NOT_OPEN_REFUSED + "=true))");
                for (ServiceReference<?> r : statuses == null ? new ServiceReference<?>[0] : statuses) {
                    Object reason = ((java.util.function.Supplier<?>) context.getService(r)).get();
                    context.ungetService(r);
                    if (String.valueOf(reason).contains(text)) {
                        refusal[0] = r.getProperty(Mirror.NOT_OPEN_EXCEPTION) + ": " + reason;
                        return true;
                    }
                }
                return false;
            } catch (org.osgi.framework.InvalidSyntaxException e) {
                throw new AssertionError(e);
            }
        });
        return refusal[0];
    }
}
