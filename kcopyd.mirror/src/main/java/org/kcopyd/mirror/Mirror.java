package org.kcopyd.mirror;

import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;

import org.kcopyd.api.BlockDevice;
import org.osgi.annotation.versioning.ProviderType;

/**
 * One mirror. Registered as a service with the property {@value #NAME}; thread-safe.
 *
 * <p>The constants name what other bundles and users exchange with the mirror bundle: the
 * factory PID and property names of its configuration ({@code CONFIG_*}), the properties of the
 * services it registers, and the limits it enforces. The configuration rules, in short:
 * <ul>
 * <li>{@value #CONFIG_LEGS} is a list ({@code String[]}): never split at commas, so a path may
 * contain one. 2 to {@value #MAX_LEGS} legs, each a file or raw device path of at most
 * {@value #MAX_LEG_PATH_BYTES} bytes in UTF-8, or {@value #SERVICE_LEG}{@code NAME} for a
 * {@link BlockDevice} service with {@value #DEVICE_NAME}{@code =NAME}.</li>
 * <li>Every file the mirror writes is claimed for its role ("leg 1 of mirror m", "the region log
 * of mirror m"), by file identity (device and inode), while the mirror is open: a file already
 * claimed (another leg, the log, another mirror's or a snapshot's file, whatever the spelling of
 * its path) is refused with a message naming the holder, and so is one service twice.</li>
 * <li>The region log carries a header with its identity (a UUID chosen when the log is made,
 * {@link #regionLogId()}), the region size, the mirror size and each leg's path, identity, size
 * and state. A new log is made only where no file exists and the configuration names no identity,
 * or where {@value #CONFIG_FORMAT}{@code =true} asks for it over a file that holds no kcopyd region
 * log (no header, a format before version 2, both header copies failing their checksum); it takes the
 * identity the configuration names, if any, and the mirror then records its identity in its
 * configuration ({@value #CONFIG_REGION_LOG_ID}) and clears {@value #CONFIG_FORMAT}. An existing
 * file is adopted only when the configuration names its identity and its header (either copy) is
 * intact and matches (region size, mirror size, a configured leg recorded in sync that is still the
 * recorded file, see below). A kcopyd
 * region log is never formatted: with {@value #CONFIG_FORMAT}{@code =true} it is adopted if the
 * configuration names it and refused otherwise, with its identity in the message (delete the file
 * to start afresh), so a configuration that keeps {@value #CONFIG_FORMAT}{@code =true} (a
 * configuration file applied at every start) cannot make the mirror resynchronise every leg from
 * leg 0 again. Anything else — a file without the header or with a damaged one (without
 * {@value #CONFIG_FORMAT}), another mirror's log, a configured identity whose log is missing — is
 * refused with the reason and not written at all. A new log makes leg 0 the default leg: every
 * other leg is resynchronised from it.</li>
 * <li>The log recognises each leg by its identity, recorded with its size: a file's disk and inode,
 * a block device's disk as the kernel knows it (WWID, device-mapper UUID, the file behind a loop
 * device: {@code org.kcopyd.device.DeviceIdentity}), not its device number, which names whichever
 * disk came there after a reboot; a {@value #SERVICE_LEG}{@code NAME} leg's name; an export's URI.
 * When the mirror closes cleanly (every write and resync copy drained) it also records each leg's
 * fingerprint, a hash of its first and last 64 KiB, and drops it again when it opens, before
 * writing anything. A leg that is not as recorded (another identity or size, or, after a clean
 * close, another fingerprint) is never copied over the others, and never written by itself: it is
 * left {@link LegState#FAILED}, its {@link LegStatus#failure()} saying so, since whose file or disk
 * is there now cannot be told (another mirror's leg behind a link, another disk behind a by-id
 * name). Named in {@value #CONFIG_RESYNC_LEGS} (the user's word that it is to be the leg), it is
 * resynchronised fully from a leg recorded in sync that is as recorded. If no such leg is left —
 * the legs' names were swapped, the only in-sync leg was replaced, restored as a new file or
 * written outside the mirror — the log is refused and
 * nothing is written: put the recorded files back at their paths, or delete the log and create the
 * mirror again with the leg that holds the data first. A log of format version 2, which records
 * no identities, is refused likewise. Not detected, since a leg carries no label of its own (as
 * with dm-raid1's disk log, keeping the legs in place while the mirror is down is the
 * administrator's job): after a crash, when no fingerprint is recorded, other contents written
 * into the same file (copied or restored over it in place) and another disk behind a block device
 * node with the same device number when the kernel knows nothing more of either (no WWID, serial
 * or device-mapper UUID); at any time, changes that leave a leg's first and last 64 KiB as they
 * were.</li>
 * <li>A leg the log records {@link LegState#FAILED} is neither read nor written, so it need not be
 * there for the mirror to open: named by URI it is not connected to, and a file or device service
 * that cannot be opened is left out; the mirror opens without it, and its {@link LegStatus#failure()}
 * says it was not opened. A file that is there is opened (another file at its path stays failed
 * until brought back, {@value #CONFIG_RESYNC_LEGS}).</li>
 * <li>The region size is a power of two from {@value #MIN_REGION_SECTORS} to
 * {@value #MAX_REGION_SECTORS} sectors.</li>
 * </ul>
 * A configuration that breaks a rule is refused when the mirror opens, before anything is
 * written; the reason is logged.
 */
