package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Hashtable;
import java.util.Map;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One snapshot per factory configuration: opens (or creates) its COW store, attaches it to the
 * origin, and registers the {@link Snapshot} and snapshot {@link BlockDevice} services. Deleting
 * the configuration detaches the snapshot; its COW store file stays, so re-creating the
 * configuration reopens the snapshot as it was.
 */
@Component(configurationPid = SnapshotComponent.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = {}, immediate = true)
@Designate(ocd = SnapshotConfiguration.class, factory = true)
public final class SnapshotComponent {

    static final String FACTORY_PID = "org.kcopyd.snapshot";

    @Reference
    private Origins origins;

    private Path originPath;
    private SnapshotVolume snapshot;
    private BlockDevice cow;
    private ServiceRegistration<Snapshot> snapshotRegistration;
    private ServiceRegistration<BlockDevice> deviceRegistration;

    @Activate
    void activate(BundleContext context, SnapshotConfiguration config, Map<String, Object> properties)
            throws IOException {
        String name = required(config.name(), "name");
        originPath = Path.of(required(config.origin(), "origin"));
        Path cowPath = Path.of(required(config.cowStore(), "cowStore"));
        int chunk = config.chunkSectors();
        if (chunk < 8 || chunk > 2048 || Integer.bitCount(chunk) != 1) {
            throw new IllegalArgumentException("snapshot '" + name + "': chunkSectors " + chunk
                    + " is not a power of two in 8..2048");
        }
        cow = Origins.openCow(cowPath, config.cowStoreSizeMiB());
        try {
            snapshot = origins.attach(originPath, name, cow, chunk, config.maxCopiesInFlight(),
                    Duration.ofSeconds(config.factoryWaitSeconds()));
        } catch (IOException | RuntimeException e) {
            Origins.closeQuietly(cow);
            throw e;
        }
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Snapshot.NAME, name);
        props.put(Snapshot.ORIGIN, originPath.toString());
        props.put("kcopyd.snapshot.cowStore", cowPath.toString());
        snapshotRegistration = context.registerService(Snapshot.class, snapshot, props);
        props.put(Snapshot.ROLE, "snapshot");
        deviceRegistration = context.registerService(BlockDevice.class, snapshot.device(), props);
    }

    private static String required(String value, String property) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("snapshot configuration lacks '" + property + "'");
        }
        return value;
    }

    @Deactivate
    void deactivate() {
        deviceRegistration.unregister();
        snapshotRegistration.unregister();
        origins.detach(originPath, snapshot);
        Origins.closeQuietly(cow);
    }
}
