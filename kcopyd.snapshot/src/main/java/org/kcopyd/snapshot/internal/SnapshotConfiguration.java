package org.kcopyd.snapshot.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** One snapshot, as a factory configuration of {@value SnapshotComponent#FACTORY_PID}. */
@ObjectClassDefinition(id = SnapshotComponent.FACTORY_PID, name = "kcopyd snapshot",
        description = "A copy-on-write snapshot of an origin device (a file or raw block device). A new, empty COW "
                + "store takes the snapshot when the configuration is created; an existing one is reopened as it was.")
@interface SnapshotConfiguration {

    @AttributeDefinition(name = "Name", description = "The snapshot's name, unique among snapshots.")
    String name();

    @AttributeDefinition(name = "Origin", description = "Path of the origin file or block device. Every write "
            + "to the origin must go through the origin BlockDevice service while snapshots exist.")
    String origin();

    @AttributeDefinition(name = "COW store", description = "Path of the copy-on-write store file; created "
            + "(sparse) with the size below if it does not exist.")
    String cowStore();

    @AttributeDefinition(name = "Chunk size (sectors)", min = "8", max = "2048",
            description = "Unit copied to the COW store, a power of two: 16 sectors = 8 KiB.")
    int chunkSectors() default 16;

    @AttributeDefinition(name = "COW store size (MiB)", min = "1", max = "16777216",
            description = "Size of a COW store created by this configuration. When full, the snapshot becomes "
                    + "invalid; the origin keeps working.")
    int cowStoreSizeMiB() default 1024;

    @AttributeDefinition(name = "Copies in flight", min = "1", max = "65536",
            description = "Most copy-on-write copies in flight for the origin (dm-snapshot uses 2048).")
    int maxCopiesInFlight() default 2048;

    @AttributeDefinition(name = "Wait for kcopyd (s)", min = "0", max = "3600",
            description = "How long an origin write needing a copy waits for a KcopydClientFactory service "
                    + "before it is refused.")
    int factoryWaitSeconds() default 30;
}
