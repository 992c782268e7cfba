package org.kcopyd.impl.osgi;

import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;

import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.KcopydClientFactory;
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
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.Designate;

/**
 * The engine as an OSGi component, configured through Config Admin (PID {@value #PID}).
 *
 * <p>Declarative Services manages its life and configuration; the component registers the
 * {@link KcopydClientFactory} and {@link BlockDeviceOpener} services itself, because their
 * properties must state the <em>effective</em> settings: a refused configuration is logged and
 * the engine keeps its last valid one, which DS's own registration (publishing whatever the
 * configuration holds) could not show. Both are service factories, so each consuming bundle
 * gets its own view, and the clients and devices a bundle forgot are closed when it lets go.
 *
 * <p>{@code @Modified} reconfigures the running engine: same service, same service id; new
 * clients get the new values, the live ones reach existing clients at once, page reservations
 * are kept. On deactivation the services go first (consumers unbind and close their clients),
 * then every remaining client finishes its accepted jobs (or, past the close timeout, reports
 * them failed), then the threads end.
 */
@Component(name = KcopydComponent.PID, configurationPid = KcopydComponent.PID, service = {}, immediate = true)
@Designate(ocd = EngineConfiguration.class)
public final class KcopydComponent {

    /** The configuration PID, also the component name. */
    public static final String PID = "org.kcopyd.engine";

    private static final System.Logger FALLBACK = System.getLogger(KcopydComponent.class.getName());

    @Reference(service = LoggerFactory.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC)
    private volatile Logger logger;

    private Engine engine;
    private ServiceRegistration<KcopydClientFactory> factory;
    private ServiceRegistration<BlockDeviceOpener> opener;
    private ServiceRegistration<ClientsCommand> command;

    @Activate
    void activate(BundleContext context, Map<String, Object> properties) {
        EngineSettings settings;
        try {
            settings = settingsOf(properties);
        } catch (IllegalArgumentException e) {
            error("invalid configuration " + PID + " refused: " + e.getMessage() + "; starting with the defaults");
            settings = EngineSettings.defaults();
        }
        engine = new Engine(settings);
        factory = context.registerService(KcopydClientFactory.class, new ClientFactoryService(engine),
                serviceProperties(settings, "kcopyd client factory"));
        opener = context.registerService(BlockDeviceOpener.class, new DeviceOpenerService(engine),
                serviceProperties(settings, "kcopyd file and block device opener"));
        Hashtable<String, Object> shell = new Hashtable<>();
        shell.put("osgi.command.scope", "kcopyd");
        shell.put("osgi.command.function", new String[] {"clients"});
        command = context.registerService(ClientsCommand.class, new ClientsCommand(engine), shell);
        info("kcopyd engine started: " + settings);
    }

    @Modified
    void modified(Map<String, Object> properties) {
        EngineSettings settings;
        try {
            settings = settingsOf(properties);
        } catch (IllegalArgumentException e) {
            error("invalid configuration " + PID + " refused: " + e.getMessage() + "; keeping " + engine.settings());
            return;
        }
        engine.reconfigure(settings);
        factory.setProperties(serviceProperties(settings, "kcopyd client factory"));
        opener.setProperties(serviceProperties(settings, "kcopyd file and block device opener"));
        info("kcopyd engine reconfigured: " + settings);
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

    /** Applies every known setting present in the configuration; ignores the framework's own keys. */
    static EngineSettings settingsOf(Map<String, Object> properties) {
        EngineSettings.Builder builder = EngineSettings.builder();
        for (String name : EngineSettings.defaults().toMap().keySet()) {
            Object value = properties.get(name);
            if (value != null) {
                builder.set(name, value);
            }
        }
        return builder.build();
    }

    static Dictionary<String, Object> serviceProperties(EngineSettings settings, String description) {
        Hashtable<String, Object> properties = new Hashtable<>(settings.toMap());
        properties.put(Constants.SERVICE_DESCRIPTION, description);
        properties.put(Constants.SERVICE_VENDOR, "The kcopyd project");
        properties.put(Constants.SERVICE_PID, PID);
        return properties;
    }

    private void error(String message) {
        Logger log = logger;
        if (log != null) {
            log.error(message);
        } else {
            FALLBACK.log(System.Logger.Level.ERROR, message);
        }
    }

    private void info(String message) {
        Logger log = logger;
        if (log != null) {
            log.info(message);
        } else {
            FALLBACK.log(System.Logger.Level.INFO, message);
        }
    }
}
