package org.kcopyd.snapshot;

import java.util.Optional;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One snapshot of an origin device. Registered as a service with the property
 * {@value #NAME} = its name; thread-safe.
 */
@ProviderType
public interface Snapshot {

    /** Service property: the snapshot's name. */
    String NAME = "kcopyd.snapshot.name";
    /** Service property of the snapshot and origin {@link BlockDevice} services: "snapshot" or "origin". */
    String ROLE = "kcopyd.device.role";
    /** Service property of both device services: the origin's path. */
    String ORIGIN = "kcopyd.snapshot.origin";

    /** @return the snapshot's name */
    String name();

    /** @return the snapshot's view as a device: the origin as it was, plus writes made to the snapshot */
    BlockDevice device();

    /** @return the chunk size in sectors: the unit copied to the COW store */
    int chunkSectors();

    /** @return the current state */
    SnapshotState state();

    /** @return why the snapshot is {@link SnapshotState#INVALID}, if it is */
    Optional<String> invalidReason();

    /** @return chunks currently held in the COW store */
    long chunksUsed();

    /** @return chunks the COW store can hold in all */
    long chunksCapacity();

    /**
     * Rolls the origin back to this snapshot: kcopyd copies every COW chunk back to the origin
     * while the origin stays usable (it shows the snapshot's content from the start of the
     * merge). When the merge ends the COW store is empty and the snapshot is a fresh snapshot
     * of the merged origin. Calling it again while merging returns the same stage.
     *
     * @return a stage completed when every chunk is merged, or exceptionally if the merge fails
     * @throws IllegalStateException if the snapshot is invalid
     */
    CompletionStage<Void> merge();
}
