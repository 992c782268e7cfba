package org.kcopyd.mirror.internal;

import java.lang.annotation.Annotation;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

import org.awaitility.Awaitility;
import org.kcopyd.api.BlockDevice;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * Just enough of a framework for the mirror component's unit tests: a bundle context that
 * records service registrations and offers {@link BlockDevice} services by
 * {@value BlockDevice#NAME} (for {@code service:NAME} legs), a Config Admin holding
 * configurations in memory, and configuration annotation instances made from maps (with the
 * annotation's defaults).
 */
final class FakeFramework {

    /** One registered service. */
    record Registered(Class<?> type, Object service, Dictionary<String, ?> properties) {
    }

    /** The services registered now, but the not-open status services. */
    final List<Registered> registered = new CopyOnWriteArrayList<>();
    /** The not-open status services ({@code Supplier<String>}) registered now, kept apart from the others. */
    final List<Registered> statuses = new CopyOnWriteArrayList<>();
    /** Configurations by PID, as Config Admin stores them. */
    final Map<String, Hashtable<String, Object>> configurations = new ConcurrentHashMap<>();
    /** Devices offered as services, by their {@value BlockDevice#NAME}. */
    final Map<String, BlockDevice> devices = new ConcurrentHashMap<>();

    /** This fake framework's UUID ({@code org.osgi.framework.uuid}). */
    static final String FRAMEWORK_UUID = "00000000-0000-0000-0000-0000000f4a3e";

    BundleContext context() {
        return proxy(BundleContext.class, (method, args) -> switch (method) {
            case "registerService" -> register((Class<?>) args[0], args[1], (Dictionary<?, ?>) args[2]);
            case "getServiceReferences" -> references((String) args[1]);
            case "getService" -> devices.get(nameOf((ServiceReference<?>) args[0]));
            case "ungetService" -> true;
            case "getProperty" -> Constants.FRAMEWORK_UUID.equals(args[0]) ? FRAMEWORK_UUID : null;
            default -> throw new UnsupportedOperationException(method);
        });
    }

    private ServiceRegistration<?> register(Class<?> type, Object service, Dictionary<?, ?> properties) {
        @SuppressWarnings("unchecked")
        Registered first = new Registered(type, service, (Dictionary<String, ?>) properties);
        List<Registered> into = type == Supplier.class ? statuses : registered;
        into.add(first);
        AtomicReference<Registered> now = new AtomicReference<>(first);
        return proxy(ServiceRegistration.class, (m, a) -> {
            Registered r = now.get();
            if (!into.contains(r)) {
                throw new IllegalStateException("unregistered already, as the framework says");
            }
            switch (m) {
                case "unregister" -> into.remove(r);
                case "setProperties" -> {
                    @SuppressWarnings("unchecked")
                    Registered changed = new Registered(type, service, (Dictionary<String, ?>) a[0]);
                    into.set(into.indexOf(r), changed);
                    now.set(changed);
                }
                default -> throw new UnsupportedOperationException(m);
            }
            return null;
        });
    }

    /**
     * @return the reason the not-open status service registered now with {@code key=name} gives,
     *         or null if none is registered
     * @throws AssertionError if more than one is
     */
    String notOpen(String key, String name) {
        List<String> found = new ArrayList<>();
        for (Registered r : statuses) {
            if (name.equals(r.properties().get(key))) {
                found.add(String.valueOf(((Supplier<?>) r.service()).get()));
            }
        }
        if (found.size() > 1) {
            throw new AssertionError("more than one not-open status for " + name + ": " + found);
        }
        return found.isEmpty() ? null : found.get(0);
    }

    private List<ServiceReference<?>> references(String filter) throws Exception {
        Filter f = FrameworkUtil.createFilter(filter);
        List<ServiceReference<?>> found = new ArrayList<>();
        devices.keySet().stream().sorted().forEach(name -> {
            if (f.match(new Hashtable<>(Map.of(BlockDevice.NAME, name)))) {
                found.add(proxy(ServiceReference.class, (m, a) -> switch (m) {
                    case "getProperty" -> Constants.SERVICE_ID.equals(a[0]) ? (Object) ("id-" + name)
                            : BlockDevice.NAME.equals(a[0]) ? name : null;
                    default -> throw new UnsupportedOperationException(m);
                }));
            }
        });
        return found;
    }

    private static String nameOf(ServiceReference<?> ref) {
        return (String) ref.getProperty(BlockDevice.NAME);
    }

    /**
     * A component refuses a configuration by saying so on its not-open status, staying active (so that the
     * configuration's next change is tried): the refusal of any status registered now that says one, as the
     * exception its {@code exceptionKey} property names (with a constructor taking the message; else an
     * {@link IllegalStateException} naming it) and with its reason as the message, or null. This is what the
     * control reads and reports; tests of refusals assert it as they asserted the exception a failed activation
     * threw.
     */
    Exception refusal(String refusedKey, String exceptionKey) {
        for (Registered r : statuses) {
            if (Boolean.TRUE.equals(r.properties().get(refusedKey))) {
                String type = String.valueOf(r.properties().get(exceptionKey));
                String message = String.valueOf(((Supplier<?>) r.service()).get());
                try {
                    return (Exception) Class.forName(type).getConstructor(String.class).newInstance(message);
                } catch (ReflectiveOperationException e) {
                    return new IllegalStateException(type + ": " + message, e);
                }
            }
        }
        return null;
    }

    /**
     * @return the property {@code property} of the not-open status service registered now with
     *         {@code key=name}, or null if it has none
     * @throws AssertionError unless exactly one such status is registered
     */
    Object notOpenProperty(String key, String name, String property) {
        List<Registered> found = statuses.stream().filter(r -> name.equals(r.properties().get(key))).toList();
        if (found.size() != 1) {
            throw new AssertionError(found.size() + " not-open statuses for " + name);
        }
        return found.get(0).properties().get(property);
    }

    /**
     * Waits (10 s at most) until no not-open status with {@code key=name} carries {@code creatingKey}:
     * a new mirror whose devices named by URI are connected to after its activation is open or refused then.
     */
    void awaitCreated(String key, String name, String creatingKey) {
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> statuses.stream()
                .noneMatch(r -> name.equals(r.properties().get(key)) && r.properties().get(creatingKey) != null));
    }

    /** @return the services of {@code type} registered now */
    <T> List<T> services(Class<T> type) {
        return registered.stream().filter(r -> r.type() == type).map(r -> type.cast(r.service())).toList();
    }

    ConfigurationAdmin configurationAdmin() {
        return proxy(ConfigurationAdmin.class, (method, args) -> {
            if (!method.equals("listConfigurations")) {
                throw new UnsupportedOperationException(method);
            }
            Filter filter = FrameworkUtil.createFilter((String) args[0]);
            List<Configuration> found = new ArrayList<>();
            configurations.forEach((pid, props) -> {
                if (filter.match(props)) {
                    found.add(configuration(pid));
                }
            });
            return found.isEmpty() ? null : found.toArray(new Configuration[0]);
        });
    }

    private Configuration configuration(String pid) {
        return proxy(Configuration.class, (method, args) -> switch (method) {
            case "getProperties" -> new Hashtable<>(configurations.get(pid));
            case "update" -> {
                @SuppressWarnings("unchecked")
                Dictionary<String, Object> d = (Dictionary<String, Object>) args[0];
                Hashtable<String, Object> props = new Hashtable<>();
                for (String key : java.util.Collections.list(d.keys())) {
                    props.put(key, d.get(key));
                }
                props.put(Constants.SERVICE_PID, pid);
                configurations.put(pid, props);
                yield null;
            }
            case "getPid" -> pid;
            default -> throw new UnsupportedOperationException(method);
        });
    }

    /** Stores a configuration and returns its properties as the component receives them. */
    Map<String, Object> configure(String pid, Map<String, Object> properties) {
        Hashtable<String, Object> props = new Hashtable<>(properties);
        props.put(Constants.SERVICE_PID, pid);
        configurations.put(pid, props);
        return props;
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

    /** A call on a proxy: the method's name and its arguments. */
    @FunctionalInterface
    private interface Handler {
        Object call(String method, Object[] args) throws Exception;
    }

    private static <T> T proxy(Class<T> type, Handler handler) {
        return type.cast(Proxy.newProxyInstance(FakeFramework.class.getClassLoader(), new Class<?>[] {type},
                (p, method, args) -> switch (method.getName()) {
                    case "toString" -> type.getSimpleName() + "@" + System.identityHashCode(p);
                    case "hashCode" -> System.identityHashCode(p);
                    case "equals" -> p == args[0];
                    default -> handler.call(method.getName(), args);
                }));
    }
}
