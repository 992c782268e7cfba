package org.kcopyd.impl.standalone;

import java.net.URI;
import java.util.List;
import java.util.Set;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.UriDeviceProvider;
import org.kcopyd.device.MemoryBlockDevice;

/**
 * A provider found by ServiceLoader ({@code src/test/resources/META-INF/services}): {@code testmem://NAME?sectors=N}
 * opens a new memory device of N sectors, read-only unless opened read-write.
 */
public final class SizedMemoryProvider implements UriDeviceProvider {

    @Override
    public Set<String> schemes() {
        return Set.of("testmem");
    }

    @Override
    public BlockDevice open(URI uri, DeviceOption... options) {
        String query = uri.getQuery();
        if (query == null || !query.matches("sectors=[1-9][0-9]{0,6}")) {
            throw new IllegalArgumentException("'" + uri + "' has no size: testmem://NAME?sectors=N, N in 1..9999999");
        }
        MemoryBlockDevice device = new MemoryBlockDevice(uri.toString(), Long.parseLong(query.substring(8)));
        return List.of(options).contains(DeviceOption.READ_WRITE) ? device : device.readOnlyView();
    }
}
