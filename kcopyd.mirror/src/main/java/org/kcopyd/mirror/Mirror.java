package org.kcopyd.mirror;

import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;
import org.osgi.annotation.versioning.ProviderType;

/** One mirror. Registered as a service with the property {@value #NAME}; thread-safe. */
@ProviderType
public interface Mirror {

    /** Service property: the mirror's name. */
    String NAME = "kcopyd.mirror.name";

    /** @return the mirror's name */
    String name();

    /** @return the mirror as a block device: writes reach every healthy leg, reads come from an in-sync leg */
    BlockDevice device();

    /** @return the current status */
    MirrorStatus status();

    /** @return a stage completed when no resync is pending (immediately if none) */
    CompletionStage<Void> whenInSync();
}
