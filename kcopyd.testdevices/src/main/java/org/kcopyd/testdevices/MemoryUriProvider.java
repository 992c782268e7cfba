package org.kcopyd.testdevices;

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
 * A real provider of the {@code mem} scheme for the modules' tests: {@code mem://NAME} or
 * {@code mem://NAME/} (the form a region follows: {@code mem://NAME/:8+16}) opens the device a
 * test put under NAME the way a remote device is opened — a memory device opened without
 * {@link DeviceOption#READ_WRITE}, or added read-only, is opened as its read-only view; a NAME
 * never put fails as a server that does not answer would. {@link #opener()} is a real
 * {@link org.kcopyd.api.BlockDeviceOpener} that dispatches {@code mem:} URIs to it. Thread-safe.
 */
public final class MemoryUriProvider implements UriDeviceProvider {

    private final Map<String, BlockDevice> devices = new ConcurrentHashMap<>();
    private final Set<String> readOnly = ConcurrentHashMap.newKeySet();

    @Override
    public Set<String> schemes() {
        return Set.of("mem");
    }

    /** @return an opener of files and of this provider's URIs */
    public FileDeviceOpener opener() {
        UriProviders providers = new UriProviders();
        providers.add(this, schemes(), 0, 1, "the tests' memory devices");
        return new FileDeviceOpener(false, "open for writing by a test", providers);
    }

    /** @return a new memory device holding {@code content}, served as {@code mem://NAME} */
    public MemoryBlockDevice add(String name, byte[] content) {
        return add(name, content.length, content);
    }

    /** @return a new memory device of {@code bytes} bytes holding {@code content} from its start */
    public MemoryBlockDevice add(String name, int bytes, byte[] content) {
        MemoryBlockDevice device = new MemoryBlockDevice("mem://" + name, bytes / BlockDevice.SECTOR_SIZE);
        device.write(0, ByteBuffer.wrap(content)).toCompletableFuture().join();
        devices.put(name, device);
        return device;
    }

    /** @return a new memory device that is only ever opened read-only, as a read-only export */
    public MemoryBlockDevice addReadOnly(String name, byte[] content) {
        readOnly.add(name);
        return add(name, content);
    }

    /** Serves {@code device} as {@code mem://NAME} (a device that fails on demand, say). */
    public void put(String name, BlockDevice device) {
        devices.put(name, device);
    }

    /** @return the first {@code bytes} of the device put under {@code name} */
    public byte[] content(String name, int bytes) {
        ByteBuffer b = ByteBuffer.allocate(bytes);
        devices.get(name).read(0, b).toCompletableFuture().join();
        return b.array();
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
        boolean writable = List.of(options).contains(DeviceOption.READ_WRITE) && !readOnly.contains(name);
        if (!writable && device instanceof MemoryBlockDevice m) {
            return m.readOnlyView();
        }
        return device;
    }
}
