package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.Map;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.ClientBinding;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The bundle's origins and its kcopyd client. Each origin used by at least one snapshot is open
 * once and registered as a snapshot-aware {@link BlockDevice} service. The client comes from
 * whichever {@link KcopydClientFactory} is bound (dynamic, greedy): while there is none, copies
 * wait for one, up to each snapshot's configured time, then fail with a clear error; when one
 * returns they continue with it.
 */
@Component(service = Origins.class, immediate = true)
public final class Origins {

    private static final FileDeviceOpener FILES = new FileDeviceOpener(false);

    private final Object lock = new Object();
    private final ClientBinding kcopyd = new ClientBinding(KcopydClientFactory::createClient);
    private final Map<Path, Entry> origins = new HashMap<>();
    private BundleContext context;

    /** An open origin, its service and the number of snapshots using it. */
    private static final class Entry {
        Origin origin;
        ServiceRegistration<BlockDevice> registration;
        int users;
    }

    @Activate
    void activate(BundleContext bundleContext) {
        this.context = bundleContext;
    }

    @Deactivate
    void deactivate() {
        kcopyd.close();
        synchronized (lock) {
            for (Entry e : origins.values()) {
                e.registration.unregister();
                closeQuietly(e.origin.device());
            }
            origins.clear();
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindFactory(KcopydClientFactory factory) {
        kcopyd.bind(factory);
    }

    void unbindFactory(KcopydClientFactory factory) {
        // Copies in flight finish and report before the client goes.
        kcopyd.unbind(factory);
    }

    /** Opens (or shares) the origin at {@code path} and attaches a snapshot to it. */
    SnapshotVolume attach(Path path, String name, BlockDevice cow, int chunkSectors, int maxCopies, Duration wait)
            throws IOException {
        synchronized (lock) {
            Entry entry = origins.get(path);
            boolean created = entry == null;
            if (created) {
                entry = new Entry();
                entry.origin = new Origin(FILES.open(path, DeviceOption.READ_WRITE), kcopyd, wait, maxCopies);
            }
            SnapshotVolume snapshot;
            try {
                snapshot = entry.origin.attach(name, cow, chunkSectors);
            } catch (IOException | RuntimeException e) {
                if (created) {
                    closeQuietly(entry.origin.device());
                }
                throw e;
            }
            if (created) {
                Hashtable<String, Object> props = new Hashtable<>();
                props.put(Snapshot.ROLE, "origin");
                props.put(Snapshot.ORIGIN, path.toString());
                entry.registration = context.registerService(BlockDevice.class, entry.origin, props);
                origins.put(path, entry);
            }
            entry.users++;
            return snapshot;
        }
    }

    /** Detaches a snapshot; the origin closes with its last snapshot. */
    void detach(Path path, SnapshotVolume snapshot) {
        synchronized (lock) {
            Entry entry = origins.get(path);
            if (entry == null) {
                return;
            }
            entry.origin.detach(snapshot);
            if (--entry.users == 0) {
                origins.remove(path);
                entry.registration.unregister();
                closeQuietly(entry.origin.device());
            }
        }
    }

    static BlockDevice openCow(Path path, long sizeMiB) throws IOException {
        if (java.nio.file.Files.exists(path)) {
            return FILES.open(path, DeviceOption.READ_WRITE);
        }
        return FILES.create(path, sizeMiB * 2048);
    }

    static void closeQuietly(BlockDevice device) {
        try {
            device.close();
        } catch (IOException e) {
            System.getLogger(Origins.class.getName()).log(System.Logger.Level.WARNING,
                    "closing " + device.name() + " failed", e);
        }
    }
}
