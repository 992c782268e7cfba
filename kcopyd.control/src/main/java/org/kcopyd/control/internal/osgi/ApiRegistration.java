package org.kcopyd.control.internal.osgi;

import java.util.Hashtable;

import jakarta.servlet.Servlet;

import org.kcopyd.control.KcopydControl;
import org.kcopyd.control.internal.http.AccessCheck;
import org.kcopyd.control.internal.http.ApiHandler;
import org.kcopyd.control.internal.http.ApiServlet;
import org.kcopyd.control.internal.http.DaemonInfo;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.servlet.whiteboard.HttpWhiteboardConstants;

/**
 * The control API's servlet registered on the Servlet Whiteboard. The only class of this package
 * that names Jakarta Servlet types: {@link ControlComponent} loads it only once {@link ServletApi}
 * has found the API, so that the bundle resolves and its {@link KcopydControl} service runs where
 * there is no servlet API at all (the runtime's one-shot commands and shell, Karaf without HTTP).
 * Not thread-safe: made and closed by the component's activation and deactivation.
 */
final class ApiRegistration implements AutoCloseable {

    private ServiceRegistration<Servlet> registration;

    private ApiRegistration(ServiceRegistration<Servlet> registration) {
        this.registration = registration;
    }

    /**
     * Registers the API servlet at {@link ControlComponent#PATTERN} with
     * {@link ControlComponent#API_PROPERTY}{@code =1}.
     *
     * @param context the bundle's context
     * @param control the service the API serves
     * @param token   the token requests must carry
     * @param daemon  what {@code GET /status} says of the daemon
     * @return the registration, to be closed at deactivation
     */
    static ApiRegistration register(BundleContext context, KcopydControl control, String token, DaemonInfo daemon) {
        ApiServlet servlet = new ApiServlet(new ApiHandler(() -> control, new AccessCheck(token), daemon));
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(HttpWhiteboardConstants.HTTP_WHITEBOARD_SERVLET_PATTERN, ControlComponent.PATTERN);
        props.put(HttpWhiteboardConstants.HTTP_WHITEBOARD_SERVLET_NAME, "kcopyd-control-api");
        props.put(ControlComponent.API_PROPERTY, "1");
        return new ApiRegistration(context.registerService(Servlet.class, servlet, props));
    }

    /** Unregisters the servlet; again, or once the framework has unregistered it (bundle stopping), does nothing. */
    @Override
    public void close() {
        if (registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException alreadyGone) {
                // The bundle is stopping: the framework has unregistered it.
            }
            registration = null;
        }
    }
}
