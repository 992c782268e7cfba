package org.kcopyd.daemon.internal.osgi;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Hashtable;

import org.apache.felix.cm.PersistenceManager;
import org.kcopyd.daemon.internal.ConfigurationFiles;
import org.kcopyd.daemon.internal.ControlFiles;
import org.kcopyd.device.FileClaims;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * Starts the daemon's parts when the framework property {@value #STATE_DIRECTORY} names the state
 * directory (the runtime sets it in daemon mode, after checking and locking the directory); does
 * nothing otherwise. In order: the state directory {@linkplain FileClaims#reserve reserved} (no job,
 * export, snapshot or mirror of this process, and no one-shot command of another kcopyd process,
 * opens a file in it as a device: its lock would be dropped when such a descriptor is closed, and its
 * files are the daemon's), a new control token (so
 * that the persisted {@code org.kcopyd.control} configuration never points at an old one), the
 * persistence manager {@code name=kcopyd} over {@code STATE/config} (Config Admin, started with
 * {@code felix.cm.pm=kcopyd}, waits for it), the
 * control API's publisher, and the main program. When a step fails (a configuration file that cannot be
 * read, a file that cannot be written) the main program prints the reason and ends the process with
 * exit code 1 instead of running without it.
 */
public final class Activator implements BundleActivator {

    /** Framework property: the daemon's state directory. */
    public static final String STATE_DIRECTORY = "kcopyd.state.dir";
    /** The persistence manager's {@code name}, which the framework property {@code felix.cm.pm} names. */
    public static final String PERSISTENCE_MANAGER = "kcopyd";
    /** The configuration directory inside the state directory. */
    public static final String CONFIG = "config";

    private DaemonMain main;
    private ServiceRegistration<PersistenceManager> persistence;
    private ControlPublisher publisher;
    private AutoCloseable reserved;
    private AutoCloseable lockReserved;

    @Override
    public void start(BundleContext context) {
        String state = context.getProperty(STATE_DIRECTORY);
        if (state == null) {
            return;
        }
        Path directory = Path.of(state);
        main = new DaemonMain();
        main.handleSignals();
        try {
            reserved = FileClaims.reserve(directory, "in the state directory of the kcopyd daemon");
            // By identity too: a hard link to the lock from elsewhere is not in the directory by its path
            // (found by H24: a refused job through one dropped the lock, and a second daemon took over).
            lockReserved = FileClaims.reserve(directory.resolve("lock"), "the lock of the kcopyd daemon's state "
                    + "directory");
            ControlFiles control = new ControlFiles(directory);
            control.newToken();
            ConfigurationFiles configurations = ConfigurationFiles.open(directory.resolve(CONFIG));
            Hashtable<String, Object> properties = new Hashtable<>();
            properties.put(PersistenceManager.PROPERTY_NAME, PERSISTENCE_MANAGER);
            properties.put("service.description", "kcopyd daemon: configurations in " + directory.resolve(CONFIG));
            persistence = context.registerService(PersistenceManager.class, configurations, properties);
            publisher = new ControlPublisher(context, control, directory, main);
            publisher.open();
        } catch (IOException | RuntimeException e) {
            main.stop(1, "cannot start the daemon on " + directory + ": " + e.getMessage());
        }
        main.register(context);
    }

    @Override
    public void stop(BundleContext context) {
        if (main == null) {
            return;
        }
        main.stop(0, null);
        main.unregister();
        if (publisher != null) {
            publisher.close();
        }
        if (persistence != null) {
            persistence.unregister();
        }
        for (AutoCloseable r : new AutoCloseable[] {reserved, lockReserved}) {
            if (r != null) {
                try {
                    r.close();
                } catch (Exception e) {
                    // Ending a reservation only removes it from a list.
                }
            }
        }
    }
}
