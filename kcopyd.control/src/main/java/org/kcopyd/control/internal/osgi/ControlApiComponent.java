package org.kcopyd.control.internal.osgi;

import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.time.Instant;

import org.kcopyd.control.ControlApi;
import org.kcopyd.control.KcopydControl;
import org.kcopyd.control.internal.http.ApiRoutes;
import org.kcopyd.control.internal.http.DaemonInfo;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The {@link ControlApi} service: the control API's routes ({@link ApiRoutes}, the code the daemon's
 * servlet answers with) without the token check, for callers that authenticate on their own (the
 * Felix Web Console plugin of kcopyd.web). Needs no HTTP: it runs wherever {@link KcopydControl} runs.
 * {@code GET /status}'s {@code stateDirectory} is the framework property {@value #STATE_PROPERTY}
 * (set by the daemon), else null. Thread-safe.
 */
@Component(service = ControlApi.class)
public final class ControlApiComponent implements ControlApi {

    /** The framework property naming the daemon's state directory. */
    static final String STATE_PROPERTY = "kcopyd.state.dir";

    @Reference
    KcopydControl control;

    private ApiRoutes routes;

    @Activate
    void activate(BundleContext context) {
        DaemonInfo daemon = new DaemonInfo(context.getBundle().getVersion().toString(),
                context.getProperty(STATE_PROPERTY), ProcessHandle.current().pid(),
                Instant.ofEpochMilli(ManagementFactory.getRuntimeMXBean().getStartTime()));
        KcopydControl c = control;
        routes = new ApiRoutes(() -> c, daemon);
    }

    @Override
    public Answer answer(String method, String path, InputStream body, long contentLength) {
        return routes.answer(method, path, body, contentLength);
    }
}
