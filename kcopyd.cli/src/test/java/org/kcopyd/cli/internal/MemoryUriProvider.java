package org.kcopyd.cli.internal;

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
import org.kcopyd.device.MemoryBlockDevice;

/**
 * A real provider of the {@code mem} scheme for the commands' tests: {@code mem://NAME} or
 * {@code mem://NAME/} (the form a region follows: {@code mem://NAME/:8+16}) opens the
 * memory device a test added under NAME (read-only unless opened read-write), the way a remote
 * device is opened; a NAME never added fails as a server that does not answer would.
 */
final class MemoryUriProvider implements UriDeviceProvider {

    private final Map<String, MemoryBlockDevice> devices = new ConcurrentHashMap<>();

    @Override
    public Set<String> schemes() {
        return Set.of("mem");
    }

    /** @return a new device of that many bytes holding {@code content} from its start */
    MemoryBlockDevice add(String name, int bytes, byte[] content) {
        MemoryBlockDevice device = new MemoryBlockDevice("mem://" + name, bytes / BlockDevice.SECTOR_SIZE);
        device.write(0, ByteBuffer.wrap(content)).toCompletableFuture().join();
        devices.put(name, device);
        return device;
    }

    /** @return the first {@code bytes} of the device */
    byte[] content(String name, int bytes) {
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
        MemoryBlockDevice device = devices.get(name);
        if (device == null) {
            throw new IOException("cannot connect to " + uri + ": no memory device '" + name + "'");
        }
        return List.of(options).contains(DeviceOption.READ_WRITE) ? device : device.readOnlyView();
    }
}
