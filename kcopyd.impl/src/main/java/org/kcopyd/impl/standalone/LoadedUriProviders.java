package org.kcopyd.impl.standalone;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

import org.kcopyd.api.Kcopyd;
import org.kcopyd.api.UriDeviceProvider;
import org.kcopyd.device.UriProviders;

/**
 * The {@link UriDeviceProvider}s of a plain class path: those {@link ServiceLoader} finds through the
 * API's class loader, then through the thread's context class loader (one instance per class), in
 * that order, each serving its {@link UriDeviceProvider#schemes()}; between two for one scheme the
 * one found first serves it. A provider that cannot be loaded or names no valid scheme is left
 * out with a warning, so one broken jar does not stop the engine.
 */
final class LoadedUriProviders {

    private LoadedUriProviders() {
    }

    static UriProviders load(System.Logger log) {
        Map<Class<?>, UriDeviceProvider> found = new LinkedHashMap<>();
        collect(ServiceLoader.load(UriDeviceProvider.class, Kcopyd.class.getClassLoader()), found, log);
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        if (context != null) {
            collect(ServiceLoader.load(UriDeviceProvider.class, context), found, log);
        }
        UriProviders providers = new UriProviders();
        long order = 0;
        for (UriDeviceProvider provider : found.values()) {
            String label = provider.getClass().getName();
            try {
                for (String warning : providers.add(provider, provider.schemes(), 0, order++, label)) {
                    log.log(System.Logger.Level.WARNING, warning);
                }
            } catch (RuntimeException e) {
                log.log(System.Logger.Level.WARNING, "device provider " + label + " left out: " + e.getMessage());
            }
        }
        return providers;
    }

    private static void collect(ServiceLoader<UriDeviceProvider> loader, Map<Class<?>, UriDeviceProvider> into,
            System.Logger log) {
        var it = loader.iterator();
        while (hasNext(it, log)) {
            try {
                UriDeviceProvider provider = it.next();
                into.putIfAbsent(provider.getClass(), provider);
            } catch (ServiceConfigurationError e) {
                log.log(System.Logger.Level.WARNING, "a device provider could not be loaded: " + e.getMessage());
            }
        }
    }

    /** A provider list that cannot be read ends the search: retrying could fail for ever. */
    private static boolean hasNext(java.util.Iterator<UriDeviceProvider> it, System.Logger log) {
        try {
            return it.hasNext();
        } catch (ServiceConfigurationError e) {
            log.log(System.Logger.Level.WARNING, "the device providers' list could not be read: " + e.getMessage());
            return false;
        }
    }
}
