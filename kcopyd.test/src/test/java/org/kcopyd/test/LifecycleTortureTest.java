package org.kcopyd.test;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.EngineSettings.Setting;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.snapshot.Snapshot;
import org.kcopyd.snapshot.SnapshotState;
import org.kcopyd.testbundle.ConsumerProbe;
import org.kcopyd.testbundle.LoadReport;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.Bundle;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The bundles' lifecycle under load, in a real framework: kcopyd.impl stopped, started and
 * updated 50 times each and reconfigured 200 times (valid and invalid configurations) while a
 * consumer bundle copies without pause; the snapshot and mirror bundles restarted 20 times each
 * under writes.
 * Nothing is waited for with sleeps: every step awaits its outcome with a timeout.
 * {@code -Dkcopyd.seed=N} replays the random choices (the timing is the framework's).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class LifecycleTortureTest extends KcopydTestSupport {

    private static final int ENGINE_CYCLES = 50;
    private static final int CONFIGURATION_CHANGES = 200;
    private static final int VOLUME_RESTARTS = 20;
    /** Jobs (or writes) to see complete between two lifecycle steps, so each step happens under load. */
    private static final int PROGRESS = 10;
    private static final int DEVICE_SECTORS = 4096;
    private static final int VOLUME_SECTORS = 8192;
    private static final int WRITE_LANES = 4;

    private final long seed = Long.getLong("kcopyd.seed", System.nanoTime());
    private Path dir;

    @Before
    public void makeDirectory() throws IOException {
        dir = Files.createTempDirectory("kcopyd-torture");
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

    private String seeded(String what) {
        return what + " (seed " + seed + ", replay with -Dkcopyd.seed=" + seed + ")";
    }

    // ---- the engine ----

    @Test
    public void theEngineSurvivesRestartsUpdatesAndReconfigurationUnderLoad() throws Exception {
        ConsumerProbe probe = service(ConsumerProbe.class);
        Bundle impl = bundle("kcopyd.impl");
        EngineConfigurations configurations = new EngineConfigurations(service(ConfigurationAdmin.class),
                new Random(seed));
        awaitBoundToTheLiveFactory(probe);
        SlowMemoryDevice source = new SlowMemoryDevice("source", DEVICE_SECTORS, 1, seed | 1);
        SlowMemoryDevice target = new SlowMemoryDevice("target", DEVICE_SECTORS, 0, 0);
        probe.startLoad(source, target, 16, 128, seed);
        DirectMemory baseline = null;
        List<String> afterStops = new ArrayList<>();

        for (int cycle = 0; cycle < ENGINE_CYCLES; cycle++) {
            configurations.change();
            configurations.change();
            awaitJobs(probe);
            impl.update();
            awaitBoundToTheLiveFactory(probe);
            configurations.assertInEffect("after update " + (cycle + 1));
            configurations.change();
            configurations.change();
            awaitJobs(probe);
            impl.stop();
            assertNothingOfTheEngineLeft(probe, impl);
            afterStops.add(DirectMemory.now() + " (" + configurations.inEffect.get("subJobKiB") + " KiB sub-jobs)");
            if (cycle == 0) {
                // After one update and one stop, so that what the framework itself keeps is counted in.
                baseline = DirectMemory.now();
            } else if (cycle == ENGINE_CYCLES - 1) {
                DirectMemory first = baseline;
                await(seeded("direct buffers back to " + first + " after the last stop, still " + DirectMemory.now()
                        + "; after each stop: " + afterStops), () -> DirectMemory.now().notAbove(first));
            }
            impl.start();
            awaitBoundToTheLiveFactory(probe);
            configurations.assertInEffect("after start " + (cycle + 1));
        }
        awaitJobs(probe);
        LoadReport report = probe.stopLoad(TIMEOUT_MS);

        assertEquals(CONFIGURATION_CHANGES, configurations.changes());
        assertEquals(seeded("every accepted job completed exactly once, a failure with its reason: " + report),
                List.of(), report.problems());
        assertEquals(seeded("no job still running: " + report), 0, report.pending());
        assertTrue(seeded("jobs ran all along: " + report), report.succeeded() > 2 * ENGINE_CYCLES * PROGRESS);
        byte[] from = source.bytes();
        byte[] to = target.bytes();
        for (long[] region : report.succeededRegions()) {
            int start = (int) region[0] * BlockDevice.SECTOR_SIZE;
            int end = start + (int) region[1] * BlockDevice.SECTOR_SIZE;
            assertTrue(seeded("sectors " + region[0] + "+" + region[1] + " copied"),
                    Arrays.equals(from, start, end, to, start, end));
        }
        awaitBoundToTheLiveFactory(probe);
    }

    /** Waits until the consumer holds a client of the factory registered now, and only that one. */
    private void awaitBoundToTheLiveFactory(ConsumerProbe probe) {
        await(seeded("the consumer bound to the live factory"), () -> {
            ServiceReference<KcopydClientFactory> live = context.getServiceReference(KcopydClientFactory.class);
            List<String> events = probe.events();
            return live != null && probe.isBound() && !events.isEmpty()
                    && events.get(events.size() - 1).equals("bind " + live.getProperty("service.id"));
        });
    }

    /** Waits until the load has completed {@value #PROGRESS} more jobs. */
    private void awaitJobs(ConsumerProbe probe) {
        int before = probe.loadCompleted();
        await(seeded("the consumer's jobs progress past " + before), () -> probe.loadCompleted() >= before + PROGRESS);
    }

    private void assertNothingOfTheEngineLeft(ConsumerProbe probe, Bundle impl) throws InvalidSyntaxException {
        await(seeded("no kcopyd thread left after stop, still: " + kcopydThreads()), () -> kcopydThreads().isEmpty());
        assertNull("kcopyd.impl registers nothing once stopped", impl.getRegisteredServices());
        assertNull("kcopyd.impl uses no service once stopped", impl.getServicesInUse());
        assertEquals(List.of(), List.copyOf(context.getServiceReferences(KcopydClientFactory.class, null)));
        assertEquals(List.of(), List.copyOf(context.getServiceReferences(BlockDeviceOpener.class, null)));
        assertNull("no kcopyd shell command", context.getAllServiceReferences(null, "(osgi.command.scope=kcopyd)"));
        assertTrue("the consumer let go of the factory", !probe.isBound());
        List<String> events = probe.events();
        assertTrue(events.toString(), events.get(events.size() - 1).startsWith("unbind "));
    }

    /** The platform's count of direct buffers and the memory they hold. */
    private record DirectMemory(long count, long bytes) {
        static DirectMemory now() {
            for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
                if (pool.getName().equals("direct")) {
                    return new DirectMemory(pool.getCount(), pool.getMemoryUsed());
                }
            }
            throw new AssertionError("no 'direct' buffer pool among the platform's MXBeans");
        }

        boolean notAbove(DirectMemory other) {
            return count <= other.count && bytes <= other.bytes;
        }

        @Override
        public String toString() {
            return count + " buffers of " + bytes + " bytes";
        }
    }

    /**
     * The engine's configuration, changed at random: valid configurations (a unique
     * {@code maxQueuedJobs} marks each one), invalid ones of six kinds (each naming a unique bad
     * value), and deletions. Knows what the factory must publish after each change and after the
     * engine restarts.
     */
    private final class EngineConfigurations {
        private final ConfigurationAdmin cm;
        private final Random random;
        private final Map<String, Object> defaults = EngineSettings.defaults().toMap();
        private int changes;
        /** What the configuration store holds: null (none), or the last configuration written. */
        private Map<String, Object> stored;
        /** The fragments the refusal of the stored configuration names, or null if it is valid. */
        private List<String> storedRefusal;
        /** The settings the running engine has (the last valid ones, or the defaults). */
        private Map<String, Object> inEffect;

        EngineConfigurations(ConfigurationAdmin cm, Random random) {
            this.cm = cm;
            this.random = random;
            this.inEffect = defaults;
        }

        int changes() {
            return changes;
        }

        void change() throws IOException {
            int n = changes++;
            int kind = random.nextInt(10);
            if (kind == 0 && stored != null) {
                cm.getConfiguration(KcopydClientFactory.PID, "?").delete();
                stored = null;
                storedRefusal = null;
                inEffect = defaults;
                awaitPublished("deletion " + n, KcopydClientFactory.CONFIG_STATE_DEFAULTS, null);
                return;
            }
            Map<String, Object> settings = new LinkedHashMap<>(defaults);
            Hashtable<String, Object> properties = validConfiguration(n, settings);
            List<String> refusal = kind < 6 ? null : breakIt(random.nextInt(6), n, properties);
            cm.getConfiguration(KcopydClientFactory.PID, "?").update(properties);
            stored = properties;
            storedRefusal = refusal;
            if (refusal == null) {
                inEffect = settings;
                awaitPublished("valid configuration " + n + " " + properties, KcopydClientFactory.CONFIG_STATE_APPLIED,
                        null);
            } else {
                awaitPublished("invalid configuration " + n + " " + properties, KcopydClientFactory.CONFIG_STATE_REFUSED,
                        refusal);
            }
        }

        /** After a start, the engine activates with the stored configuration: refused, it has the defaults. */
        void assertInEffect(String when) {
            if (stored == null) {
                awaitPublished("no configuration " + when, KcopydClientFactory.CONFIG_STATE_DEFAULTS, null);
            } else if (storedRefusal == null) {
                awaitPublished("the stored configuration " + when, KcopydClientFactory.CONFIG_STATE_APPLIED, null);
            } else {
                inEffect = defaults;
                awaitPublished("the stored invalid configuration " + when, KcopydClientFactory.CONFIG_STATE_REFUSED,
                        storedRefusal);
            }
        }

        /**
         * @param settings filled with the settings the configuration asks for
         * @return a valid configuration, some values as strings (as FileInstall gives them)
         */
        private Hashtable<String, Object> validConfiguration(int n, Map<String, Object> settings) {
            Hashtable<String, Object> p = new Hashtable<>();
            put(p, settings, Setting.MAX_QUEUED_JOBS, 100 + n);
            if (random.nextBoolean()) {
                put(p, settings, Setting.DEFAULT_PAGES, new int[] {16, 64, 256, 1024}[random.nextInt(4)]);
            }
            if (random.nextBoolean()) {
                put(p, settings, Setting.SUB_JOB_KIB, new int[] {4, 64, 512}[random.nextInt(3)]);
            }
            if (random.nextBoolean()) {
                put(p, settings, Setting.SUB_JOBS_PER_JOB, 1 + random.nextInt(16));
            }
            if (random.nextBoolean()) {
                put(p, settings, Setting.IO_THREADS, 1 + random.nextInt(6));
            }
            if (random.nextBoolean()) {
                put(p, settings, Setting.THROTTLE_IO_PERCENT, 50 + random.nextInt(51));
            }
            if (random.nextBoolean()) {
                put(p, settings, Setting.THROTTLE_BYTES_PER_SECOND, random.nextBoolean() ? 0L
                        : (64L + random.nextInt(192)) << 20);
            }
            return p;
        }

        private void put(Hashtable<String, Object> p, Map<String, Object> settings, Setting s, Object value) {
            p.put(s.propertyName(), random.nextInt(4) == 0 ? String.valueOf(value) : value);
            settings.put(s.propertyName(), value);
        }

        /**
         * Makes the configuration invalid in one of six ways, with a value unique to change {@code n}.
         *
         * @return what the refusal must name
         */
        private List<String> breakIt(int kind, int n, Hashtable<String, Object> p) {
            switch (kind) {
                case 0 -> {
                    int pages = 262_145 + n;
                    p.put(Setting.DEFAULT_PAGES.propertyName(), pages);
                    return List.of("defaultPages " + pages + " is outside the allowed range",
                            Setting.DEFAULT_PAGES.min() + ".." + Setting.DEFAULT_PAGES.max());
                }
                case 1 -> {
                    int kib = 6 + 4 * n;
                    p.put(Setting.SUB_JOB_KIB.propertyName(), kib);
                    return List.of("subJobKiB " + kib + " is not a multiple of");
                }
                case 2 -> {
                    p.put(Setting.IO_THREADS.propertyName(), "many" + n);
                    return List.of("ioThreads value 'many" + n + "'", "is not a whole number",
                            Setting.IO_THREADS.min() + ".." + Setting.IO_THREADS.max());
                }
                case 3 -> {
                    p.put("ioThreadz" + n, 4);
                    return List.of("unknown setting 'ioThreadz" + n + "'");
                }
                case 4 -> {
                    int pages = 300 + n;
                    p.put(Setting.DEFAULT_PAGES.propertyName(), pages);
                    p.put(Setting.MAX_PAGES_PER_CLIENT.propertyName(), 200);
                    return List.of("defaultPages " + pages + " is above maxPagesPerClient 200");
                }
                default -> {
                    long rate = 100L + n;
                    p.put(Setting.THROTTLE_BYTES_PER_SECOND.propertyName(), rate);
                    return List.of("throttleBytesPerSecond " + rate + " is outside the allowed range",
                            ".." + Setting.THROTTLE_BYTES_PER_SECOND.max());
                }
            }
        }

        /** Waits until the factory publishes {@link #inEffect}, the state, and the refusal naming {@code refusal}. */
        private void awaitPublished(String what, String state, List<String> refusal) {
            Map<String, Object> expected = inEffect;
            await(seeded(what + ": published " + state + " " + expected + " " + (refusal == null ? "" : refusal)
                    + ", found " + published()), () -> {
                        Map<String, Object> found = published();
                        if (found == null || !state.equals(found.get(KcopydClientFactory.CONFIG_STATE))) {
                            return false;
                        }
                        for (Map.Entry<String, Object> e : expected.entrySet()) {
                            if (!String.valueOf(e.getValue()).equals(String.valueOf(found.get(e.getKey())))) {
                                return false;
                            }
                        }
                        Object reason = found.get(KcopydClientFactory.CONFIG_REFUSED);
                        if (refusal == null) {
                            return reason == null;
                        }
                        return reason instanceof String text && refusal.stream().allMatch(text::contains);
                    });
        }

        /** @return the live factory's service properties, or null while there is none */
        private Map<String, Object> published() {
            ServiceReference<KcopydClientFactory> ref = context.getServiceReference(KcopydClientFactory.class);
            if (ref == null) {
                return null;
            }
            Map<String, Object> properties = new LinkedHashMap<>();
            for (String key : ref.getPropertyKeys()) {
                properties.put(key, ref.getProperty(key));
            }
            return properties;
        }
    }

    // ---- snapshot and mirror ----

    @Test
    public void aSnapshotLosesNoChunkWhileItsBundleRestartsUnderWrites() throws Exception {
        byte[] initial = random(VOLUME_SECTORS * BlockDevice.SECTOR_SIZE, seed);
        Path origin = Files.write(dir.resolve("origin.img"), initial);
        Configuration config = service(ConfigurationAdmin.class).createFactoryConfiguration(Snapshot.FACTORY_PID, "?");
        config.update(properties(Snapshot.CONFIG_NAME, "t1", Snapshot.CONFIG_ORIGIN, origin.toString(),
                Snapshot.CONFIG_COW_STORE, dir.resolve("t1.cow").toString(), Snapshot.CONFIG_COW_STORE_SIZE_MIB, 16,
                Snapshot.CONFIG_CHUNK_SECTORS, 16));
        String snapshotFilter = "(" + Snapshot.NAME + "=t1)";
        String originFilter = "(" + BlockDevice.ROLE + "=" + Snapshot.ROLE_ORIGIN + ")";
        awaitService(Snapshot.class, snapshotFilter);
        Writer writer = new Writer(originFilter, initial);

        restartUnderWrites(bundle("kcopyd.snapshot"), writer, Snapshot.class, snapshotFilter, originFilter);
        byte[] written = writer.stop();

        assertEquals(seeded("every write landed, retried on the restarted origin if it failed"), List.of(),
                writer.problems());
        assertTrue(seeded("a restart fails at most the write in flight in each lane: " + writer.failedAttempts()),
                writer.failedAttempts().size() <= VOLUME_RESTARTS * WRITE_LANES);
        Snapshot snapshot = awaitService(Snapshot.class, snapshotFilter);
        assertEquals(seeded("the snapshot is valid " + snapshot.invalidReason().orElse("")), SnapshotState.ACTIVE,
                snapshot.state());
        assertArrayEquals(seeded("the snapshot still reads the data of its moment"), initial, read(snapshot.device()));
        assertArrayEquals(seeded("the origin reads its latest writes"), written,
                read(awaitService(BlockDevice.class, originFilter)));
        config.delete();
        await("the snapshot's services gone", () -> find(Snapshot.class, null) == null
                && find(BlockDevice.class, originFilter) == null);
        assertArrayEquals(seeded("the origin file holds the latest writes"), written, Files.readAllBytes(origin));
    }

    @Test
    public void mirrorLegsConvergeWhileTheMirrorBundleRestartsUnderWrites() throws Exception {
        byte[] initial = random(VOLUME_SECTORS * BlockDevice.SECTOR_SIZE, seed);
        Path leg0 = Files.write(dir.resolve("leg0.img"), initial);
        Path leg1 = Files.write(dir.resolve("leg1.img"), new byte[initial.length]);
        Configuration config = service(ConfigurationAdmin.class).createFactoryConfiguration(Mirror.FACTORY_PID, "?");
        config.update(properties(Mirror.CONFIG_NAME, "t1", Mirror.CONFIG_LEGS,
                new String[] {leg0.toString(), leg1.toString()}, Mirror.CONFIG_REGION_SECTORS, 64,
                Mirror.CONFIG_REGION_LOG, dir.resolve("t1.log").toString()));
        String mirrorFilter = "(" + Mirror.NAME + "=t1)";
        String deviceFilter = "(&(" + BlockDevice.ROLE + "=" + Mirror.ROLE_MIRROR + ")" + mirrorFilter + ")";
        awaitService(Mirror.class, mirrorFilter);
        Writer writer = new Writer(deviceFilter, initial);

        restartUnderWrites(bundle("kcopyd.mirror"), writer, Mirror.class, mirrorFilter, deviceFilter);
        byte[] written = writer.stop();

        assertEquals(seeded("every write landed, retried on the restarted mirror if it failed"), List.of(),
                writer.problems());
        assertTrue(seeded("a restart fails at most the write in flight in each lane: " + writer.failedAttempts()),
                writer.failedAttempts().size() <= VOLUME_RESTARTS * WRITE_LANES);
        Mirror mirror = awaitService(Mirror.class, mirrorFilter);
        mirror.whenInSync().toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        mirror.status().legs().forEach(leg -> assertEquals(leg.toString(), LegState.IN_SYNC, leg.state()));
        assertArrayEquals(seeded("the mirror reads its latest writes"), written, read(mirror.device()));
        assertArrayEquals(seeded("leg 0 converged"), written, Files.readAllBytes(leg0));
        assertArrayEquals(seeded("leg 1 converged"), written, Files.readAllBytes(leg1));
        config.delete();
        await("the mirror's services gone", () -> find(Mirror.class, null) == null);
    }

    /**
     * Restarts {@code bundle} {@value #VOLUME_RESTARTS} times, each time after the writer has made
     * progress, and waits for its volume and device services to be back.
     */
    private void restartUnderWrites(Bundle bundle, Writer writer, Class<?> volume, String volumeFilter,
            String deviceFilter) throws Exception {
        for (int i = 0; i < VOLUME_RESTARTS; i++) {
            writer.awaitProgress();
            bundle.stop();
            assertNull(bundle + " registers nothing once stopped", bundle.getRegisteredServices());
            bundle.start();
            await(seeded(volume.getSimpleName() + " and its device back after restart " + (i + 1)),
                    () -> find(volume, volumeFilter) != null && find(BlockDevice.class, deviceFilter) != null);
        }
        writer.awaitProgress();
    }

    /**
     * Writes random data to a device service from {@value #WRITE_LANES} threads, each one write at
     * a time in its own part of the device, and keeps what the device must read back. A write that
     * fails is retried, whole, once its service has gone (with its bundle) and the next one is
     * registered: so the expected content stays exact, and a failure for any other reason, or a
     * write that never completes, is a problem.
     */
    private final class Writer {
        private final ServiceTracker<BlockDevice, BlockDevice> device;
        private final byte[] expected;
        private final List<Thread> lanes = new ArrayList<>();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AtomicInteger written = new AtomicInteger();
        private final List<String> problems = new CopyOnWriteArrayList<>();
        private final List<String> failedAttempts = new CopyOnWriteArrayList<>();

        Writer(String filter, byte[] initial) throws InvalidSyntaxException {
            this.device = new ServiceTracker<>(context, context.createFilter("(&(objectClass="
                    + BlockDevice.class.getName() + ")" + filter + ")"), null);
            this.device.open();
            this.expected = initial.clone();
            int laneSectors = VOLUME_SECTORS / WRITE_LANES;
            for (int i = 0; i < WRITE_LANES; i++) {
                int lane = i;
                Thread t = new Thread(() -> run(lane * laneSectors, laneSectors, seed + 1 + lane), "torture-writer-" + i);
                lanes.add(t);
                t.start();
            }
        }

        private void run(int first, int sectors, long laneSeed) {
            Random r = new Random(laneSeed);
            try {
                while (!stop.get()) {
                    int count = 1 + r.nextInt(64);
                    long sector = first + r.nextInt(sectors - count);
                    byte[] data = random(count * BlockDevice.SECTOR_SIZE, r.nextLong());
                    if (!writeUntilItLands(sector, data)) {
                        return;
                    }
                    // Each lane has its own bytes: no two threads write the same part of the array.
                    System.arraycopy(data, 0, expected, (int) sector * BlockDevice.SECTOR_SIZE, data.length);
                    written.incrementAndGet();
                }
            } catch (InterruptedException e) {
                problems.add(Thread.currentThread().getName() + " was interrupted");
            } catch (RuntimeException | Error e) {
                problems.add(Thread.currentThread().getName() + " failed: " + e);
            }
        }

        /** @return false if the write could not land within the timeout (a problem is recorded) */
        private boolean writeUntilItLands(long sector, byte[] data) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
            String what = data.length / BlockDevice.SECTOR_SIZE + " sectors at " + sector;
            while (System.nanoTime() < deadline) {
                BlockDevice d = device.waitForService(TIMEOUT_MS);
                if (d == null) {
                    problems.add("no device service within " + TIMEOUT_MS + " ms for a write of " + what);
                    return false;
                }
                try {
                    d.write(sector, ByteBuffer.wrap(data)).toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
                    return true;
                } catch (java.util.concurrent.TimeoutException hung) {
                    problems.add("a write of " + what + " did not complete within " + TIMEOUT_MS + " ms");
                    return false;
                } catch (Exception failed) {
                    failedAttempts.add(what + ": " + failed);
                    // Only the device's going away excuses a failed write: wait for its successor.
                    while (device.getService() == d) {
                        if (System.nanoTime() > deadline) {
                            problems.add("a write of " + what + " failed and the device stayed registered: " + failed);
                            return false;
                        }
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
                    }
                }
            }
            problems.add("a write of " + what + " did not land within " + TIMEOUT_MS + " ms: " + failedAttempts);
            return false;
        }

        void awaitProgress() {
            int before = written.get();
            await(seeded("writes progress past " + before + ", problems " + problems),
                    () -> written.get() >= before + PROGRESS || !problems.isEmpty());
            assertEquals(seeded("the writers' problems"), List.of(), problems);
        }

        /** @return what the device must read: the initial content with every write applied */
        byte[] stop() throws InterruptedException {
            stop.set(true);
            for (Thread t : lanes) {
                t.join(TIMEOUT_MS);
                assertTrue(t.getName() + " stopped", !t.isAlive());
            }
            device.close();
            return expected;
        }

        List<String> problems() {
            return problems;
        }

        /** @return the writes that failed and were retried, each "N sectors at S: exception" */
        List<String> failedAttempts() {
            return failedAttempts;
        }
    }

    // ---- helpers ----

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
