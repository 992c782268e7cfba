package org.kcopyd.testdevices;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.DeviceOption;

/**
 * A {@link BlockDeviceOpener} service as kcopyd.impl gives one bundle: it opens through another
 * opener and keeps the devices it opened and that are not closed yet ({@link #openDevices()}), as
 * kcopyd.impl's does to close them when the bundle lets go of the service. Thread-safe.
 */
public final class TrackingOpener implements BlockDeviceOpener {

    private final BlockDeviceOpener inner;
    private final Set<BlockDevice> open = ConcurrentHashMap.newKeySet();

    /** @param inner the opener that really opens */
    public TrackingOpener(BlockDeviceOpener inner) {
        this.inner = inner;
    }

    /** @return how many devices opened through this opener are not closed */
    public int openDevices() {
        return open.size();
    }

    @Override
    public BlockDevice open(Path path, DeviceOption... options) throws IOException {
        return track(inner.open(path, options));
    }

    @Override
    public BlockDevice open(URI uri, DeviceOption... options) throws IOException {
        return track(inner.open(uri, options));
    }

    @Override
    public BlockDevice create(Path path, long sizeInSectors, DeviceOption... options) throws IOException {
        return track(inner.create(path, sizeInSectors, options));
    }

    private BlockDevice track(BlockDevice device) {
        BlockDevice[] self = new BlockDevice[1];
        self[0] = (BlockDevice) Proxy.newProxyInstance(BlockDevice.class.getClassLoader(),
                new Class<?>[] {BlockDevice.class}, (p, method, args) -> {
                    switch (method.getName()) {
                        case "close" -> open.remove(self[0]);
                        case "hashCode" -> {
                            return System.identityHashCode(p);
                        }
                        case "equals" -> {
                            return p == args[0];
                        }
                        default -> {
                            // Delegated below.
                        }
                    }
                    try {
                        return method.invoke(device, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        open.add(self[0]);
        return self[0];
    }

    @Override
    public String toString() {
        return "TrackingOpener (" + open.size() + " devices open)";
    }
}
