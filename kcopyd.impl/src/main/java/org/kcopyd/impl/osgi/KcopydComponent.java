package org.kcopyd.impl.osgi;

import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.api.UriDeviceProvider;
import org.kcopyd.impl.engine.Engine;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.Designate;

/**
 * The engine as an OSGi component, configured through Config Admin (PID {@value KcopydClientFactory#PID}, also
 * the component name).
 *
 * <p>Declarative Services manages its life and configuration; the component registers the
 * {@link KcopydClientFactory} and {@link BlockDeviceOpener} services itself, because their
 * properties must state the <em>effective</em> settings: a refused configuration is logged and
 * the engine keeps its last valid one, which DS's own registration (publishing whatever the
 * configuration holds) could not show. Both are service factories, so each consuming bundle
 * gets its own view, and the clients and devices a bundle forgot are closed when it lets go.
 *
 * <p>Activation and every change apply a configuration the same way (one method, {@code apply}).
 * A change reconfigures the running engine: same service, same service id; new clients get the
 * new values, the live ones reach existing clients at once, page reservations are kept. A
 * configuration is refused as a whole when a value is out of range, of the wrong type, or a
 * property name is unknown (a misspelt name, or the junk a damaged file parses into,
 * must not silently mean "the default"); the engine keeps its last valid settings (the defaults
 * if it never had any), logs the reason and publishes it on both services as
 * {@value KcopydClientFactory#CONFIG_REFUSED}, with {@value KcopydClientFactory#CONFIG_STATE}
 * saying whether the latest configuration was {@code applied} or {@code refused}, or that there
 * is none ({@code defaults}). So a tool that wrote a configuration can tell at once whether it
 * took effect, and why not.
 *
 * <p>The opener serves device URIs of other schemes than {@code file:} through every bound
 * {@link UriDeviceProvider} service (a dynamic, greedy, multiple reference: providers come and go
 * while the engine runs, and a better-ranked one replaces the one in use at once); see
 * {@link UriProviderBindings}.
 *
 * <p>On deactivation the services go first (consumers unbind and close their clients), then
 * every remaining client finishes its accepted jobs (or, past the close timeout, reports
 * them failed), then the threads end.
 */
@Component(name = KcopydClientFactory.PID, configurationPid = KcopydClientFactory.PID, service = {}, immediate = true)
@Designate(ocd = EngineConfiguration.class)
public final class KcopydComponent {

    /**
     * Configuration properties that are not engine settings and are not refused: those Config
     * Admin, DS, FileInstall and Karaf add ({@code service.pid}, {@code component.id},
     * {@code osgi.ds.satisfying.condition.target}, {@code felix.fileinstall.filename},
     * {@code org.apache.karaf.features.configKey}), and private ones (a leading dot, by OSGi
     * convention; a leading colon, Config Admin's own).
     */
    private static final List<String> FOREIGN_PREFIXES = List.of("service.", "component.", "osgi.ds.", "felix.",
            "org.apache.felix.", "org.apache.karaf.", ".", ":");

    /** DS's own configuration of a reference ({@code logger.target}), not an engine setting either. */
    private static final List<String> REFERENCE_SUFFIXES = List.of(".target", ".cardinality.minimum");

    /** The component's and the engine's notices: to the Log Service while one is bound, else to System.Logger. */
    private final LogServiceLogger log = new LogServiceLogger(KcopydComponent.class.getName());

    /** The device providers bound; DS binds them before activation, so they exist before the engine. */
    private final UriProviderBindings uriProviders = new UriProviderBindings(log);

    private Engine engine;
    private ServiceRegistration<KcopydClientFactory> factory;
    private ServiceRegistration<BlockDeviceOpener> opener;
    private ServiceRegistration<ClientsCommand> command;

    /** What the services publish as {@link KcopydClientFactory#CONFIG_STATE}, set by {@link #apply}. */
    private String configState;
    /** The reason the latest configuration was refused, or null; set by {@link #apply}. */
    private String refusal;

    @Reference(name = "logger", service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC)
    void bindLogger(Logger logger) {
        log.bind(logger);
    }

    void unbindLogger(Logger logger) {
        log.unbind(logger);
    }

    @Reference(name = "uriProviders", service = UriDeviceProvider.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            updated = "updatedUriProvider")
    void bindUriProvider(UriDeviceProvider provider, Map<String, Object> properties) {
        uriProviders.bind(provider, properties);
    }

    void updatedUriProvider(UriDeviceProvider provider, Map<String, Object> properties) {
        uriProviders.updated(provider, properties);
    }

    void unbindUriProvider(UriDeviceProvider provider, Map<String, Object> properties) {
        uriProviders.unbind(properties);
    }

