package org.kcopyd.control.internal.osgi;

/**
 * Whether the Jakarta Servlet API is there for this bundle: its imports of {@code jakarta.servlet}
 * are optional, so the bundle (and its {@code KcopydControl} service) also runs without any HTTP
 * bundle; only serving the HTTP API needs them. Stateless.
 */
final class ServletApi {

    /** The class whose presence tells. */
    static final String PROBE = "jakarta.servlet.http.HttpServlet";

    private ServletApi() {
    }

    /**
     * @param loader the bundle's class loader
     * @throws IllegalStateException naming the missing package and what to install, when the API is absent
     */
    static void require(ClassLoader loader) {
        try {
            Class.forName(PROBE, false, loader);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalStateException(ControlComponent.PID + ": the HTTP control API cannot be served: the "
                    + "Jakarta Servlet API (package jakarta.servlet.http, class " + PROBE + ") is not available to "
                    + "bundle org.kcopyd.control; install a Servlet Whiteboard (Felix HTTP Jetty 5 with its servlet API) "
                    + "and refresh org.kcopyd.control. The KcopydControl service runs without it.");
        }
    }
}
