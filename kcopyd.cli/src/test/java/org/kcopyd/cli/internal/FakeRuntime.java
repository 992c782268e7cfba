package org.kcopyd.cli.internal;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.control.KcopydControl;
import org.kcopyd.control.internal.service.ControlService;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Filter;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.FrameworkUtil;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * The runtime as the configuration code sees it, without a framework: Config Admin keeping
 * configurations in a map, the engine factory's service properties, and what Declarative
 * Services reports about components (computed from the configurations by a function the test
 * gives, the way DS would activate or fail a component), read by kcopyd.control's real service.
 */
final class FakeRuntime implements Services {

    /** Configurations by PID, as Config Admin holds them. */
    final Map<String, Hashtable<String, Object>> configurations = new LinkedHashMap<>();
    final Map<String, String> factoryPids = new HashMap<>();
    final List<String> deleted = new ArrayList<>();
    final Map<String, Object> factoryProperties = new HashMap<>();
    /** What DS does with a configuration's properties: a component configuration DTO, or null (not taken). */
    Function<Hashtable<String, Object>, ComponentConfigurationDTO> ds = p -> null;
    final List<ComponentDescriptionDTO> descriptions = new ArrayList<>();
    /** The snapshot and mirror services registered, by name. */
    final Map<String, Snapshot> snapshotServices = new LinkedHashMap<>();
    final Map<String, Mirror> mirrorServices = new LinkedHashMap<>();
    private final AtomicInteger pids = new AtomicInteger();
    /** Every call of Config Admin's methods, by name: a refusal of the rules must come before any. */
    final List<String> configAdminCalls = new ArrayList<>();
    private KcopydControl control;
    /** The key under which a fake service reference gives its service. */
    private static final String SERVICE = "fake.runtime.service";
    /** The framework UUID of this fake: the creation mark of the snapshots and mirrors the control creates. */
    static final String FRAMEWORK = "00000000-0000-0000-0000-00000000f4ce";

    /** The snapshot and mirror components are there, as in the runtime; tests add descriptions of their own. */
    FakeRuntime() {
        descriptions.addAll(BUNDLES);
    }

    /** The snapshot and mirror bundles' descriptions, with no configuration of their own. */
    private static final List<ComponentDescriptionDTO> BUNDLES = List.of(description("snapshot bundle",
            Snapshot.FACTORY_PID), description("mirror bundle", Mirror.FACTORY_PID));

    /**
     * @return kcopyd.control's real service over this runtime: its Config Admin, what DS reports, and a
     *         registry holding {@link #snapshotServices} and {@link #mirrorServices} (a mirror's service shows
     *         the legs of its configuration, as the mirror bundle's does)
     */
    @Override
    public synchronized KcopydControl control() {
        if (control == null) {
            control = new ControlService(context(), configurationAdmin(), scr());
        }
        return control;
    }

