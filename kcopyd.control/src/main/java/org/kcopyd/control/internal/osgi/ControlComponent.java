package org.kcopyd.control.internal.osgi;

import java.lang.System.Logger.Level;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Instant;

import org.kcopyd.control.KcopydControl;
import org.kcopyd.control.internal.http.DaemonInfo;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;

/**
 * The control API's servlet on the Servlet Whiteboard, configured by {@value #PID} (written by the
 * daemon). It reads the token file when it activates and refuses to activate, naming the file,
 * when the file is missing, accessible to group or others, or holds no token; the servlet is
 * registered only then, at {@value #PATTERN} with {@value #API_PROPERTY}{@code =1}, which the
 * daemon waits for before it publishes {@code control.json}. A change of configuration (a new
 * token) activates it again.
 *
 * <p>Only this component needs the Jakarta Servlet API, and only once it is configured: the bundle
 * imports {@code jakarta.servlet} optionally, and the servlet's classes are loaded
 * ({@link ApiRegistration}) after {@link ServletApi} has found them. Without the API, the
 * {@link KcopydControl} service runs as ever (the shell's commands use it) and this component,
 * if configured, refuses to activate saying what is missing.
 */
@Component(configurationPid = ControlComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE, service = {},
        immediate = true)
@Designate(ocd = ControlConfiguration.class)
public final class ControlComponent {

    /** The configuration PID. */
    public static final String PID = "org.kcopyd.control";
    /** Service property of the API servlet: the API version it serves. */
    public static final String API_PROPERTY = "kcopyd.control.api";
    /** Where the API is served. */
    public static final String PATTERN = "/api/v1/*";

    private static final System.Logger LOG = System.getLogger(ControlComponent.class.getName());

    @Reference
    KcopydControl control;

    private ApiRegistration registration;

    @Activate
    void activate(BundleContext context, ControlConfiguration configuration) {
        String token;
        try {
            token = TokenFile.read(configuration.tokenFile());
        } catch (IllegalArgumentException e) {
            LOG.log(Level.ERROR, "control API not served: " + e.getMessage());
            throw e;
        }
        Path parent = Path.of(configuration.tokenFile()).getParent();
        DaemonInfo daemon = new DaemonInfo(context.getBundle().getVersion().toString(),
                parent == null ? null : parent.toString(), ProcessHandle.current().pid(),
                Instant.ofEpochMilli(ManagementFactory.getRuntimeMXBean().getStartTime()));
        try {
            ServletApi.require(getClass().getClassLoader());
        } catch (IllegalStateException e) {
            LOG.log(Level.ERROR, e.getMessage());
            throw e;
        }
        registration = ApiRegistration.register(context, control, token, daemon);
        LOG.log(Level.INFO, () -> "control API registered at " + PATTERN + " (token file " + configuration.tokenFile()
                + ")");
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            registration.close();
            registration = null;
        }
    }
}