@ProviderType
public interface Mirror {

    /** Service property: the mirror's name. */
    String NAME = "kcopyd.mirror.name";
    /** Service property of both services: the legs, as configured ({@code String[]}). */
    String LEGS = "kcopyd.mirror.legs";
    /** Service property of both services: the region log's path. */
    String REGION_LOG = "kcopyd.mirror.regionLog";
    /** Service property of both services: the region log's identity, {@link #regionLogId()}. */
    String REGION_LOG_ID = "kcopyd.mirror.regionLogId";
    /**
     * Service property of the mirror's {@link BlockDevice} service; its value is {@value #ROLE_MIRROR}.
     * An alias of {@link BlockDevice#ROLE}, kept for compatibility.
     */
    String ROLE = BlockDevice.ROLE;
    /** The value of {@value #ROLE} on the mirror's device service. */
    String ROLE_MIRROR = "mirror";
    /**
     * Service property of a configured mirror's <em>not-open status</em>: the mirror's name. While
     * the component of a mirror configuration is active but the mirror is not open, the mirror
     * bundle registers a {@code java.util.function.Supplier<String>} service with this property,
     * whose value says why in one line: waiting for a {@code BlockDeviceOpener} to open legs named
     * by URI, its legs being connected to, a leg's server unreachable (with the cause of the last
     * attempt and how long until the next, or the attempt under way), or refused when it was
     * tried again (with the refusal; not tried again until an opener is bound or the
     * configuration changes). It is unregistered when the mirror opens and when
     * the component is deactivated. {@link #NAME} is not set on it: it is no mirror service.
     *
     * @since 1.2
     */
    String NOT_OPEN = "kcopyd.mirror.notOpen";

    /**
     * Service property of the not-open status ({@link #NOT_OPEN}): {@code Boolean.TRUE} while the
     * mirror was refused (a store, log or device that is not its own, a read-only or malformed
     * device, a server that came back with another disk) and is not tried again until a
     * {@code BlockDeviceOpener} service is bound or its configuration changes; absent while it
     * waits to be opened. A configuration refused when it is activated or changed is said here too:
     * the component stays active, so that the configuration's next change (a configuration file mended
     * in place, say) is tried; only one that names no mirror fails its activation (Declarative Services
     * reports it), with no status.
     *
     * @since 1.3
     */
    String NOT_OPEN_REFUSED = "kcopyd.mirror.notOpen.refused";

