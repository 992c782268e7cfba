package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.UriDeviceProvider;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.device.UriProviders;

/**
 * A real provider of the {@code mem} scheme for the mirror tests, as kcopyd.cli's tests have one:
 * {@code mem://NAME} opens the device a test put under NAME the way a remote device is opened (a
 * memory device opened without {@link DeviceOption#READ_WRITE} is read-only); a NAME never put
 * fails as a server that does not answer would. {@link #opener()} is a real
 * {@link org.kcopyd.api.BlockDeviceOpener} that dispatches {@code mem:} URIs to it.
 */
final class MemoryUriProvider implements UriDeviceProvider {

    private final Map<String, BlockDevice> devices = new ConcurrentHashMap<>();

    @Override
    public Set<String> schemes() {
        return Set.of("mem");
    }

    /** @return an opener of files and of this provider's URIs */
    FileDeviceOpener opener() {
        UriProviders providers = new UriProviders();
        providers.add(this, schemes(), 0, 1, "the tests' memory devices");
        return new FileDeviceOpener(false, "open for writing by a test", providers);
    }

    /** @return a new memory device holding {@code content}, served as {@code mem://NAME} */
    MemoryBlockDevice add(String name, byte[] content) {
        MemoryBlockDevice device = new MemoryBlockDevice("mem://" + name, content.length / BlockDevice.SECTOR_SIZE);
        device.write(0, ByteBuffer.wrap(content)).toCompletableFuture().join();
        devices.put(name, device);
        return device;
    }

    /** Serves {@code device} as {@code mem://NAME} (a device that fails on demand, say). */
    void put(String name, BlockDevice device) {
        devices.put(name, device);
    }

    @Override
    public BlockDevice open(URI uri, DeviceOption... options) throws IOException {
        String name = uri.getHost();
        if (name == null || !(uri.getRawPath().isEmpty() || uri.getRawPath().equals("/"))) {
            throw new IllegalArgumentException("'" + uri + "' is not a memory device URI (mem://NAME)");
        }
        BlockDevice device = devices.get(name);
        if (device == null) {
            throw new IOException("cannot connect to " + uri + ": no memory device '" + name + "'");
        }
        if (!List.of(options).contains(DeviceOption.READ_WRITE) && device instanceof MemoryBlockDevice m) {
            return m.readOnlyView();
        }
        return device;
    }
}
