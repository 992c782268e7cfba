package org.kcopyd.nbd.internal.osgi;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.util.Comparator;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.device.ConfigurationValues;
import org.kcopyd.device.DeviceIdentity;
import org.kcopyd.nbd.NbdConfig;
import org.kcopyd.nbd.internal.server.Listener;
import org.kcopyd.nbd.internal.server.ServerExport;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.Filter;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.util.tracker.ServiceTracker;
import org.osgi.util.tracker.ServiceTrackerCustomizer;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One NBD export per factory configuration of {@value NbdConfig#EXPORT_FACTORY_PID}.
 *
 * <p>A path device is opened through the {@link BlockDeviceOpener} service when the component
 * activates (read-write and claimed, or read-only with {@code readOnly}) and closed when it
 * deactivates. A service-filter device is tracked: exported while exactly one {@link BlockDevice}
 * service matches, withdrawn (its clients disconnected) when it goes away or a second one makes
 * the choice ambiguous; the component stays active meanwhile and logs what it waits for.
 *
 * <p>Refusals fail the activation, as the snapshot and mirror components do, so that DS, the
 * runtime's configuration check and Karaf report the reason: {@link IllegalArgumentException} for
 * a bad value (an address beyond loopback without {@code tlsCertificates} or {@code insecure}, a
 * name taken on that listener, TLS settings other than the listener's,
 * a socket path that is not a socket), {@link IOException} for what could not be done (the
 * address in use, the device cannot be opened or is claimed). A change of configuration
 * deactivates and activates the component again: the export's clients reconnect.
 *
 * <p>While the export is served, a status service is registered for it: an {@link IntSupplier}
 * whose value is the connections in transmission on this export now, with the properties
 * {@value #STATUS} (the configuration's PID) and {@value #STATUS_NAME} (the export's name). It is
 * unregistered when the export is withdrawn (its device service went away) or deactivated, so its
 * presence says "serving" (the control API reads both). A JDK type, so that no API is added for it.
 */
@Component(configurationPid = NbdConfig.EXPORT_FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = {}, immediate = true)
@Designate(ocd = ExportConfiguration.class, factory = true)
public final class ExportComponent {

    private static final System.Logger LOG = System.getLogger(ExportComponent.class.getName());

    /** Property of the status service: the PID of the export's configuration. */
    public static final String STATUS = "kcopyd.nbd.export.status";
    /** Property of the status service: the export's name. */
    public static final String STATUS_NAME = "kcopyd.nbd.export.name";
    /**
     * Property of the not-served service, a {@code Supplier<String>} of why: the PID of the export's
     * configuration. Registered while the component is active and its export cannot be served (its
     * listener refused: the socket path is not a socket, another server listens there; several devices
     * match its filter), so that the control answers with the reason, not only the log.
     */
    public static final String NOT_SERVED = "kcopyd.nbd.export.notServed";

    @Reference
    NbdListeners listeners;

    /** Needed for path devices only: static, greedy, so that a later opener reactivates a failed export. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policyOption = ReferencePolicyOption.GREEDY)
    BlockDeviceOpener opener;

    private ExportSettings settings;
    private BlockDevice ownedDevice;
    private ServiceTracker<BlockDevice, BlockDevice> tracker;
    /** The export served now (null while a service device is missing); guarded by {@code this}. */
    private ServerExport served;
    private ServiceReference<BlockDevice> servedRef;
    private BundleContext bundleContext;
    private String configurationPid;
    /** The status service while served; guarded by {@code this}. */
    private ServiceRegistration<IntSupplier> status;
    /** The not-served service while the export cannot be served ({@link #NOT_SERVED}); guarded by {@code this}. */
    private ServiceRegistration<?> notServed;

    @Activate
    void activate(BundleContext context, ExportConfiguration configuration, Map<String, Object> properties)
            throws IOException {
        // A number given as a text that is none (maxConnections = lots in a file), named and refused before DS reads it.
        ConfigurationValues.requireNumbers(ExportConfiguration.class, properties, NbdConfig.EXPORT_FACTORY_PID + ": ");
        ExportSettings s = ExportSettings.of(configuration);
        settings = s;
        bundleContext = context;
        Object pid = properties.get(Constants.SERVICE_PID);
        configurationPid = pid == null ? null : pid.toString();
        if (s.exposed()) {
            LOG.log(Level.WARNING, "NBD export '" + s.name() + "' listens on " + s.where() + ", which is not a loopback "
                + "address, without TLS (no " + NbdConfig.EXPORT_TLS_CERTIFICATES + "): anyone who reaches it can read"
                + (s.readOnly() ? "" : " and write") + " " + describe(s) + " (" + NbdConfig.EXPORT_INSECURE + "=true)");
        }
        if (s.devicePath() != null) {
            BlockDeviceOpener o = opener;
            if (o == null) {
                throw new IllegalStateException("export '" + s.name() + "': no BlockDeviceOpener service to open "
                    + s.devicePath() + " (is kcopyd.impl started?)");
            }
            String through = org.kcopyd.device.ProcPaths.throughProc(s.devicePath().toAbsolutePath());
            if (through != null) {
                // H49-5: an exported file replaced by a link to /dev/stdout served the daemon's own output.
                throw new IllegalArgumentException(NbdConfig.EXPORT_FACTORY_PID + ": export '" + s.name() + "': device "
                    + s.devicePath() + " names a file through /proc" + through + ": this process's own file, not the "
                    + "one meant; give the file's own path");
            }
            // Opened first: the opener refuses what must not be exported (a daemon's own files) as what
            // it is, before the size is looked at (found by H25: "extend it" was advised for STATE/lock).
            BlockDevice device;
            try {
                device = s.readOnly() ? o.open(s.devicePath()) : o.open(s.devicePath(), DeviceOption.READ_WRITE);
            } catch (java.nio.file.NoSuchFileException e) {
                // H53-4: the exception's message is the bare path, which the export's status showed as its reason.
                throw new IOException(NbdConfig.EXPORT_FACTORY_PID + ": export '" + s.name() + "': device "
                    + s.devicePath() + " does not exist", e);
            }
            try {
                refuseAnotherDevice(s);
                refusePartialSectors(s);
                ServerExport export = new ServerExport(s.name(), device, s.readOnly(), s.maxConnections());
                listeners.add(s, export);
                synchronized (this) {
                    served = export;
                    publish(s, export);
                }
            } catch (IOException | RuntimeException e) {
                device.close();
                throw e;
            }
            ownedDevice = device;
            LOG.log(Level.INFO, () -> "NBD export '" + s.name() + "' of " + s.devicePath() + " on " + s.where());
            return;
        }
        Filter filter;
        try {
            filter = context.createFilter("(&(" + Constants.OBJECTCLASS + "=" + BlockDevice.class.getName() + ")"
                + s.deviceFilter() + ")");
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException(NbdConfig.EXPORT_FACTORY_PID + ": " + NbdConfig.EXPORT_DEVICE + " '"
                + s.deviceFilter() + "' is not a valid filter: " + e.getMessage(), e);
        }
        tracker = new ServiceTracker<>(context, filter, new Customizer(context));
        tracker.open();
        synchronized (this) {
            if (served == null) {
                LOG.log(Level.INFO, () -> "NBD export '" + s.name() + "' on " + s.where() + " waits for a BlockDevice "
                    + "service matching " + s.deviceFilter());
            }
        }
    }

    /** Re-decides the served device whenever a matching service comes, changes or goes. */
    private final class Customizer implements ServiceTrackerCustomizer<BlockDevice, BlockDevice> {
        private final BundleContext context;

        Customizer(BundleContext context) {
            this.context = context;
        }

        @Override
        public BlockDevice addingService(ServiceReference<BlockDevice> reference) {
            BlockDevice device = context.getService(reference);
            if (device != null) {
                reconsider(reference, device, false);
            }
            return device;
        }

        @Override
        public void modifiedService(ServiceReference<BlockDevice> reference, BlockDevice device) {
            // Still matching (else removedService): nothing changes.
        }

        @Override
        public void removedService(ServiceReference<BlockDevice> reference, BlockDevice device) {
            reconsider(reference, device, true);
            context.ungetService(reference);
        }
    }

    /**
     * The served device after {@code reference} came or went: the only matching service, or none.
     * Runs on the thread registering or unregistering the service, before it completes: a device
     * going away is no longer exported when its unregistration returns.
     */
    synchronized void reconsider(ServiceReference<BlockDevice> reference, BlockDevice device, boolean gone) {
        ExportSettings s = settings;
        if (s == null) {
            return;
        }
        List<ServiceReference<BlockDevice>> matching = tracked();
        if (gone) {
            matching.remove(reference);
        } else if (!matching.contains(reference)) {
            matching.add(reference);
        }
        if (served != null && (matching.size() != 1 || !matching.get(0).equals(servedRef))) {
            withdraw(s, gone && reference.equals(servedRef) ? "its device service went away"
                : matching.size() + " BlockDevice services match " + s.deviceFilter() + " now");
        }
        if (matching.size() > 1) {
            notServed(s, matching.size() + " BlockDevice services match " + s.deviceFilter() + " (" + names(matching)
                + "); make the filter name one device");
            return;
        }
        if (served != null || matching.isEmpty()) {
            notServed(s, null);
            return;
        }
        ServiceReference<BlockDevice> only = matching.get(0);
        BlockDevice target = only.equals(reference) ? device : tracker.getService(only);
        if (target == null) {
            return;
        }
        ServerExport export = new ServerExport(s.name(), target, s.readOnly(), s.maxConnections());
        try {
            listeners.add(s, export);
        } catch (IOException | RuntimeException e) {
            notServed(s, "its device " + target.name() + " could not be served on " + s.where() + ": " + e.getMessage());
            return;
        }
        served = export;
        servedRef = only;
        notServed(s, null);
        publish(s, export);
        LOG.log(Level.INFO, () -> "NBD export '" + s.name() + "' of " + target.name() + " on " + s.where());
    }

    private List<ServiceReference<BlockDevice>> tracked() {
        ServiceReference<BlockDevice>[] refs = tracker == null ? null : tracker.getServiceReferences();
        List<ServiceReference<BlockDevice>> list = new java.util.ArrayList<>();
        if (refs != null) {
            list.addAll(List.of(refs));
        }
        list.sort(Comparator.naturalOrder());
        return list;
    }

    private static String names(List<ServiceReference<BlockDevice>> refs) {
        return String.join(", ", refs.stream().map(r -> "service " + r.getProperty(Constants.SERVICE_ID)
            + (r.getProperty(BlockDevice.NAME) != null ? " " + r.getProperty(BlockDevice.NAME) : "")).toList());
    }

    private void withdraw(ExportSettings s, String why) {
        unpublish();
        listeners.remove(s, served);
        LOG.log(Level.INFO, () -> "NBD export '" + s.name() + "' on " + s.where() + " withdrawn, its clients "
            + "disconnected: " + why);
        served = null;
        servedRef = null;
    }

    /** Registers the status service of {@code export}, served now. Under {@code this}. */
    private void publish(ExportSettings s, ServerExport export) {
        if (configurationPid == null || status != null) {
            return;
        }
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(STATUS, configurationPid);
        props.put(STATUS_NAME, s.name());
        IntSupplier connections = () -> {
            Listener listener = listeners.listener(s);
            return listener == null ? 0 : listener.connections(export.name());
        };
        try {
            status = bundleContext.registerService(IntSupplier.class, connections, props);
        } catch (IllegalStateException stopping) {
            // The bundle is stopping: there is nothing left to report to.
        }
    }

    /**
     * Logs why the export is not served and registers the not-served service saying it, or with a null
     * {@code why} unregisters it. Under {@code this}.
     */
    private void notServed(ExportSettings s, String why) {
        if (notServed != null) {
            try {
                notServed.unregister();
            } catch (IllegalStateException alreadyGone) {
                // The bundle is stopping: the framework has unregistered it.
            }
            notServed = null;
        }
        if (why == null) {
            return;
        }
        LOG.log(Level.ERROR, "NBD export '" + s.name() + "' on " + s.where() + " is not served: " + why);
        if (configurationPid == null) {
            return;
        }
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(NOT_SERVED, configurationPid);
        props.put(STATUS_NAME, s.name());
        java.util.function.Supplier<String> reason = () -> why;
        try {
            notServed = bundleContext.registerService(java.util.function.Supplier.class, reason, props);
        } catch (IllegalStateException stopping) {
            // The bundle is stopping: there is nothing left to report to.
        }
    }

    /** Unregisters the status service, if registered. Under {@code this}. */
    private void unpublish() {
        if (status != null) {
            try {
                status.unregister();
            } catch (IllegalStateException alreadyGone) {
                // The bundle is stopping: the framework has unregistered it.
            }
            status = null;
        }
    }

    /** @return true if the export is served now (for tests) */
    synchronized boolean serving() {
        return served != null;
    }

    private static String describe(ExportSettings s) {
        return s.devicePath() != null ? s.devicePath().toString() : "the device matching " + s.deviceFilter();
    }

    /**
     * A regular file whose size is not whole sectors would be exported as its whole sectors only,
     * and clients would silently miss its tail: refused, naming the size.
     */
    /**
     * Refuses a path device that is not the one the export was made for: its identity is recorded
     * ({@value NbdConfig#EXPORT_DEVICE_ID}) and the path names another file or disk now.
     */
    private static void refuseAnotherDevice(ExportSettings s) throws IOException {
        if (s.deviceId() == null) {
            return;
        }
        String now = DeviceIdentity.of(s.devicePath());
        if (!DeviceIdentity.matches(s.deviceId(), now)) {
            throw new IllegalArgumentException(NbdConfig.EXPORT_FACTORY_PID + ": export '" + s.name() + "': device "
                + s.devicePath() + " is " + now + ", not " + s.deviceId() + " (its " + NbdConfig.EXPORT_DEVICE_ID
                + " when the export was made): another file or disk is at that path now (replaced, restored from a "
                + "backup, another disk after a reboot), so nothing is served; if it is the one to serve, set "
                + NbdConfig.EXPORT_DEVICE_ID + "=" + now + ", or remove the export and add it again");
        }
    }

    private static void refusePartialSectors(ExportSettings s) throws IOException {
        if (!Files.isRegularFile(s.devicePath())) {
            return;
        }
        long size = Files.size(s.devicePath());
        long tail = size % BlockDevice.SECTOR_SIZE;
        if (tail != 0) {
            throw new IllegalArgumentException(NbdConfig.EXPORT_FACTORY_PID + ": export '" + s.name() + "': device "
                + s.devicePath() + " has " + size + " bytes, not whole sectors of " + BlockDevice.SECTOR_SIZE
                + ": clients would see only its first " + (size - tail) + " bytes and lose the last " + tail
                + "; extend it to " + (size - tail + BlockDevice.SECTOR_SIZE) + " bytes to export it");
        }
    }

    @Deactivate
    void deactivate() {
        ServiceTracker<BlockDevice, BlockDevice> t;
        synchronized (this) {
            t = tracker;
            tracker = null;
            unpublish();
            if (settings != null) {
                notServed(settings, null);
            }
            if (served != null) {
                listeners.remove(settings, served);
                served = null;
                servedRef = null;
            }
            settings = null;
        }
        if (t != null) {
            t.close();
        }
        if (ownedDevice != null) {
            try {
                ownedDevice.close();
            } catch (IOException e) {
                LOG.log(Level.WARNING, "NBD export: closing " + ownedDevice.name() + " failed: " + e.getMessage());
            }
            ownedDevice = null;
        }
    }
}