    @Activate
    void activate(BundleContext context, Map<String, Object> properties) {
        apply(properties);
        factory = context.registerService(KcopydClientFactory.class, new ClientFactoryService(engine),
                serviceProperties("kcopyd client factory"));
        opener = context.registerService(BlockDeviceOpener.class, new DeviceOpenerService(engine, log),
                serviceProperties("kcopyd file and block device opener"));
        Hashtable<String, Object> shell = new Hashtable<>();
        shell.put("osgi.command.scope", "kcopyd");
        shell.put("osgi.command.function", new String[] {"clients"});
        command = context.registerService(ClientsCommand.class, new ClientsCommand(engine), shell);
    }

    @Modified
    void modified(Map<String, Object> properties) {
        apply(properties);
        factory.setProperties(serviceProperties("kcopyd client factory"));
        opener.setProperties(serviceProperties("kcopyd file and block device opener"));
    }

    /**
     * Applies a configuration, the first one and every change alike: valid settings start the
     * engine or reconfigure it in place; refused ones leave it on its last valid settings (the
     * defaults when it starts), with the reason logged. Either way the state and the reason to
     * publish are set.
     */
    private void apply(Map<String, Object> properties) {
        EngineSettings requested = null;
        try {
            requested = settingsOf(properties);
            refusal = null;
            // DS passes service.pid only when a configuration exists.
            configState = properties.containsKey(Constants.SERVICE_PID) ? KcopydClientFactory.CONFIG_STATE_APPLIED
                    : KcopydClientFactory.CONFIG_STATE_DEFAULTS;
        } catch (IllegalArgumentException e) {
            refusal = e.getMessage();
            configState = KcopydClientFactory.CONFIG_STATE_REFUSED;
        }
        if (engine == null) {
            if (requested == null) {
                error("invalid configuration " + KcopydClientFactory.PID + " refused: " + refusal
                        + "; starting with the defaults");
            }
            engine = new Engine(requested == null ? EngineSettings.defaults() : requested, log, uriProviders.providers());
            info("kcopyd engine started: " + engine.settings());
        } else if (requested == null) {
            error("invalid configuration " + KcopydClientFactory.PID + " refused: " + refusal + "; keeping "
                    + engine.settings());
        } else {
            engine.reconfigure(requested);
            info("kcopyd engine reconfigured: " + requested);
        }
    }

    @Deactivate
    void deactivate() {
        unregister(command);
        unregister(factory);
        unregister(opener);
        if (!engine.close(Engine.DEFAULT_CLOSE_TIMEOUT)) {
            error("kcopyd engine stopped with jobs aborted or threads still running after "
                    + Engine.DEFAULT_CLOSE_TIMEOUT);
        }
    }

    private static void unregister(ServiceRegistration<?> registration) {
        try {
            registration.unregister();
        } catch (IllegalStateException alreadyGone) {
            // The framework unregisters a stopping bundle's services itself.
        }
    }

    /**
     * The settings a configuration asks for: every property that is not {@linkplain #FOREIGN_PREFIXES
     * foreign} must be a setting with a valid value; settings it does not name keep their defaults.
     *
     * @throws IllegalArgumentException naming the first bad property, its value and the limit
     */
    static EngineSettings settingsOf(Map<String, Object> properties) {
        EngineSettings.Builder builder = EngineSettings.builder();
        for (Map.Entry<String, Object> e : new TreeMap<>(properties).entrySet()) {
            if (FOREIGN_PREFIXES.stream().noneMatch(e.getKey()::startsWith)
                    && REFERENCE_SUFFIXES.stream().noneMatch(e.getKey()::endsWith)) {
                builder.set(e.getKey(), e.getValue());
            }
        }
        return builder.build();
    }

    /**
     * The properties of the factory and the opener: the settings in effect under their names,
     * and whether the latest configuration was applied or refused, and why.
     */
    private Dictionary<String, Object> serviceProperties(String description) {
        Hashtable<String, Object> properties = new Hashtable<>(engine.settings().toMap());
        properties.put(Constants.SERVICE_DESCRIPTION, description);
        properties.put(Constants.SERVICE_VENDOR, "The kcopyd project");
        properties.put(Constants.SERVICE_PID, KcopydClientFactory.PID);
        properties.put(KcopydClientFactory.CONFIG_STATE, configState);
        if (refusal != null) {
            properties.put(KcopydClientFactory.CONFIG_REFUSED, refusal);
        }
        return properties;
    }

    private void error(String message) {
        log.log(System.Logger.Level.ERROR, message);
    }

    private void info(String message) {
        log.log(System.Logger.Level.INFO, message);
    }
}
