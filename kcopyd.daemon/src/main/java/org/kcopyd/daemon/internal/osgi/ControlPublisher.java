package org.kcopyd.daemon.internal.osgi;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Dictionary;
import java.util.HashSet;
import java.util.Hashtable;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.kcopyd.daemon.internal.ControlFiles;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;
import org.osgi.util.tracker.ServiceTrackerCustomizer;

/**
 * Publishes the control API: gives the {@code org.kcopyd.control} configuration the token file
 * ({@code tokenFile}) as soon as Config Admin is there, and writes {@code control.json} while both the
 * API's servlet (service property {@code kcopyd.control.api=1}) and an HTTP runtime with an
 * {@code osgi.http.endpoint} are registered; removes it when either goes, and at {@link #close}. The
 * first time it is written, prints {@code kcopyd daemon: state DIR, control URL, pid N} on standard
 * output.
 *
 * <p>Service events arrive on any thread; the methods that touch files are synchronized. A failure to
 * give the token or write the file ends the daemon through {@link DaemonMain#stop} (exit 1, reason
 * printed).
 */
final class ControlPublisher {

    static final String CONTROL_PID = "org.kcopyd.control";
    static final String TOKEN_FILE = "tokenFile";
    private static final String ENDPOINT = "osgi.http.endpoint";

    private final BundleContext context;
    private final ControlFiles files;
    private final Path stateDirectory;
    private final DaemonMain main;
    private final ServiceTracker<ConfigurationAdmin, ConfigurationAdmin> configurationAdmin;
    private final ServiceTracker<Object, ServiceReference<Object>> api;
    private final ServiceTracker<Object, ServiceReference<Object>> runtimes;
    private final Set<ServiceReference<Object>> apiServlets = new HashSet<>();
    private final Set<ServiceReference<Object>> httpRuntimes = new HashSet<>();
    private String published;
    /**
     * Only an API servlet registered after the token was given (a higher service id than any service
     * then) reads this start's token: one registered before, by the control component activated with the
     * previous start's persisted configuration, may hold the old token and would answer 401 to clients.
     */
    private long servletsAfter = Long.MAX_VALUE;
    private boolean announced;
    private boolean closed;

    ControlPublisher(BundleContext context, ControlFiles files, Path stateDirectory, DaemonMain main) {
        this.context = context;
        this.files = files;
        this.stateDirectory = stateDirectory;
        this.main = main;
        this.configurationAdmin = new ServiceTracker<>(context, ConfigurationAdmin.class,
                new ServiceTrackerCustomizer<>() {
                    @Override
                    public ConfigurationAdmin addingService(ServiceReference<ConfigurationAdmin> reference) {
                        ConfigurationAdmin admin = context.getService(reference);
                        if (admin != null) {
                            giveToken(admin);
                        }
                        return admin;
                    }

                    @Override
                    public void modifiedService(ServiceReference<ConfigurationAdmin> reference, ConfigurationAdmin s) {
                    }

                    @Override
                    public void removedService(ServiceReference<ConfigurationAdmin> reference, ConfigurationAdmin s) {
                        context.ungetService(reference);
                    }
                });
        this.api = referenceTracker("(kcopyd.control.api=1)", apiServlets);
        this.runtimes = referenceTracker("(&(" + ENDPOINT + "=*)"
                + "(|(objectClass=org.osgi.service.http.runtime.HttpServiceRuntime)"
                + "(objectClass=org.osgi.service.servlet.runtime.HttpServiceRuntime)))", httpRuntimes);
    }

    void open() {
        configurationAdmin.open();
        api.open();
        runtimes.open();
    }

    void close() {
        synchronized (this) {
            closed = true;
        }
        runtimes.close();
        api.close();
        configurationAdmin.close();
        synchronized (this) {
            withdraw();
        }
    }

    private void giveToken(ConfigurationAdmin admin) {
        try {
            Configuration configuration = admin.getConfiguration(CONTROL_PID, null);
            Dictionary<String, Object> properties = configuration.getProperties();
            if (properties == null) {
                properties = new Hashtable<>();
            }
            properties.put(TOKEN_FILE, files.tokenFile().toString());
            long highest = highestServiceId();
            // Always an update, also with the same path: the component re-reads the file, which holds a new token.
            configuration.update(properties);
            synchronized (this) {
                servletsAfter = highest;
            }
            update();
        } catch (IOException | RuntimeException e) {
            main.stop(1, "cannot give the control API its token (configuration " + CONTROL_PID + "): " + e.getMessage());
        }
    }

    /** @return the highest service id registered now */
    private long highestServiceId() {
        long highest = 0;
        try {
            ServiceReference<?>[] all = context.getAllServiceReferences(null, null);
            for (ServiceReference<?> r : all == null ? new ServiceReference<?>[0] : all) {
                highest = Math.max(highest, (Long) r.getProperty(Constants.SERVICE_ID));
            }
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException("no filter given, yet: " + e.getMessage(), e);
        }
        return highest;
    }

    private synchronized void update() {
        if (closed) {
            return;
        }
        boolean current = apiServlets.stream()
                .anyMatch(r -> (Long) r.getProperty(Constants.SERVICE_ID) > servletsAfter);
        String url = current ? endpoint() : null;
        if (url == null) {
            withdraw();
            return;
        }
        if (url.equals(published)) {
            return;
        }
        long pid = ProcessHandle.current().pid();
        try {
            files.publish(url, pid, context.getBundle().getVersion().toString());
        } catch (IOException | RuntimeException e) {
            main.stop(1, "cannot publish the control API at " + files.addressFile() + ": " + e.getMessage());
            return;
        }
        published = url;
        if (!announced) {
            announced = true;
            PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true);
            out.println("kcopyd daemon: state " + stateDirectory + ", control " + url + ", pid " + pid);
        }
    }

    private void withdraw() {
        if (published == null) {
            return;
        }
        published = null;
        try {
            files.withdraw();
        } catch (IOException e) {
            main.stop(1, "cannot remove " + files.addressFile() + ": " + e.getMessage());
        }
    }

    /** The first http:// endpoint of the registered HTTP runtimes, or null. */
    private String endpoint() {
        for (ServiceReference<Object> reference : new TreeSet<>(httpRuntimes).descendingSet()) {
            for (String candidate : strings(reference.getProperty(ENDPOINT))) {
                if (candidate.startsWith("http://")) {
                    return candidate;
                }
            }
        }
        return null;
    }

    private static List<String> strings(Object value) {
        if (value instanceof String s) {
            return List.of(s);
        }
        if (value instanceof String[] array) {
            return List.of(array);
        }
        if (value instanceof Collection<?> collection) {
            return collection.stream().map(String::valueOf).toList();
        }
        return List.of();
    }

    private ServiceTracker<Object, ServiceReference<Object>> referenceTracker(String filter,
            Set<ServiceReference<Object>> present) {
        Filter parsed;
        try {
            parsed = FrameworkUtil.createFilter(filter);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("bad filter " + filter + ": " + e.getMessage(), e);
        }
        return new ServiceTracker<>(context, parsed, new ServiceTrackerCustomizer<>() {
            @Override
            public ServiceReference<Object> addingService(ServiceReference<Object> reference) {
                synchronized (ControlPublisher.this) {
                    present.add(reference);
                }
                update();
                return reference;
            }

            @Override
            public void modifiedService(ServiceReference<Object> reference, ServiceReference<Object> service) {
                update();
            }

            @Override
            public void removedService(ServiceReference<Object> reference, ServiceReference<Object> service) {
                synchronized (ControlPublisher.this) {
                    present.remove(reference);
                }
                update();
            }
        });
    }
}