    private ServiceComponentRuntime scr() {
        return (ServiceComponentRuntime) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ServiceComponentRuntime.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getComponentDescriptionDTOs" -> List.copyOf(descriptions);
                    // What DS shows is computed at every look (ds may change its answer from one look to the next).
                    case "getComponentConfigurationDTOs" -> BUNDLES.contains(args[0]) ? List.of()
                            : shown((ComponentDescriptionDTO) args[0]);
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    /** @return the component configurations DS shows for description {@code d}: {@link #ds} of each configuration */
    private List<ComponentConfigurationDTO> shown(ComponentDescriptionDTO d) {
        List<ComponentConfigurationDTO> shown = new ArrayList<>();
        for (Hashtable<String, Object> p : List.copyOf(configurations.values())) {
            ComponentConfigurationDTO c = ds.apply(p);
            if (c != null && c.description == d) {
                shown.add(c);
            }
        }
        return shown;
    }

    /** @return the properties a service of {@code type} named {@code name} is registered with */
    private Hashtable<String, Object> serviceProperties(Class<?> type, String name) {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("objectClass", new String[] {type.getName()});
        if (type == Snapshot.class) {
            p.put(Snapshot.NAME, name);
        } else {
            p.put(Mirror.NAME, name);
            configurations.values().stream().filter(c -> name.equals(c.get(Mirror.CONFIG_NAME))
                    && Mirror.FACTORY_PID.equals(c.get("service.factoryPid"))).findFirst()
                    .ifPresent(c -> p.put(Mirror.LEGS, c.get(Mirror.CONFIG_LEGS)));
        }
        return p;
    }

    private BundleContext context() {
        return (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {BundleContext.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getServiceReferences" -> {
                        Class<?> type = args[0] instanceof Class<?> c ? c : null;
                        Map<String, ?> services = type == Snapshot.class ? snapshotServices
                                : type == Mirror.class ? mirrorServices : Map.of();
                        Filter filter = args[1] == null ? null : FrameworkUtil.createFilter((String) args[1]);
                        List<ServiceReference<?>> refs = new ArrayList<>();
                        for (Map.Entry<String, ?> e : services.entrySet()) {
                            Hashtable<String, Object> p = serviceProperties(type, e.getKey());
                            if (filter == null || filter.match(p)) {
                                refs.add(reference(p, e.getValue()));
                            }
                        }
                        yield refs;
                    }
                    case "getService" -> ((ServiceReference<?>) args[0]).getProperty(SERVICE);
                    case "ungetService" -> true;
                    case "getProperty" -> org.osgi.framework.Constants.FRAMEWORK_UUID.equals(args[0]) ? FRAMEWORK : null;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    private static ServiceReference<?> reference(Hashtable<String, Object> properties, Object service) {
        return (ServiceReference<?>) Proxy.newProxyInstance(FakeRuntime.class.getClassLoader(),
                new Class<?>[] {ServiceReference.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getProperty" -> SERVICE.equals(args[0]) ? service : properties.get((String) args[0]);
                    case "getPropertyKeys" -> properties.keySet().toArray(new String[0]);
                    case "compareTo" -> 0;
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    static ComponentDescriptionDTO description(String name, String... configurationPids) {
        ComponentDescriptionDTO d = new ComponentDescriptionDTO();
        d.name = name;
        d.immediate = true;
        d.configurationPid = configurationPids;
        return d;
    }

    static ComponentConfigurationDTO component(ComponentDescriptionDTO d, Map<String, Object> properties, int state,
            String failure) {
        ComponentConfigurationDTO c = new ComponentConfigurationDTO();
        c.description = d;
        c.properties = properties;
        c.state = state;
        c.failure = failure;
        return c;
    }

    /** Adds a configuration as FileInstall would have made it from a file. */
    String addConfiguration(String pid, String factoryPid, Map<String, Object> properties) {
        Hashtable<String, Object> p = new Hashtable<>(properties);
        p.put("service.pid", pid);
        if (factoryPid != null) {
            p.put("service.factoryPid", factoryPid);
            factoryPids.put(pid, factoryPid);
        }
        configurations.put(pid, p);
        return pid;
    }

    private Configuration configuration(String pid) {
        return (Configuration) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Configuration.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getPid" -> pid;
                    case "getFactoryPid" -> factoryPids.get(pid);
                    case "getProperties" -> configurations.containsKey(pid)
                            ? new Hashtable<>(configurations.get(pid)) : null;
                    case "update" -> {
                        Hashtable<String, Object> p = new Hashtable<>();
                        Dictionary<?, ?> d = (Dictionary<?, ?>) args[0];
                        for (Object k : java.util.Collections.list(d.keys())) {
                            p.put((String) k, d.get(k));
                        }
                        p.put("service.pid", pid);
                        if (factoryPids.containsKey(pid)) {
                            p.put("service.factoryPid", factoryPids.get(pid));
                        }
                        configurations.put(pid, p);
                        yield null;
                    }
                    case "delete" -> {
                        configurations.remove(pid);
                        deleted.add(pid);
                        yield null;
                    }
                    case "hashCode" -> pid.hashCode();
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    @Override
    public ConfigurationAdmin configurationAdmin() {
        return (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ConfigurationAdmin.class}, (proxy, method, args) -> {
                    configAdminCalls.add(method.getName());
                    return switch (method.getName()) {
                    case "createFactoryConfiguration" -> {
                        String pid = args[0] + "~" + pids.incrementAndGet();
                        factoryPids.put(pid, (String) args[0]);
                        yield configuration(pid);
                    }
                    case "listConfigurations" -> {
                        Filter filter = args[0] == null ? null : FrameworkUtil.createFilter((String) args[0]);
                        List<Configuration> found = new ArrayList<>();
                        for (Map.Entry<String, Hashtable<String, Object>> e : configurations.entrySet()) {
                            if (filter == null || filter.match(e.getValue())) {
                                found.add(configuration(e.getKey()));
                            }
                        }
                        yield found.isEmpty() ? null : found.toArray(new Configuration[0]);
                    }
                    default -> throw new UnsupportedOperationException(method.getName());
                    };
                });
    }

    @Override
    public KcopydClientFactory factory(Duration wait) {
        if (factoryProperties.isEmpty()) {
            throw new IllegalStateException("no kcopyd client factory is available (waited 0 s)");
        }
        return null;
    }

    @Override
    public BlockDeviceOpener devices(Duration wait) {
        throw new IllegalStateException("no kcopyd device opener is available (waited 0 s)");
    }

    @Override
    public Map<String, Object> factoryProperties() {
        return new HashMap<>(factoryProperties);
    }

    @Override
    public List<Snapshot> snapshots() {
        return List.copyOf(snapshotServices.values());
    }

    @Override
    public List<Mirror> mirrors() {
        return List.copyOf(mirrorServices.values());
    }

    @Override
    public Snapshot snapshot(String name, Duration wait) {
        return snapshotServices.get(name);
    }

    @Override
    public Mirror mirror(String name, Duration wait) {
        return mirrorServices.get(name);
    }

    @Override
    public BlockDevice origin(String path, Duration wait) {
        return null;
    }
}
