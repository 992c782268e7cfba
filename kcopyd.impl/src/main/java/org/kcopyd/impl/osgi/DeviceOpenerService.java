package org.kcopyd.impl.osgi;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.device.DeviceUris;
import org.kcopyd.device.FileBlockDevice;
import org.kcopyd.device.UriClaims;
import org.kcopyd.impl.engine.Engine;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceFactory;
import org.osgi.framework.ServiceRegistration;

/**
 * Gives each bundle its own {@link BlockDeviceOpener}; the devices a bundle opened and did not
 * close are closed when it lets go of the service, so a stopped bundle leaks no file handles.
 * The O_DIRECT default follows the engine's current configuration. Devices named by URI come from
 * the {@link org.kcopyd.api.UriDeviceProvider} services bound to the engine component, the
 * preferred provider of each scheme at the time of the open (see {@link UriProviderBindings}).
 */
final class DeviceOpenerService implements ServiceFactory<BlockDeviceOpener> {

    private final Engine engine;
    private final System.Logger log;

    DeviceOpenerService(Engine engine, System.Logger log) {
        this.engine = engine;
        this.log = log;
    }

    @Override
    public BlockDeviceOpener getService(Bundle bundle, ServiceRegistration<BlockDeviceOpener> registration) {
        return new BundleOpener(engine, "open for writing by bundle " + bundle.getSymbolicName(), log);
    }

    @Override
    public void ungetService(Bundle bundle, ServiceRegistration<BlockDeviceOpener> registration,
            BlockDeviceOpener service) {
        ((BundleOpener) service).closeDevices();
    }

    /** One bundle's view of the opener. */
    static final class BundleOpener implements BlockDeviceOpener {
        private final Engine engine;
        private final String purpose;
        private final System.Logger log;
        // By identity: two opens of one file are equal devices, but each must be closed.
        private final Set<BlockDevice> devices = Collections.synchronizedSet(
                Collections.newSetFromMap(new IdentityHashMap<>()));

        BundleOpener(Engine engine, String purpose, System.Logger log) {
            this.engine = engine;
            this.purpose = purpose;
            this.log = log;
        }

        @Override
        public BlockDevice open(Path path, DeviceOption... options) throws IOException {
            return track(engine.fileDevices().open(path, purpose, options));
        }

        /**
         * A device named by URI other than a {@code file:} one, opened read-write, is {@linkplain UriClaims
         * claimed} in this process until it is closed: the export cannot be opened for writing twice here.
         */
        @Override
        public BlockDevice open(URI uri, DeviceOption... options) throws IOException {
            boolean writes = Arrays.asList(options).contains(DeviceOption.READ_WRITE)
                    && !DeviceUris.FILE.equals(DeviceUris.scheme(uri));
            UriClaims.Claim claim = writes ? UriClaims.claim(uri, purpose) : null;
            BlockDevice device;
            try {
                device = engine.fileDevices().open(uri, () -> purpose, options);
            } catch (IOException | RuntimeException e) {
                if (claim != null) {
                    claim.close();
                }
                throw e;
            }
            if (device instanceof FileBlockDevice) {
                return track(device);
            }
            OwnedDevice owned = new OwnedDevice(device, d -> {
                devices.remove(d);
                if (claim != null) {
                    claim.close();
                }
            });
            track(owned);
            return owned;
        }

        @Override
        public BlockDevice create(Path path, long sizeInSectors, DeviceOption... options) throws IOException {
            return track(engine.fileDevices().create(path, sizeInSectors, purpose, options));
        }

        private BlockDevice track(BlockDevice device) {
            devices.removeIf(d -> d instanceof FileBlockDevice f && !f.isOpen());
            devices.add(device);
            return device;
        }

        /** @return how many devices this bundle has open (files closed since the last open may still count) */
        int openDevices() {
            return devices.size();
        }

        void closeDevices() {
            for (BlockDevice device : List.copyOf(devices)) {
                try {
                    device.close();
                } catch (IOException e) {
                    log.log(System.Logger.Level.WARNING, "closing " + device.name() + " failed", e);
                }
            }
            devices.clear();
        }
    }
}
