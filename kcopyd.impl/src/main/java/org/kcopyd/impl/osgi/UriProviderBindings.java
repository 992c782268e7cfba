package org.kcopyd.impl.osgi;

import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.kcopyd.api.UriDeviceProvider;
import org.kcopyd.device.UriProviders;
import org.osgi.framework.Constants;

/**
 * The {@link UriDeviceProvider} services the engine component is bound to, by scheme, as its
 * openers use them: the schemes are the {@value UriDeviceProvider#SCHEMES} service property;
 * between two providers of one scheme the highest {@code service.ranking} serves it, then the
 * lowest {@code service.id} (the framework's own order of preference), with a warning logged. A
 * service without valid schemes is ignored, with a warning naming it and the bad value.
 * Thread-safe: DS binds, updates and unbinds from any thread while devices are opened.
 */
final class UriProviderBindings {

    private final UriProviders providers = new UriProviders();
    private final System.Logger log;

    UriProviderBindings(System.Logger log) {
        this.log = log;
    }

    /** @return the providers, as openers consult them */
    UriProviders providers() {
        return providers;
    }

    void bind(UriDeviceProvider provider, Map<String, ?> properties) {
        long id = serviceId(properties);
        String label = "device provider service " + id + " (" + provider.getClass().getName() + ")";
        List<String> schemes;
        try {
            schemes = schemes(properties.get(UriDeviceProvider.SCHEMES));
        } catch (IllegalArgumentException e) {
            log.log(System.Logger.Level.WARNING, label + " ignored: " + e.getMessage());
            return;
        }
        try {
            for (String warning : providers.add(provider, schemes, ranking(properties), id, label)) {
                log.log(System.Logger.Level.WARNING, warning);
            }
        } catch (IllegalArgumentException e) {
            log.log(System.Logger.Level.WARNING, label + " ignored: " + e.getMessage());
        }
    }

    void updated(UriDeviceProvider provider, Map<String, ?> properties) {
        providers.remove(serviceId(properties));
        bind(provider, properties);
    }

    void unbind(Map<String, ?> properties) {
        providers.remove(serviceId(properties));
    }

    /**
     * @param value the {@value UriDeviceProvider#SCHEMES} property: a String, String[] or collection of Strings
     * @return its schemes
     * @throws IllegalArgumentException naming the value if it is missing, empty or not strings
     */
    static List<String> schemes(Object value) {
        if (value instanceof String s) {
            return List.of(s);
        }
        if (value instanceof String[] a && a.length > 0) {
            return List.of(a);
        }
        if (value instanceof Collection<?> c && !c.isEmpty() && c.stream().allMatch(String.class::isInstance)) {
            return c.stream().map(String.class::cast).toList();
        }
        throw new IllegalArgumentException("its service property " + UriDeviceProvider.SCHEMES + " is "
                + (value == null ? "missing" : "'" + describe(value) + "'")
                + "; it must be a scheme or a non-empty String[] of schemes");
    }

    private static String describe(Object value) {
        if (value instanceof Object[] a) {
            return java.util.Arrays.toString(a);
        }
        return String.valueOf(value);
    }

    private static int ranking(Map<String, ?> properties) {
        return properties.get(Constants.SERVICE_RANKING) instanceof Integer r ? r : 0;
    }

    private static long serviceId(Map<String, ?> properties) {
        if (properties.get(Constants.SERVICE_ID) instanceof Long id) {
            return id;
        }
        throw new IllegalArgumentException("a service without " + Constants.SERVICE_ID + ": " + properties);
    }
}
