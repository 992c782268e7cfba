package org.kcopyd.nbd.internal.osgi;

import java.io.IOException;
import java.lang.annotation.Annotation;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.felix.framework.FrameworkFactory;
import org.kcopyd.api.BlockDevice;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.launch.Framework;

/**
 * A real OSGi service registry (Felix, no bundles installed) for the components' tests, and
 * configuration annotation instances made from maps with the annotation's defaults.
 */
final class OsgiFixture implements AutoCloseable {

    private final Framework framework;

    OsgiFixture(Path storage) throws Exception {
        Map<String, String> config = new HashMap<>();
        config.put(Constants.FRAMEWORK_STORAGE, storage.toString());
        config.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        framework = new FrameworkFactory().newFramework(config);
        framework.start();
    }

    BundleContext context() {
        return framework.getBundleContext();
    }

    @Override
    public void close() throws Exception {
        framework.stop();
        framework.waitForStop(TimeUnit.SECONDS.toMillis(10));
    }

    /** @return an instance of configuration annotation {@code type}: values from the map, else the defaults */
    static <A extends Annotation> A annotation(Class<A> type, Map<String, Object> values) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (p, method, args) -> {
            if (method.getName().equals("annotationType")) {
                return type;
            }
            Object value = values.get(method.getName());
            return value != null ? value : method.getDefaultValue();
        }));
    }

    /** @return {@code length} bytes read from the device at {@code sector} */
    static byte[] read(BlockDevice device, long sector, int length) throws Exception {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        device.read(sector, buffer).toCompletableFuture().get(10, TimeUnit.SECONDS);
        return buffer.array();
    }

    /** Writes {@code data} at {@code sector}. */
    static void write(BlockDevice device, long sector, byte[] data) throws Exception {
        device.write(sector, ByteBuffer.wrap(data)).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    static void closeQuietly(BlockDevice device) {
        try {
            device.close();
        } catch (IOException e) {
            // The test has its verdict already.
        }
    }
}
