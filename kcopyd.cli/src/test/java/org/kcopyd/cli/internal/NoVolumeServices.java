package org.kcopyd.cli.internal;

import java.time.Duration;
import java.util.List;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.control.KcopydControl;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.snapshot.Snapshot;

/**
 * Services with no snapshot or mirror registered and no origin to find; the test supplies the
 * engine's services and Config Admin.
 */
abstract class NoVolumeServices implements Services {

    @Override
    public List<Snapshot> snapshots() {
        return List.of();
    }

    @Override
    public List<Mirror> mirrors() {
        return List.of();
    }

    @Override
    public Snapshot snapshot(String name, Duration wait) {
        return null;
    }

    @Override
    public Mirror mirror(String name, Duration wait) {
        return null;
    }

    @Override
    public BlockDevice origin(String path, Duration wait) {
        return null;
    }

    @Override
    public KcopydControl control() {
        throw new IllegalStateException("no kcopyd control service (is the bundle org.kcopyd.control started?)");
    }
}
