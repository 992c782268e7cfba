package org.kcopyd.snapshot;

import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;

import org.kcopyd.api.BlockDevice;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One snapshot of an origin device. Registered as a service with the property
 * {@value #NAME} = its name; thread-safe.
 *
 * <p><b>Configuration.</b> Each snapshot is a factory configuration of {@value #FACTORY_PID} with
 * the properties named by the {@code CONFIG_*} constants below.
 *
 * <p><b>Files.</b> While a snapshot exists, its origin and its COW store are claimed by file
 * identity (device and inode, whatever the path's spelling; see {@code org.kcopyd.device.FileClaims}):
 * any other kcopyd writer of the origin, such as a copy onto it, is refused with
 * "ORIGIN is the origin of snapshot NAME; write through its origin device", and a file already
 * claimed (another snapshot's COW store, the origin itself, a mirror leg) is refused as COW store.
 * Several snapshots of one origin share it, whatever path each names it by.
 *
 * <p><b>COW store identity.</b> Every COW store carries a header with its identity, a UUID chosen
 * when the store is made ({@link #cowStoreId()}), and the origin size and chunk size it was made
 * for. A snapshot adopts an existing file only when the configuration names that identity
 * ({@value #CONFIG_COW_STORE_ID}) and the header matches it, the origin's size and the chunk size.
 * A new store is made only where no file exists, or where {@value #CONFIG_FORMAT}{@code =true}
 * asks for it over a file that holds no kcopyd COW store (zeros, other data, an older format, a
 * header whose checksum fails); the snapshot then records the new identity in its configuration
 * ({@value #CONFIG_COW_STORE_ID}) and clears {@value #CONFIG_FORMAT}. A kcopyd COW store is never
 * formatted: with {@value #CONFIG_FORMAT}{@code =true} it is adopted if the configuration names it,
 * and refused otherwise, with its identity in the message (delete the file to start afresh), so a
 * configuration that keeps {@value #CONFIG_FORMAT}{@code =true} (a configuration file applied at
 * every start) cannot destroy the store it made. Anything else (a file of zeros or other data
 * without {@value #CONFIG_FORMAT}) is refused too; every refusal gives the reason and writes nothing.
 * When opening, every COW entry is checked; a store whose entries are inconsistent makes the
 * snapshot {@link SnapshotState#INVALID} with the reason, and it is not merged.
 *
 * <p><b>Origin identity.</b> A COW store holds the old data of one origin: opened with another
 * origin of the same size, its merge would write that data into the wrong file or disk. So the
 * header also records the origin's identity when the store is made, and the origin's path (for
 * messages): for a block device what the kernel knows of the disk itself, since a device name or
 * number may point to another disk after a reboot: a device-mapper UUID, the file behind a loop
 * device, a disk's WWID (or serial number, with the device number, as serials repeat), a
 * partition as its disk's identity plus its number and start, and only failing all of these the
 * device number ({@code block:dev=8:16}); for a regular
 * file its inode and its file system's device, known the same way
 * ({@code file:dm-uuid=LVM-...:ino=1234}, {@code file:dev=8:1:ino=1234}). A store is adopted
 * only with the origin it records, whatever path names it (a symbolic link, a relative path);
 * another origin is refused before anything is written or merged, even with an interrupted merge
 * recorded in the store, with both identities in the message. When a snapshot closes, its store
 * also records a fingerprint of the origin's first and last 64 KiB as kcopyd left it (as the origin
 * closes with its last snapshot; as it is then for a snapshot leaving while others keep it open);
 * if they differ when the store is adopted again, the origin is another disk or file, or was
 * written while that snapshot was not open (the store then no longer holds the snapshot's moment),
 * and the store is refused too (delete it to start afresh). An origin that really is the
 * store's origin under another identity (a file restored from a backup or copied to another file
 * system: a new inode; a disk that lost or gained its WWID) is accepted only when the user says
 * so: {@value #CONFIG_ORIGIN_ID} set to the origin's current identity, printed in the refusal;
 * the store then records it. A store made by a version that recorded no origin (COW header
 * version 2) is refused the same way until {@value #CONFIG_ORIGIN_ID} confirms its origin.
 */
@ProviderType
public interface Snapshot {

    /** The factory PID of snapshot configurations. */
    String FACTORY_PID = "org.kcopyd.snapshot";

    /** Service property: the snapshot's name. */
    String NAME = "kcopyd.snapshot.name";
    /**
     * Service property of the snapshot and origin {@link BlockDevice} services: {@value #ROLE_SNAPSHOT}
     * or {@value #ROLE_ORIGIN}. An alias of {@link BlockDevice#ROLE}, kept for compatibility.
     */
    String ROLE = BlockDevice.ROLE;
    /** Value of {@link #ROLE} on a snapshot's own device. */
    String ROLE_SNAPSHOT = "snapshot";
    /** Value of {@link #ROLE} on an origin's device, through which origin writes must go. */
    String ROLE_ORIGIN = "origin";
    /**
     * Service property of both device services: the origin's path or, for an origin named by URI
     * (an NBD export), its URI, as the first of its snapshots named it.
     */
    String ORIGIN = "kcopyd.snapshot.origin";
    /** Service property of the snapshot services: the COW store's path. */
    String COW_STORE = "kcopyd.snapshot.cowStore";
    /** Service property of the snapshot services: the COW store's identity, {@link #cowStoreId()}. */
    String COW_STORE_ID = "kcopyd.snapshot.cowStoreId";

    /**
     * Service property of a configured snapshot's <em>not-open status</em>: the snapshot's name.
     * While the component of a snapshot configuration is active but the snapshot is not open, the
     * snapshot bundle registers a {@code java.util.function.Supplier<String>} service with this
     * property, whose value says why in one line: waiting for a {@code BlockDeviceOpener} to open
     * an origin named by URI, waiting for other snapshots to let go of its origin, its origin
     * being connected to, its origin's server unreachable (with the cause of the last attempt and
     * how long until the next, or the attempt under way), or
     * refused when it was tried again (with the refusal; not tried again until an opener is bound
     * or the configuration changes). It is unregistered when the snapshot opens and when the
     * component is deactivated. {@link #NAME} is not set on it: it is no snapshot service.
     *
     * @since 1.3
     */
    String NOT_OPEN = "kcopyd.snapshot.notOpen";

    /**
     * Service property of the not-open status ({@link #NOT_OPEN}): {@code Boolean.TRUE} while the
     * snapshot was refused (a store, log or device that is not its own, a read-only or malformed
     * device, a server that came back with another disk) and is not tried again until a
     * {@code BlockDeviceOpener} service is bound or its configuration changes; absent while it
     * waits to be opened. A configuration refused when it is activated or changed is said here too:
     * the component stays active, so that the configuration's next change (a configuration file mended
     * in place, say) is tried; only one that names no snapshot fails its activation (Declarative Services
     * reports it), with no status.
     *
     * @since 1.4
     */
    String NOT_OPEN_REFUSED = "kcopyd.snapshot.notOpen.refused";

    /**
     * Service property of the not-open status ({@link #NOT_OPEN}): {@code Boolean.TRUE} while a
     * new snapshot (one whose configuration names no COW store there to be adopted) with origin named by
     * URI is being opened: its origin is connected to on a thread of the snapshot's own, after the
     * activation, so that a server that accepts and never answers holds up neither Config Admin's
     * event thread nor anything waiting for it. The status then goes away (the snapshot is open) or
     * says the refusal ({@link #NOT_OPEN_REFUSED}); a new snapshot is not tried again. Whoever creates
     * one waits while this is set to learn whether it was made.
     *
     * @since 1.5
     */
    String NOT_OPEN_CREATING = "kcopyd.snapshot.notOpen.creating";

    /**
     * Service property of the not-open status ({@link #NOT_OPEN}), with {@link #NOT_OPEN_REFUSED}:
     * the fully qualified class name of the exception that refused the snapshot, as a failed activation
     * would have thrown it: {@code java.lang.IllegalArgumentException} for a value of the
     * configuration, {@code org.kcopyd.device.FileClaimedException} for a file or device in use,
     * an {@code IOException} otherwise (a server that cannot be reached, say).
     *
     * @since 1.5
     */
    String NOT_OPEN_EXCEPTION = "kcopyd.snapshot.notOpen.exception";

    /** Configuration property: the snapshot's name, matching {@link #NAME_RULE}, unique among snapshots. */
    String CONFIG_NAME = "name";
    /** Configuration property: the origin's path (a file or raw block device). */
    String CONFIG_ORIGIN = "origin";
    /** Configuration property: the COW store's path. */
    String CONFIG_COW_STORE = "cowStore";
    /** Configuration property: the chunk size in sectors, a power of two in 8..2048. */
    String CONFIG_CHUNK_SECTORS = "chunkSectors";
    /** Configuration property: the size in MiB of a COW store made where no file exists. */
    String CONFIG_COW_STORE_SIZE_MIB = "cowStoreSizeMiB";
    /** Configuration property: most copy-on-write copies in flight for the origin. */
    String CONFIG_MAX_COPIES_IN_FLIGHT = "maxCopiesInFlight";
    /** Configuration property: how long, in seconds, a copy waits for a kcopyd client factory. */
    String CONFIG_FACTORY_WAIT_SECONDS = "factoryWaitSeconds";
    /**
     * Configuration property: the identity (a UUID) of the COW store to adopt. Empty: no store
     * exists yet, one is made where no file exists (and its identity written back here). A store
     * made with {@value #CONFIG_FORMAT}{@code =true} takes the identity given here, if any.
     */
    String CONFIG_COW_STORE_ID = "cowStoreId";
    /**
     * Configuration property: {@code true} to make a new, empty store over the file at the COW
     * store path if it holds no kcopyd COW store; a kcopyd COW store is never formatted (it is
     * adopted if {@value #CONFIG_COW_STORE_ID} names it, else refused). Cleared once done.
     */
    String CONFIG_FORMAT = "format";
    /**
     * Configuration property: the identity of the origin as kcopyd prints it (such as
     * {@code file:dev=8:1:ino=1234}), to confirm that the origin is the one the COW store was made
     * for although the store records another identity or none. It must be the origin's identity
     * now, else the snapshot is refused; empty for the usual case.
     */
    String CONFIG_ORIGIN_ID = "originId";
    /**
     * Configuration property: {@code true} to have the snapshot's configuration removed when a merge
     * it resumes as it opens completes (the process was stopped or killed during the merge; the COW
     * store stays); a snapshot opening with it and no merge to resume stays. What the commands' merge
     * sets before merging, so that a merged snapshot is gone, not left as a fresh snapshot of the
     * merged origin; a merge running in the process is left to whoever started it (the commands'
     * merge job removes the snapshot itself).
     *
     * @since 1.2
     */
    String CONFIG_REMOVE_WHEN_MERGED = "removeWhenMerged";

    /**
     * Configuration property: the creation mark, the UUID of the framework
     * ({@code org.osgi.framework.uuid}) in which the snapshot is being created or changed, set by
     * whoever creates the configuration and waits to learn whether the snapshot opened (the control
     * API). The snapshot clears it once open. A mark naming another framework (the process was
     * stopped or killed before the creation was confirmed) is refused: nothing is opened or written
     * until the configuration is removed or changed again. Absent for the usual case (a configuration
     * file, one made by hand).
     *
     * @since 1.6
     */
    String CONFIG_CREATING = "creating";

    /**
     * The rule for snapshot names, a regular expression: 1 to 64 of {@code A-Z a-z 0-9 . _ -},
     * not only dots ({@code .} and {@code ..} name directories, not snapshots).
     */
    String NAME_RULE = "(?!\\.+$)[A-Za-z0-9._-]{1,64}";

    /**
     * @param name a would-be snapshot name, may be null
     * @return whether it matches {@link #NAME_RULE}
     */
    static boolean isValidName(String name) {
        return name != null && Pattern.matches(NAME_RULE, name);
    }

    /** @return the snapshot's name */
    String name();

    /** @return the snapshot's view as a device: the origin as it was, plus writes made to the snapshot */
    BlockDevice device();

    /** @return the chunk size in sectors: the unit copied to the COW store */
    int chunkSectors();

    /**
     * @return the identity of the snapshot's COW store, recorded in its header when it was made;
     *         naming it in {@value #CONFIG_COW_STORE_ID} lets a later configuration adopt the store
     */
    UUID cowStoreId();

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
     * of the merged origin. A snapshot holding no chunks merges at once. Calling it again while
     * merging returns the same stage.
     *
     * @return a stage completed when every chunk is merged, or exceptionally if the merge fails
     * @throws IllegalStateException if the snapshot is invalid (its COW store full, failed or
     *                               inconsistent: the message gives the reason; nothing is merged),
     *                               or another snapshot of the origin is merging
     */
    CompletionStage<Void> merge();
}
