package org.kcopyd.web.internal.javax;

import java.util.Hashtable;

import javax.servlet.Servlet;

import org.kcopyd.web.internal.ConsolePage;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * The Web Console 4 plugin's registration: the only class loading javax.servlet types for
 * {@code internal.osgi}. Made and closed by the component's activation and deactivation.
 */
public final class JavaxRegistration implements AutoCloseable {

    private final ServiceRegistration<Servlet> registration;

    private JavaxRegistration(ServiceRegistration<Servlet> registration) {
        this.registration = registration;
    }

    /**
     * @param context    the bundle's context
     * @param console    the page
     * @param properties label, title and category
     * @return the registration
     */
    public static JavaxRegistration register(BundleContext context, ConsolePage console,
            Hashtable<String, Object> properties) {
        return new JavaxRegistration(context.registerService(Servlet.class, new JavaxConsoleServlet(console),
                properties));
    }

    @Override
    public void close() {
        try {
            registration.unregister();
        } catch (IllegalStateException alreadyGone) {
            // The bundle is stopping: the framework has unregistered it.
        }
    }
}
