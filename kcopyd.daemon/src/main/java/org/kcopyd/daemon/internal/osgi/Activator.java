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
    /** The logs' directory inside the state directory. */
    static final String LOGS = "logs";

    private DaemonMain main;
    private ServiceRegistration<PersistenceManager> persistence;
    private ControlPublisher publisher;
    /** The state directory's reservations ({@link FileClaims#reserve}), ended at stop. */
    private final java.util.List<AutoCloseable> reserved = new java.util.ArrayList<>();

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
            String in = "in the state directory of the kcopyd daemon";
            reserved.add(FileClaims.reserve(directory, in));
            // Its subdirectories by their own identities too: another mount of one (mount --bind STATE/config
            // elsewhere) has them, not the state directory's, above its files (found by H25: a copy dropped a
            // file into STATE/config through one, and the next start failed).
            for (String sub : new String[] {CONFIG, LOGS}) {
                if (java.nio.file.Files.isDirectory(directory.resolve(sub))) {
                    reserved.add(FileClaims.reserve(directory.resolve(sub), in));
                }
            }
            // By identity too: a hard link to the lock from elsewhere is not in the directory by its path
            // (found by H24: a refused job through one dropped the lock, and a second daemon took over).
            reserved.add(FileClaims.reserve(directory.resolve("lock"), "the lock of the kcopyd daemon's state "
                    + "directory"));
            ControlFiles control = new ControlFiles(directory);
            control.newToken();
            // The new token, by identity: a hard link or another mount of it would copy it out (found by H25).
            reserved.add(FileClaims.reserve(control.tokenFile(), "the control token of the kcopyd daemon"));
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
        for (AutoCloseable r : reserved) {
            try {
                r.close();
            } catch (Exception e) {
                // The process ends with the framework: its locks, and with them the reservations, go with it.
            }
        }
        reserved.clear();
    }
}
