package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.ClientBinding;
import org.kcopyd.api.ClientOptions;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.api.Throttle;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.mirror.Mirror;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One mirror per factory configuration. Its kcopyd client comes from whichever factory is bound
 * (dynamic, greedy) and uses the mirror's own named throttle, set live from the configuration.
 * While no factory is bound, the resync pauses; writes and reads go on.
 */
@Component(configurationPid = MirrorComponent.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = {}, immediate = true)
@Designate(ocd = MirrorConfiguration.class, factory = true)
public final class MirrorComponent {

    static final String FACTORY_PID = "org.kcopyd.mirror";
    /** Service property naming a BlockDevice service that a mirror leg {@code service:NAME} can use. */
    static final String DEVICE_NAME = "kcopyd.device.name";
    private static final String SERVICE_LEG = "service:";
    private final List<org.osgi.framework.ServiceReference<BlockDevice>> serviceLegs = new ArrayList<>();
    private BundleContext bundleContext;
    private static final FileDeviceOpener FILES = new FileDeviceOpener(false);

    private final ClientBinding kcopyd = new ClientBinding(this::clientFor);
    private final java.util.Set<KcopydClientFactory> factories = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile MirrorConfiguration config;
    private final List<BlockDevice> opened = new ArrayList<>();
    private MirrorVolume mirror;
    private ServiceRegistration<Mirror> mirrorRegistration;
    private ServiceRegistration<BlockDevice> deviceRegistration;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindFactory(KcopydClientFactory factory) {
        factories.add(factory);
        // DS binds before activation: the client, which needs the configuration, is then made in open().
        if (config != null) {
            kcopyd.bind(factory);
        }
    }

    void unbindFactory(KcopydClientFactory factory) {
        factories.remove(factory);
        kcopyd.unbind(factory);
    }

    private org.kcopyd.api.KcopydClient clientFor(KcopydClientFactory factory) {
        MirrorConfiguration c = config;
        Throttle throttle = factory.throttle("mirror-" + c.name());
        applyThrottle(throttle, c);
        return factory.createClient(ClientOptions.builder().throttle(throttle).build());
    }

    private static void applyThrottle(Throttle throttle, MirrorConfiguration c) {
        throttle.setBytesPerSecond(c.throttleBytesPerSecond());
        throttle.setIoPercent(c.throttleIoPercent());
    }

    static List<String> legPaths(String[] legs) {
        List<String> paths = new ArrayList<>();
        if (legs != null) {
            for (String entry : legs) {
                Arrays.stream(entry.split(",")).map(String::trim).filter(s -> !s.isEmpty()).forEach(paths::add);
            }
        }
        return paths;
    }

    @Activate
    void activate(BundleContext context, MirrorConfiguration configuration) throws IOException {
        open(context, configuration);
    }