    /**
     * Service property of the not-open status ({@link #NOT_OPEN}): {@code Boolean.TRUE} while a
     * new mirror (one whose configuration names no region log there to be adopted) with legs named by
     * URI is being opened: they are connected to on a thread of the mirror's own, after the
     * activation, so that a server that accepts and never answers holds up neither Config Admin's
     * event thread nor anything waiting for it. The status then goes away (the mirror is open) or
     * says the refusal ({@link #NOT_OPEN_REFUSED}); a new mirror is not tried again. Whoever creates
     * one waits while this is set to learn whether it was made.
     *
     * @since 1.4
     */
    String NOT_OPEN_CREATING = "kcopyd.mirror.notOpen.creating";

    /**
     * Service property of the not-open status ({@link #NOT_OPEN}), with {@link #NOT_OPEN_REFUSED}:
     * the fully qualified class name of the exception that refused the mirror, as a failed activation
     * would have thrown it: {@code java.lang.IllegalArgumentException} for a value of the
     * configuration, {@code org.kcopyd.device.FileClaimedException} for a file or device in use,
     * an {@code IOException} otherwise (a server that cannot be reached, say).
     *
     * @since 1.4
     */
    String NOT_OPEN_EXCEPTION = "kcopyd.mirror.notOpen.exception";
    /**
     * Service property naming a {@link BlockDevice} service that a leg {@value #SERVICE_LEG}{@code NAME}
     * uses. An alias of {@link BlockDevice#NAME}, kept for compatibility.
     */
    String DEVICE_NAME = BlockDevice.NAME;
    /** Prefix of a leg that is a {@link BlockDevice} service rather than a file. */
    String SERVICE_LEG = "service:";

    /** Factory PID of mirror configurations: one configuration per mirror. */
    String FACTORY_PID = "org.kcopyd.mirror";
    /** Configuration property: the mirror's name, matching {@link #NAME_RULE}, unique among mirrors. */
    String CONFIG_NAME = "name";
    /** Configuration property: the legs ({@code String[]}), default leg first. */
    String CONFIG_LEGS = "legs";
    /** Configuration property: the path of the region log. */
    String CONFIG_REGION_LOG = "regionLog";
    /**
     * Configuration property: the identity (a UUID) of the region log to adopt. Empty: no log
     * exists yet; one is made where no file exists, and its identity written back here. A log made
     * with {@value #CONFIG_FORMAT}{@code =true} takes the identity given here, if any.
     */
    String CONFIG_REGION_LOG_ID = "regionLogId";
    /**
     * Configuration property: {@code true} to make a new region log over the file at
     * {@value #CONFIG_REGION_LOG} if it holds no kcopyd region log; leg 0 becomes the default leg.
     * A kcopyd region log is never formatted (it is adopted if {@value #CONFIG_REGION_LOG_ID} names
     * it, else refused). Cleared once done.
     */
    String CONFIG_FORMAT = "format";
    /** Configuration property: the region size in sectors. */
    String CONFIG_REGION_SECTORS = "regionSectors";
    /**
     * Configuration property, kept for the configurations that set it; it has no effect since 1.5. A
     * region's resync always stops at its first error: it never writes what a failed read did not return
     * ({@code IGNORE_ERROR} wrote zeros there, over in-sync legs too), fails the leg that failed, and
     * copies the region again from a leg in sync to the others.
     */
    String CONFIG_ERROR_HANDLING = "errorHandling";
    /** Configuration property: the resync's bandwidth cap in bytes per second (0 = none). */
    String CONFIG_THROTTLE_BYTES_PER_SECOND = "throttleBytesPerSecond";
    /** Configuration property: the share of time (1..100 %) the resync may have I/O outstanding. */
    String CONFIG_THROTTLE_IO_PERCENT = "throttleIoPercent";
    /**
     * Configuration property: legs ({@code String[]}, each as it stands in {@value #CONFIG_LEGS}) to bring
     * back: a leg the region log records {@link LegState#FAILED} stays failed while it is the device the
     * log recorded (the same path or URI), however long it has been repaired; named here, it is taken as a
     * new leg and resynchronised fully from a leg in sync, as a replaced one is. A leg named here that
     * has not failed is resynchronised fully too, from another leg in sync (its data doubted: written
     * outside the mirror where no fingerprint looks; LVM's {@code lvchange --resync}); if no other leg
     * is in sync the mirror is refused, nothing written. The mirror clears it once open; {@code mirror
     * replace-leg NAME N DEVICE} with the leg's own device sets it.
     *
     * @since 1.5
     */
    String CONFIG_RESYNC_LEGS = "resyncLegs";

