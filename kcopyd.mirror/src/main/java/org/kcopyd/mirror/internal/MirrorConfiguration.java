package org.kcopyd.mirror.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** One mirror, as a factory configuration of {@value MirrorComponent#FACTORY_PID}. */
@ObjectClassDefinition(id = MirrorComponent.FACTORY_PID, name = "kcopyd mirror",
        description = "A mirrored block device over two or more legs (files or raw block devices), resynchronised "
                + "by kcopyd. Leg 0 is the default leg: a new mirror copies it to the others.")
@interface MirrorConfiguration {

    @AttributeDefinition(name = "Name", description = "The mirror's name, unique among mirrors.")
    String name();

    @AttributeDefinition(name = "Legs", description = "The legs, default leg first (a list, or one "
            + "comma-separated string): a file or raw device path, or service:NAME for a BlockDevice service with "
            + "kcopyd.device.name=NAME. A leg added or replaced is resynchronised fully.")
    String[] legs();

    @AttributeDefinition(name = "Region size (sectors)", min = "8", max = "1048576",
            description = "Unit of the dirty-region log and of resync: 1024 sectors = 512 KiB.")
    int regionSectors() default 1024;

    @AttributeDefinition(name = "Region log", description = "Path of the region log file; created if missing.")
    String regionLog();

    @AttributeDefinition(name = "Error handling", description = "When true, a resync stops a region at the "
            + "first error; when false (dm-raid1's default) it uses IGNORE_ERROR and copies what it can.")
    boolean errorHandling() default false;

    @AttributeDefinition(name = "Resync bandwidth (bytes/s)", min = "0",
            description = "Cap on resync reads; 0 = none, else at least 4096. Live.")
    long throttleBytesPerSecond() default 0;

    @AttributeDefinition(name = "Resync I/O time share (%)", min = "1", max = "100",
            description = "Share of time the resync may have I/O outstanding; 100 = unthrottled. Live.")
    int throttleIoPercent() default 100;
}
