package org.kcopyd.cli.internal;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.control.KcopydControl;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.service.cm.ConfigurationAdmin;

/** What the commands use from the runtime: the services, looked up when a command runs. */
interface Services {

    /** @return the client factory, waiting up to {@code wait} for it */
    KcopydClientFactory factory(Duration wait);

    /** @return the device opener, waiting up to {@code wait} for it */
    BlockDeviceOpener devices(Duration wait);

    /** @return the factory's service properties (its effective configuration) */
    Map<String, Object> factoryProperties();

    /** @return Config Admin, for the configurations of --config-dir and what a mirror's view does not show */
    ConfigurationAdmin configurationAdmin();

    /**
     * @return the control service, through which snapshots and mirrors are made, listed and removed
     *         (the rules of the daemon's API) and which tells what became of a configuration of
     *         --config-dir, waiting a bounded time for it
     * @throws IllegalStateException when there is none (the bundle org.kcopyd.control is not started)
     */
    KcopydControl control();

    /** @return the registered snapshots */
    List<Snapshot> snapshots();

    /** @return the registered mirrors */
    List<Mirror> mirrors();

    /** @return the snapshot of that name, waiting up to {@code wait} for it to appear, or null */
    Snapshot snapshot(String name, Duration wait);

    /** @return the mirror of that name, waiting up to {@code wait} for it to appear, or null */
    Mirror mirror(String name, Duration wait);

    /** @return the origin device service of a snapshotted origin path, or null */
    org.kcopyd.api.BlockDevice origin(String path, Duration wait);
}