    private void open(BundleContext context, MirrorConfiguration configuration) throws IOException {
        this.config = configuration;
        this.bundleContext = context;
        String name = configuration.name();
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("mirror configuration lacks 'name'");
        }
        List<String> paths = legPaths(configuration.legs());
        if (paths.size() < 2) {
            throw new IllegalArgumentException("mirror '" + name + "' needs at least 2 legs, " + paths.size()
                    + " given");
        }
        if (configuration.regionLog() == null || configuration.regionLog().isBlank()) {
            throw new IllegalArgumentException("mirror '" + name + "' lacks 'regionLog'");
        }
        try {
            List<BlockDevice> legs = new ArrayList<>();
            for (String path : paths) {
                legs.add(openLeg(context, path));
            }
            long sectors = legs.stream().mapToLong(BlockDevice::sizeInSectors).min().orElseThrow();
            long regions = MirrorVolume.regionsOf(sectors, configuration.regionSectors());
            Path logPath = Path.of(configuration.regionLog());
            BlockDevice logDevice = Files.exists(logPath) ? FILES.open(logPath, DeviceOption.READ_WRITE)
                    : FILES.create(logPath, RegionLog.sizeInSectors(regions));
            opened.add(logDevice);
            RegionLog log = RegionLog.open(logDevice, paths, configuration.regionSectors(), regions);
            mirror = new MirrorVolume(name, paths, legs, log, configuration.regionSectors(), kcopyd,
                    configuration.errorHandling());
        } catch (IOException | RuntimeException e) {
            closeDevices();
            throw e;
        }
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Mirror.NAME, name);
        props.put("kcopyd.mirror.legs", paths.toArray(new String[0]));
        for (KcopydClientFactory factory : factories) {
            // A fresh client per open: its throttle is named after the (possibly new) mirror name.
            kcopyd.unbind(factory);
            kcopyd.bind(factory);
        }
        // Started before it is published, so that whoever finds it sees its resync already planned.
        mirror.start();
        mirrorRegistration = context.registerService(Mirror.class, mirror, props);
        props.put("kcopyd.device.role", "mirror");
        deviceRegistration = context.registerService(BlockDevice.class, mirror.device(), props);
    }

    /**
     * A leg is a file or raw device path, or {@code service:NAME}: a {@link BlockDevice} service
     * with the property {@value #DEVICE_NAME}={@code NAME} (a remote volume, another bundle's
     * device), bound when the mirror opens.
     */
    private BlockDevice openLeg(BundleContext context, String leg) throws IOException {
        if (leg.startsWith(SERVICE_LEG)) {
            String deviceName = leg.substring(SERVICE_LEG.length());
            try {
                for (var ref : context.getServiceReferences(BlockDevice.class, "(" + DEVICE_NAME + "=" + deviceName
                        + ")")) {
                    BlockDevice device = context.getService(ref);
                    if (device != null) {
                        serviceLegs.add(ref);
                        return device;
                    }
                }
            } catch (org.osgi.framework.InvalidSyntaxException e) {
                throw new IllegalArgumentException("leg '" + leg + "' is not a valid device name", e);
            }
            throw new IOException("leg '" + leg + "': no BlockDevice service with " + DEVICE_NAME + "=" + deviceName);
        }
        BlockDevice device = FILES.open(Path.of(leg), DeviceOption.READ_WRITE);
        opened.add(device);
        return device;
    }

    /**
     * The throttle and error handling apply at once; a change of name, legs, region size or log
     * closes the mirror and opens it again with the new configuration (an added or replaced leg
     * is then resynchronised fully, dirty regions are resynchronised).
     */
    @Modified
    void modified(BundleContext context, MirrorConfiguration configuration) throws IOException {
        MirrorConfiguration old = config;
        boolean structural = !old.name().equals(configuration.name())
                || !legPaths(old.legs()).equals(legPaths(configuration.legs()))
                || old.regionSectors() != configuration.regionSectors()
                || !old.regionLog().equals(configuration.regionLog());
        if (structural) {
            closeMirror();
            open(context, configuration);
            return;
        }
        config = configuration;
        mirror.setErrorHandling(configuration.errorHandling());
        for (KcopydClientFactory factory : factories) {
            applyThrottle(factory.throttle("mirror-" + configuration.name()), configuration);
        }
    }

    @Deactivate
    void deactivate() {
        closeMirror();
        kcopyd.close();
    }

    private void closeMirror() {
        deviceRegistration.unregister();
        mirrorRegistration.unregister();
        mirror.close();
        closeDevices();
    }

    private void closeDevices() {
        for (var ref : serviceLegs) {
            bundleContext.ungetService(ref);
        }
        serviceLegs.clear();
        for (BlockDevice d : opened) {
            try {
                d.close();
            } catch (IOException e) {
                System.getLogger(MirrorComponent.class.getName()).log(System.Logger.Level.WARNING,
                        "closing " + d.name() + " failed", e);
            }
        }
        opened.clear();
    }
}
