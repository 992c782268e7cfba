package org.kcopyd.web.internal.jakarta;

import java.util.Hashtable;

import jakarta.servlet.Servlet;

import org.kcopyd.web.internal.ConsolePage;
import org.kcopyd.web.internal.ConsoleProperties;
import org.kcopyd.web.internal.DaemonPage;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Filter;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.servlet.whiteboard.HttpWhiteboardConstants;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The dashboard's Jakarta servlets: the Felix Web Console 5 plugin (a servlet service with
 * {@code felix.webconsole.label}, which only the console picks up) always, and the daemon's page at
 * {@link DaemonPage#PATH}{@code /*} while the control API's servlet is registered (service property
 * {@value #API_PROPERTY}{@code =1}, kcopyd.control's, which exists only where a token protects the API):
 * the page is served exactly where the API it calls is. The only class loading Jakarta types for
 * {@code internal.osgi}; used from the component's activation and deactivation (the tracker's
 * callbacks are serialized by the framework per service, the registration guarded here).
 */
public final class JakartaRegistrations implements AutoCloseable {

    /** kcopyd.control's property on its API servlet. */
    static final String API_PROPERTY = "kcopyd.control.api";

    private final BundleContext context;
    private final ServiceRegistration<Servlet> plugin;
    private final ServiceTracker<Object, Object> api;
    private ServiceRegistration<Servlet> page;
    private int apis;

    private JakartaRegistrations(BundleContext context, ConsolePage console, DaemonPage daemon) {
        this.context = context;
        this.plugin = context.registerService(Servlet.class, new JakartaConsoleServlet(console), ConsoleProperties.of());
        Filter filter;
        try {
            filter = context.createFilter("(&(objectClass=" + Servlet.class.getName() + ")(" + API_PROPERTY + "=1))");
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        this.api = new ServiceTracker<>(context, filter, null) {
            @Override
            public Object addingService(ServiceReference<Object> reference) {
                apiAdded(daemon);
                return reference;
            }

            @Override
            public void removedService(ServiceReference<Object> reference, Object service) {
                apiRemoved();
            }
        };
        api.open(true);
    }

    /** Registers the plugin and starts following the control API's servlet. */
    public static JakartaRegistrations register(BundleContext context, ConsolePage console, DaemonPage daemon) {
        return new JakartaRegistrations(context, console, daemon);
    }

    private synchronized void apiAdded(DaemonPage daemon) {
        apis++;
        if (page == null) {
            Hashtable<String, Object> props = new Hashtable<>();
            props.put(HttpWhiteboardConstants.HTTP_WHITEBOARD_SERVLET_PATTERN, DaemonPage.PATH + "/*");
            props.put(HttpWhiteboardConstants.HTTP_WHITEBOARD_SERVLET_NAME, "kcopyd-dashboard");
            page = context.registerService(Servlet.class, new DaemonServlet(daemon), props);
        }
    }

    private synchronized void apiRemoved() {
        apis--;
        if (apis == 0 && page != null) {
            unregister(page);
            page = null;
        }
    }

    @Override
    public synchronized void close() {
        api.close();
        if (page != null) {
            unregister(page);
            page = null;
        }
        unregister(plugin);
    }

    private static void unregister(ServiceRegistration<?> r) {
        try {
            r.unregister();
        } catch (IllegalStateException alreadyGone) {
            // The bundle is stopping: the framework has unregistered it.
        }
    }
}
