package org.kcopyd.cli.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.control.KcopydControl;
import org.kcopyd.device.FileClaims;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The services, looked up when a command needs them (so the commands follow services that come
 * and go), waiting a bounded time for those that are not there yet. Open until {@link #close()}.
 */
final class OsgiServices implements Services, AutoCloseable {

    private final BundleContext context;
    private final Map<String, ServiceTracker<?, ?>> trackers = new HashMap<>();

    OsgiServices(BundleContext context) {
        this.context = context;
    }

    private synchronized <T> ServiceTracker<T, T> tracker(Class<T> type) {
        @SuppressWarnings("unchecked")
        ServiceTracker<T, T> t = (ServiceTracker<T, T>) trackers.computeIfAbsent(type.getName(), n -> {
            ServiceTracker<T, T> created = new ServiceTracker<>(context, type, null);
            created.open();
            return created;
        });
        return t;
    }

    private <T> T await(Class<T> type, Duration wait, String what) {
        try {
            T service = tracker(type).waitForService(Math.max(1, wait.toMillis()));
            if (service == null) {
                throw new IllegalStateException("no " + what + " is available (waited " + wait.toSeconds() + " s)");
            }
            return service;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + what, e);
        }
    }

    @Override
    public KcopydClientFactory factory(Duration wait) {
        return await(KcopydClientFactory.class, wait, "kcopyd client factory (is kcopyd.impl started?)");
    }

    @Override
    public BlockDeviceOpener devices(Duration wait) {
        return await(BlockDeviceOpener.class, wait, "kcopyd device opener (is kcopyd.impl started?)");
    }

    @Override
    public Map<String, Object> factoryProperties() {
        ServiceReference<KcopydClientFactory> ref = tracker(KcopydClientFactory.class).getServiceReference();
        Map<String, Object> props = new HashMap<>();
        if (ref != null) {
            for (String key : ref.getPropertyKeys()) {
                props.put(key, ref.getProperty(key));
            }
        }
        return props;
    }

    @Override
    public ConfigurationAdmin configurationAdmin() {
        return await(ConfigurationAdmin.class, Console.WAIT, "Config Admin service");
    }

    @Override
    public KcopydControl control() {
        return await(KcopydControl.class, Console.WAIT, "kcopyd control service (is the bundle org.kcopyd.control "
                + "started?)");
    }

    private <T> List<T> all(Class<T> type) {
        Object[] services = tracker(type).getServices();
        List<T> list = new ArrayList<>();
        if (services != null) {
            for (Object s : services) {
                list.add(type.cast(s));
            }
        }
        return list;
    }

    @Override
    public List<Snapshot> snapshots() {
        return all(Snapshot.class);
    }

    @Override
    public List<Mirror> mirrors() {
        return all(Mirror.class);
    }

    private <T> T awaitMatching(Class<T> type, Predicate<T> match, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        ServiceTracker<T, T> tracker = tracker(type);
        while (true) {
            int count = tracker.getTrackingCount();
            for (T s : all(type)) {
                if (match.test(s)) {
                    return s;
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            synchronized (tracker) {
                if (tracker.getTrackingCount() == count) {
                    try {
                        // Woken by nothing but the timeout: a tracker has no change signal, so poll briefly.
                        tracker.wait(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 1, 50));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return null;
                    }
                }
            }
        }
    }

    @Override
    public Snapshot snapshot(String name, Duration wait) {
        return awaitMatching(Snapshot.class, s -> s.name().equals(name), wait);
    }

    @Override
    public Mirror mirror(String name, Duration wait) {
        return awaitMatching(Mirror.class, m -> m.name().equals(name), wait);
    }

    @Override
    public BlockDevice origin(String path, Duration wait) {
        ServiceTracker<BlockDevice, BlockDevice> tracker = tracker(BlockDevice.class);
        return awaitMatching(BlockDevice.class, d -> {
            ServiceReference<BlockDevice>[] refs = tracker.getServiceReferences();
            if (refs == null) {
                return false;
            }
            for (ServiceReference<BlockDevice> ref : refs) {
                if (Snapshot.ROLE_ORIGIN.equals(ref.getProperty(BlockDevice.ROLE))
                        && sameFile(path, ref.getProperty(Snapshot.ORIGIN)) && tracker.getService(ref) == d) {
                    return true;
                }
            }
            return false;
        }, wait);
    }

    /** By file identity: the origin service names the origin as its first snapshot spelt it. */
    private static boolean sameFile(String path, Object origin) {
        if (path.equals(origin)) {
            return true;
        }
        try {
            return origin != null && FileClaims.identityOf(Path.of(path))
                    .equals(FileClaims.identityOf(Path.of(origin.toString())));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    @Override
    public synchronized void close() {
        trackers.values().forEach(ServiceTracker::close);
        trackers.clear();
    }
}
