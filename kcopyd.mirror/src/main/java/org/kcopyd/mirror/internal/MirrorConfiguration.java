package org.kcopyd.mirror.internal;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.mirror.Mirror;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * One mirror, as a factory configuration of {@value Mirror#FACTORY_PID}. The attribute names are
 * the {@code Mirror.CONFIG_*} constants (a test checks that they agree); {@link MirrorSettings}
 * checks the values.
 */
@ObjectClassDefinition(id = Mirror.FACTORY_PID, name = "kcopyd mirror",
        description = "A mirrored block device over two or more legs (files or raw block devices), resynchronised "
                + "by kcopyd. Leg 0 is the default leg: a new mirror copies it to the others. Every leg and the "
                + "region log are claimed for this mirror while it is open: a file in use by another leg, mirror or "
                + "snapshot is refused. An existing region log is used only if it is this mirror's (see Region log "
                + "identity); a kcopyd region log is never overwritten, and any other file only if Format is set.")
@interface MirrorConfiguration {

    @AttributeDefinition(name = "Name", description = "The mirror's name, unique among mirrors: 1 to 64 letters, "
            + "digits, '.', '_' or '-'.")
    String name();

    @AttributeDefinition(name = "Legs", description = "The legs, default leg first, one per value (a list: a comma "
            + "is part of a path, never a separator): an absolute file or raw device path (at most 256 bytes), or "
            + "service:NAME for a BlockDevice service with " + BlockDevice.NAME + "=NAME. 2 to 16 legs, each a different "
            + "file or service. A leg added or replaced is resynchronised fully.")
    String[] legs();

    @AttributeDefinition(name = "Region size (sectors)", min = "8", max = "1048576",
            description = "Unit of the dirty-region log and of resync: a power of two from 8 (4 KiB) to 1048576 "
                    + "(512 MiB) sectors; 1024 sectors = 512 KiB.")
    int regionSectors() default Mirror.DEFAULT_REGION_SECTORS;

    @AttributeDefinition(name = "Region log", description = "Absolute path of the region log file. Created where "
            + "no file exists; an existing file is used only if its header carries this configuration's Region log "
            + "identity, region size and mirror size, otherwise it is refused and left untouched (a file that is not "
            + "a kcopyd region log is overwritten if Format is set).")
    String regionLog();

    @AttributeDefinition(name = "Region log identity", description = "A UUID, recorded in the region log's header "
            + "when the log is created, that makes sure an existing log is this mirror's. Leave it empty, or choose a "
            + "new one, for a new mirror (the mirror writes the identity of the log it makes here); give the one of "
            + "an existing log (the refusal message names it) to use that log again. In a configuration file applied "
            + "at every start, give a new UUID with Format: the log is made with it once, then adopted.")
    String regionLogId();

    @AttributeDefinition(name = "Format", description = "When true, an existing file at Region log that is not a "
            + "kcopyd region log (no header, an older format, both header copies failing their checksum) is "
            + "overwritten with a new log, and every leg is resynchronised from leg 0. A kcopyd region log is never "
            + "formatted: it is adopted if Region log identity names it, else refused (delete the file yourself to "
            + "start afresh). The mirror clears this setting once the log is made; remove it from a configuration "
            + "file yourself, or a log whose both header copies are damaged later would be overwritten.")
    boolean format() default false;

    @AttributeDefinition(name = "Error handling", description = "No effect (kept for configurations that set "
            + "it): a region's resync always stops at its first error, never writes what a failed read did not "
            + "return, fails the leg that failed and copies the region again from a leg in sync to the others.")
    boolean errorHandling() default false;

    @AttributeDefinition(name = "Legs to resync fully", required = false, description = "Legs (as in Legs) to "
            + "resynchronise fully from another leg in sync: a failed leg, which stays failed while it is the device "
            + "the log recorded however long it has been repaired, or a leg in sync whose data is doubted (written "
            + "outside the mirror). Refused if no other leg is in sync. The mirror clears this once open.")
    String[] resyncLegs() default {};

    @AttributeDefinition(name = "Resync bandwidth (bytes/s)", min = "0",
            description = "Cap on resync reads; 0 = none, else at least 4096. Live.")
    long throttleBytesPerSecond() default 0;

    @AttributeDefinition(name = "Resync I/O time share (%)", min = "1", max = "100",
            description = "Share of time the resync may have I/O outstanding; 100 = unthrottled. Live.")
    int throttleIoPercent() default 100;

    @AttributeDefinition(name = "Being created in", required = false, description = "Set by the control API while it "
            + "creates the mirror and waits to tell its user whether it was made: the UUID of that run of the framework "
            + "(org.osgi.framework.uuid). The mirror clears it once open. One naming another run (kcopyd was stopped or "
            + "killed before the creation was confirmed) is refused, and no leg is opened, written or resynced, "
            + "until the configuration is removed. Leave it empty.")
    String creating() default "";
}
