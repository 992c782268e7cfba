package org.kcopyd.impl.osgi;

import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.api.UriDeviceProvider;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * The engine component as Declarative Services runs it, for the tests of its services without a
 * framework: {@link #component} takes its references (providers, a logger) as DS binds them, is
 * activated on the first use of a service with a bundle context that keeps what it registers,
 * and each bundle gets its own view of the opener and of the client factory, as from the
 * framework. {@link #close()} deactivates it if it was activated. Not thread-safe: one test's.
 */
final class ActiveComponent implements AutoCloseable {

    /** The component; bind references on it before the first service is asked for. */
    final KcopydComponent component = new KcopydComponent();
    private final Map<String, Object> services = new ConcurrentHashMap<>();
    private boolean active;

    /**
     * @return the service properties of a {@link UriDeviceProvider} service as DS passes them
     *         to the component's bind method: its id, its ranking (null: none) and its
     *         {@value UriDeviceProvider#SCHEMES} (null: none)
     */
    static Map<String, Object> providerProperties(long id, Integer ranking, Object schemes) {
        Map<String, Object> p = new HashMap<>();
        p.put("service.id", id);
        p.put("objectClass", new String[] {UriDeviceProvider.class.getName()});
        if (ranking != null) {
            p.put("service.ranking", ranking);
        }
        if (schemes != null) {
            p.put(UriDeviceProvider.SCHEMES, schemes);
        }
        return p;
    }

    /** @return the opener a bundle of this symbolic name gets from the service */
    BlockDeviceOpener openerFor(String bundleName) {
        return openerService().getService(bundle(bundleName), null);
    }

    /** @return the client factory a bundle of this symbolic name gets from the service */
    KcopydClientFactory clientFactoryFor(String bundleName) {
        return ((ClientFactoryService) service(KcopydClientFactory.class)).getService(bundle(bundleName), null);
    }

    /** @return the opener service as registered (a service factory) */
    DeviceOpenerService openerService() {
        return (DeviceOpenerService) service(BlockDeviceOpener.class);
    }

    private Object service(Class<?> type) {
        if (!active) {
            component.activate(contextKeeping(services), Map.of("component.name", KcopydClientFactory.PID));
            active = true;
        }
        return services.get(type.getName());
    }

    /** A bundle that answers every question with its symbolic name (the services ask only for that). */
    private static Bundle bundle(String symbolicName) {
        return (Bundle) Proxy.newProxyInstance(Bundle.class.getClassLoader(), new Class<?>[] {Bundle.class},
                (proxy, method, args) -> symbolicName);
    }

    /** A bundle context that registers services, returning nothing of use; {@code into} gets each service object. */
    private static BundleContext contextKeeping(Map<String, Object> into) {
        ClassLoader loader = ActiveComponent.class.getClassLoader();
        return (BundleContext) Proxy.newProxyInstance(loader, new Class<?>[] {BundleContext.class},
                (proxy, method, args) -> {
                    into.put(args[0] instanceof Class<?> c ? c.getName() : (String) args[0], args[1]);
                    return Proxy.newProxyInstance(loader, new Class<?>[] {ServiceRegistration.class}, (p, m, a) -> null);
                });
    }

    @Override
    public void close() {
        if (active) {
            component.deactivate();
            active = false;
        }
    }
}