    /**
     * Configuration property: the creation mark, the UUID of the framework
     * ({@code org.osgi.framework.uuid}) in which the mirror is being created or changed, set by
     * whoever creates or changes the configuration and waits to learn whether the mirror opened (the
     * control API's create and replace-leg). The mirror clears it once open. A mark naming another
     * framework (the process was stopped or killed before the change was confirmed) is refused: no
     * leg is opened or written, above all not resynced, until the configuration is removed or changed
     * again. Absent for the usual case (a configuration file, one made by hand).
     *
     * @since 1.5
     */
    String CONFIG_CREATING = "creating";

    /**
     * The rule for mirror names, a regular expression: 1 to 64 of {@code A-Z a-z 0-9 . _ -}, not
     * only dots ({@code .} and {@code ..} name directories); a name appears in service filters,
     * file claims and messages.
     */
    String NAME_RULE = "(?!\\.+$)[A-Za-z0-9._-]{1,64}";
    /** The least region size in sectors (4 KiB). */
    int MIN_REGION_SECTORS = 8;
    /** The greatest region size in sectors (512 MiB). */
    int MAX_REGION_SECTORS = 1 << 20;
    /** The region size when none is configured (512 KiB). */
    int DEFAULT_REGION_SECTORS = 1024;
    /** The most legs a mirror may have. */
    int MAX_LEGS = 16;
    /** The longest leg path the region log records, in bytes of UTF-8. */
    int MAX_LEG_PATH_BYTES = 256;

    /**
     * @param name a would-be mirror name, may be null
     * @return whether it matches {@link #NAME_RULE}
     */
    static boolean isValidName(String name) {
        return name != null && Pattern.matches(NAME_RULE, name);
    }

    /**
     * @param sectors a would-be region size in sectors
     * @return whether it is a power of two from {@value #MIN_REGION_SECTORS} to {@value #MAX_REGION_SECTORS}
     */
    static boolean isValidRegionSize(long sectors) {
        return sectors >= MIN_REGION_SECTORS && sectors <= MAX_REGION_SECTORS && Long.bitCount(sectors) == 1;
    }

    /** @return the mirror's name */
    String name();

    /**
     * @return the identity of the mirror's region log, recorded in its header when it was made;
     *         naming it in {@value #CONFIG_REGION_LOG_ID} lets a later configuration adopt the log
     */
    UUID regionLogId();

    /**
     * Writes that overlap while in flight are not ordered between them: as with dm-raid1 and md,
     * the legs may then end up holding different ones of them (file systems issue no such writes).
     *
     * @return the mirror as a block device: writes reach every healthy leg, reads come from an in-sync leg
     */
    BlockDevice device();

    /** @return the current status */
    MirrorStatus status();

    /**
     * @return a stage completed when no resync is pending (immediately if none). A leg whose
     *         resync fails (an I/O error, or a copy the engine refuses) is marked
     *         {@link LegState#FAILED} with the reason, and the stage still completes; a resync
     *         that cannot run for a while (no kcopyd factory, a full client) waits and retries. The
     *         stage completes exceptionally if no leg in sync is left to copy from (the default leg
     *         failed): the legs being resynchronised stay {@link LegState#RESYNCING}, their
     *         {@link LegStatus#failure()} saying that their resync stopped.
     */
    CompletionStage<Void> whenInSync();
}
