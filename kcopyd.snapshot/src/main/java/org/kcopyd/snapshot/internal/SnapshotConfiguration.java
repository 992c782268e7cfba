package org.kcopyd.snapshot.internal;

import org.kcopyd.snapshot.Snapshot;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * One snapshot, as a factory configuration of {@value Snapshot#FACTORY_PID}. The attribute names
 * are the {@code Snapshot.CONFIG_*} constants (a test checks that they agree).
 */
@ObjectClassDefinition(id = Snapshot.FACTORY_PID, name = "kcopyd snapshot",
        description = "A copy-on-write snapshot of an origin device (a file or raw block device). While it exists, "
                + "the origin and the COW store are claimed: other kcopyd writers of either are refused. A new, "
                + "empty COW store takes the snapshot when it is made: where no file exists, or, when 'Format' is "
                + "set, over an existing file that is not a kcopyd COW store. An existing kcopyd COW store is "
                + "adopted only if its header carries the 'COW store identity' given here (and the same origin "
                + "size and chunk size): it is reopened as it was. It is never formatted. A COW store records its "
                + "origin's identity and is adopted only with that origin (another file or disk of the same size is "
                + "refused, see 'Origin identity'). Anything else is refused with the reason and left untouched.")
@interface SnapshotConfiguration {

    @AttributeDefinition(name = "Name", description = "The snapshot's name, unique among snapshots: 1 to 64 "
            + "characters of A-Z a-z 0-9 . _ -")
    String name();

    @AttributeDefinition(name = "Origin", description = "Path of the origin file or block device, or the URI of "
            + "a remote device such as an NBD export (nbd+unix:///disk?socket=/run/a.sock, nbd://host/disk: a value "
            + "starting SCHEME:// is a URI; opened through kcopyd's BlockDeviceOpener, with the kcopyd.nbd bundle for "
            + "NBD). Every write to the origin must go through the origin BlockDevice service while snapshots exist; "
            + "other kcopyd writers of a file are refused (a remote device cannot be claimed: serve the export to "
            + "this kcopyd alone). An existing COW store is adopted only if this is the origin it was made for (the "
            + "identity its header records: a file's device and inode, a disk's WWID, device-mapper UUID or similar, "
            + "under whatever path; for a URI the normalized URI).")
    String origin();

    @AttributeDefinition(name = "COW store", description = "Path of the copy-on-write store: created (sparse) "
            + "with the size below if nothing exists there; an existing file is used only as described for "
            + "'COW store identity' and 'Format'. It may not be the origin nor another snapshot's store.")
    String cowStore();

    @AttributeDefinition(name = "Chunk size (sectors)", min = "8", max = "2048",
            description = "Unit copied to the COW store, a power of two from 8 to 2048: 16 sectors = 8 KiB.")
    int chunkSectors() default 16;

    @AttributeDefinition(name = "COW store size (MiB)", min = "1", max = "16777216",
            description = "Size of a COW store created by this configuration, 1 to 16777216 MiB. When full, the "
                    + "snapshot becomes invalid; the origin keeps working.")
    int cowStoreSizeMiB() default 1024;

    @AttributeDefinition(name = "Copies in flight", min = "1", max = "65536",
            description = "Most copy-on-write copies in flight for the origin, 1 to 65536 (dm-snapshot uses 2048).")
    int maxCopiesInFlight() default 2048;

    @AttributeDefinition(name = "Wait for kcopyd (s)", min = "0", max = "3600",
            description = "How long, 0 to 3600 s, an origin write needing a copy waits for a KcopydClientFactory "
                    + "service before it is refused.")
    int factoryWaitSeconds() default 30;

    @AttributeDefinition(name = "COW store identity", required = false,
            description = "The UUID in the header of the COW store to reopen. Leave empty for a new snapshot: the "
                    + "snapshot then writes the identity of the store it makes here. An existing COW store file is "
                    + "adopted only when its header carries this identity, the origin's size and the chunk size. "
                    + "A new UUID given here together with 'Format' becomes the identity of the store made, so a "
                    + "configuration file applied at every start makes the store once and then reopens it.")
    String cowStoreId() default "";

    @AttributeDefinition(name = "Format", description = "Make a new, empty COW store over the file at the COW "
            + "store path if that file is not a kcopyd COW store (zeros, other data, an older format, a header "
            + "whose checksum fails); its previous content is lost. A kcopyd COW store is never formatted: it is "
            + "reopened if 'COW store identity' names it, else refused (delete the file yourself to start afresh). "
            + "The snapshot clears this setting once the store is made; remove it from a configuration file "
            + "yourself, or a store whose header is damaged later would be overwritten.")
    boolean format() default false;

    @AttributeDefinition(name = "Origin identity", required = false,
            description = "Leave empty, except to confirm that the origin is the one an existing COW store was made "
                    + "for although the store records another identity (a file restored from a backup or copied to "
                    + "another file system has a new inode; a disk may be known by other properties) or none (a "
                    + "store made by an older kcopyd). Give the origin's identity as the refusal prints it (such as "
                    + "file:dev=8:1:ino=1234); it must be the origin's identity now, else the snapshot is refused. "
                    + "The store then records it. Nothing overrides a store whose origin was written while no "
                    + "snapshot of it was open.")
    String originId() default "";

    @AttributeDefinition(name = "Remove when merged", description = "Remove this configuration when a merge the "
            + "snapshot resumes as it opens completes (kcopyd was stopped or killed during the merge; the COW store file "
            + "stays); a snapshot opening with it and no merge to resume stays. The commands' merge sets it before "
            + "merging and removes the snapshot itself when a merge it runs completes.")
    boolean removeWhenMerged() default false;

    @AttributeDefinition(name = "Being created in", required = false, description = "Set by the control API while it "
            + "creates the snapshot and waits to tell its user whether it was made: the UUID of that run of the framework "
            + "(org.osgi.framework.uuid). The snapshot clears it once open. One naming another run (kcopyd was stopped or "
            + "killed before the creation was confirmed) is refused, and nothing is opened or written, until the "
            + "configuration is removed. Leave it empty.")
    String creating() default "";
}
