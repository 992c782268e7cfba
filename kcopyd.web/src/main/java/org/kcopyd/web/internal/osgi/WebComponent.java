package org.kcopyd.web.internal.osgi;

import java.lang.System.Logger.Level;

import org.kcopyd.control.ControlApi;
import org.kcopyd.web.internal.Assets;
import org.kcopyd.web.internal.ConsolePage;
import org.kcopyd.web.internal.ConsoleProperties;
import org.kcopyd.web.internal.DaemonPage;
import org.kcopyd.web.internal.jakarta.JakartaRegistrations;
import org.kcopyd.web.internal.javax.JavaxRegistration;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * Registers the dashboard wherever it can be shown, for each servlet API this bundle is wired to
 * (both imports are optional; the classes naming one are loaded only after it was found):
 * <ul>
 * <li>Jakarta Servlet (the daemon's Felix HTTP Jetty 5, Felix Web Console 5): the Web Console plugin,
 *     and the daemon's page at {@code /kcopyd/} while kcopyd.control's token-protected API servlet is
 *     registered;</li>
 * <li>javax.servlet (Karaf 4.4's Web Console 4): the Web Console plugin.</li>
 * </ul>
 * With neither it registers nothing and says so in the log. Needs kcopyd.control's {@link ControlApi}.
 * Activation and deactivation are serialized by Declarative Services.
 */
@Component(service = {}, immediate = true)
public final class WebComponent {

    private static final System.Logger LOG = System.getLogger(WebComponent.class.getName());

    @Reference
    ControlApi api;

    private AutoCloseable jakarta;
    private AutoCloseable javax;

    @Activate
    void activate(BundleContext context) {
        ClassLoader loader = getClass().getClassLoader();
        Assets assets = new Assets(loader);
        ConsolePage console = new ConsolePage(assets, api);
        if (present(loader, "jakarta.servlet.http.HttpServlet")) {
            jakarta = JakartaRegistrations.register(context, console, new DaemonPage(assets));
        }
        if (present(loader, "javax.servlet.http.HttpServlet")) {
            javax = JavaxRegistration.register(context, console, ConsoleProperties.of());
        }
        if (jakarta == null && javax == null) {
            LOG.log(Level.WARNING, "kcopyd dashboard not served: neither the Jakarta Servlet API (jakarta.servlet.http) "
                    + "nor javax.servlet.http is available to bundle org.kcopyd.web; install a Servlet Whiteboard or "
                    + "the Felix Web Console and refresh org.kcopyd.web");
        }
    }

    @Deactivate
    void deactivate() throws Exception {
        if (jakarta != null) {
            jakarta.close();
            jakarta = null;
        }
        if (javax != null) {
            javax.close();
            javax = null;
        }
    }

    private static boolean present(ClassLoader loader, String className) {
        try {
            Class.forName(className, false, loader);
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }
}
