package org.kcopyd.test;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertSame;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.snapshot.Snapshot;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.ServiceListener;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The regression of a static reference to the {@link BlockDeviceOpener}: a snapshot of a file
 * and a mirror of files keep their services (the same registrations, the same service.id, never
 * unregistered) while kcopyd.impl, which registers the opener, is stopped, started and updated
 * three times each; their devices are written and read correctly afterwards. A service listener
 * records every UNREGISTERING event of the snapshot and mirror bundles' services, which DS
 * delivers synchronously with kcopyd.impl's stop.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class EngineRestartKeepsVolumesTest extends KcopydTestSupport {

    private static final int SECTORS = 4096;
    private static final int CYCLES = 3;
    private Path dir;

    @Before
    public void makeDirectory() throws IOException {
        dir = Files.createTempDirectory("kcopyd-engine-restart");
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

    @Test
    public void fileSnapshotsAndMirrorsStayRegisteredWhileKcopydImplStopsStartsAndUpdates() throws Exception {
        byte[] initial = random(SECTORS * 512, 1);
        Path origin = Files.write(dir.resolve("origin.img"), initial);
        Path leg0 = Files.write(dir.resolve("leg0.img"), initial);
        Path leg1 = Files.write(dir.resolve("leg1.img"), new byte[initial.length]);
        ConfigurationAdmin cm = service(ConfigurationAdmin.class);
        Configuration snapshotConfig = cm.createFactoryConfiguration(Snapshot.FACTORY_PID, "?");
        snapshotConfig.update(properties(Snapshot.CONFIG_NAME, "keep", Snapshot.CONFIG_ORIGIN, origin.toString(),
                Snapshot.CONFIG_COW_STORE, dir.resolve("keep.cow").toString(), Snapshot.CONFIG_COW_STORE_SIZE_MIB, 8));
        Configuration mirrorConfig = cm.createFactoryConfiguration(Mirror.FACTORY_PID, "?");
        mirrorConfig.update(properties(Mirror.CONFIG_NAME, "keep", Mirror.CONFIG_LEGS,
                new String[] {leg0.toString(), leg1.toString()}, Mirror.CONFIG_REGION_SECTORS, 64,
                Mirror.CONFIG_REGION_LOG, dir.resolve("keep.log").toString()));
        String snapshotFilter = "(" + Snapshot.NAME + "=keep)";
        String originFilter = "(" + BlockDevice.ROLE + "=" + Snapshot.ROLE_ORIGIN + ")";
        String mirrorFilter = "(" + Mirror.NAME + "=keep)";
        String mirrorDeviceFilter = "(&(" + BlockDevice.ROLE + "=" + Mirror.ROLE_MIRROR + ")" + mirrorFilter + ")";
        Snapshot snapshot = awaitService(Snapshot.class, snapshotFilter);
        Mirror mirror = awaitService(Mirror.class, mirrorFilter);
        mirror.whenInSync().toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        // The store's and the log's identities written back into their configurations: nothing else changes them now.
        await("the COW store's and region log's identities recorded", () ->
                snapshot.cowStoreId().toString().equals(snapshotConfig.getProperties().get(Snapshot.CONFIG_COW_STORE_ID))
                && mirror.regionLogId().toString().equals(mirrorConfig.getProperties().get(Mirror.CONFIG_REGION_LOG_ID)));
        // Config Admin hands those back to the components (a no-op for them): no registration changes either.
        List<ServiceReference<?>> watched = new ArrayList<>(List.of(find(Snapshot.class, snapshotFilter),
                find(BlockDevice.class, "(&" + snapshotFilter + "(" + BlockDevice.ROLE + "=" + Snapshot.ROLE_SNAPSHOT
                        + "))"), find(BlockDevice.class, originFilter), find(Mirror.class, mirrorFilter),
                find(BlockDevice.class, mirrorDeviceFilter)));
        watched.forEach(ref -> assertNotNull("every service of the snapshot and mirror registered", ref));
        List<Object> ids = watched.stream().map(ref -> ref.getProperty(Constants.SERVICE_ID)).toList();
        List<String> unregistered = new CopyOnWriteArrayList<>();
        ServiceListener listener = event -> {
            String bsn = event.getServiceReference().getBundle() == null ? "?"
                    : event.getServiceReference().getBundle().getSymbolicName();
            if (event.getType() == ServiceEvent.UNREGISTERING
                    && (bsn.equals("kcopyd.snapshot") || bsn.equals("kcopyd.mirror"))) {
                unregistered.add(bsn + " service.id " + event.getServiceReference().getProperty(Constants.SERVICE_ID)
                        + " " + event.getServiceReference().getProperty(BlockDevice.ROLE));
            }
        };
        context.addServiceListener(listener);
        try {
            Bundle impl = bundle("kcopyd.impl");
            for (int cycle = 1; cycle <= CYCLES; cycle++) {
                impl.stop();
                assertEquals("no opener while kcopyd.impl is stopped", 0,
                        context.getServiceReferences(BlockDeviceOpener.class, null).size());
                assertStillRegistered("stop " + cycle, watched, ids, unregistered);
                impl.start();
                awaitOpener("start " + cycle);
                assertStillRegistered("start " + cycle, watched, ids, unregistered);
                impl.update();
                awaitOpener("update " + cycle);
                assertStillRegistered("update " + cycle, watched, ids, unregistered);
            }
        } finally {
            context.removeServiceListener(listener);
        }

        assertSame(snapshot, context.getService(find(Snapshot.class, snapshotFilter)));
        assertSame(mirror, context.getService(find(Mirror.class, mirrorFilter)));
        BlockDevice originDevice = context.getService(find(BlockDevice.class, originFilter));
        byte[] written = random(64 * 512, 2);
        originDevice.write(128, ByteBuffer.wrap(written)).toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        assertArrayEquals("the snapshot still reads its moment after the origin's write", initial,
                read(snapshot.device()));
        mirror.device().write(128, ByteBuffer.wrap(written)).toCompletableFuture()
                .get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        mirror.whenInSync().toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        byte[] expected = initial.clone();
        System.arraycopy(written, 0, expected, 128 * 512, written.length);
        assertArrayEquals("leg 0 took the write", expected, Files.readAllBytes(leg0));
        assertArrayEquals("leg 1 took the write", expected, Files.readAllBytes(leg1));
        snapshotConfig.delete();
        mirrorConfig.delete();
        await("the snapshot's and mirror's services gone", () -> find(Snapshot.class, null) == null
                && find(Mirror.class, null) == null && find(BlockDevice.class, originFilter) == null);
    }

    private void assertStillRegistered(String when, List<ServiceReference<?>> watched, List<Object> ids,
            List<String> unregistered) {
        assertEquals("services of the snapshot and mirror unregistered after " + when, List.of(), unregistered);
        for (int i = 0; i < watched.size(); i++) {
            ServiceReference<?> ref = watched.get(i);
            assertNotNull("service " + ids.get(i) + " still registered after " + when, ref.getBundle());
            assertEquals(ids.get(i), ref.getProperty(Constants.SERVICE_ID));
        }
    }

    private void awaitOpener(String when) {
        await("a BlockDeviceOpener registered after " + when, () -> {
            try {
                return !context.getServiceReferences(BlockDeviceOpener.class, null).isEmpty();
            } catch (InvalidSyntaxException e) {
                throw new IllegalStateException(e);
            }
        });
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

    private static byte[] read(BlockDevice device) {
        ByteBuffer b = ByteBuffer.allocate((int) device.sizeInSectors() * BlockDevice.SECTOR_SIZE);
        device.read(0, b).toCompletableFuture().join();
        return b.array();
    }

    private <T> T awaitService(Class<T> type, String filter) {
        await(type.getSimpleName() + " " + filter, () -> find(type, filter) != null);
        return context.getService(find(type, filter));
    }

    private <T> ServiceReference<T> find(Class<T> type, String filter) {
        try {
            Collection<ServiceReference<T>> refs = context.getServiceReferences(type, filter);
            return refs.isEmpty() ? null : refs.iterator().next();
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
