package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.Map;
import java.util.Set;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.ClientBinding;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.device.DeviceBacking;
import org.kcopyd.device.DeviceUriIdentity;
import org.kcopyd.device.FileClaims;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.device.KcopydHeaders;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The bundle's origins and its kcopyd client. Each origin used by at least one snapshot is open
 * once, claimed as "the origin of snapshot NAME; write through its origin device" (NAME being the
 * snapshot that opened it), and registered as a snapshot-aware {@link BlockDevice} service.
 * Origins are told apart by file identity ({@link FileClaims#identityOf}), not by path: snapshots
 * naming one origin by different paths share it. An origin named by URI (an NBD export) is opened
 * read-write through the {@link BlockDeviceOpener} service's {@code open(URI)}, is told apart by
 * what it connects to ({@link DeviceUriIdentity}: two spellings of one export, such as the default
 * port written out or the socket reached through a link, are one origin; its store records
 * {@link OriginIdentity#of(java.net.URI)}), and is claimed by that service in this process only
 * ({@link org.kcopyd.device.UriClaims}): kcopyd cannot see other clients of an export (the export
 * should be served to kcopyd alone). The client comes from whichever
 * {@link KcopydClientFactory} is bound (dynamic, greedy): while there is none, copies wait for
 * one, up to each snapshot's configured time, then fail with a clear error; when one returns they
 * continue with it.
 */
@Component(service = Origins.class, immediate = true)
public final class Origins {

    private static final FileDeviceOpener FILES = new FileDeviceOpener(false);
    private static final System.Logger LOG = System.getLogger(Origins.class.getName());
    /** How long a detach waits for the writes, copies and merge steps in flight (as a mirror's close does). */
    static final Duration DRAIN = Duration.ofSeconds(30);

    private final Object lock = new Object();
    private final ClientBinding kcopyd = new ClientBinding(KcopydClientFactory::createClient);
    /** By file identity. Guarded by lock. */
    private final Map<Object, Entry> origins = new HashMap<>();
    /** Names of the attached snapshots. Guarded by lock. */
    private final Map<String, SnapshotVolume> names = new HashMap<>();
    private final CowStoreOpener cowStores = new CowStoreOpener(FILES);
    /** Retries of snapshots refused with {@link OriginOpenElsewhereException}, one per snapshot. Guarded by lock. */
    private final Set<Runnable> waiting = new LinkedHashSet<>();
    private BundleContext context;

    /** What tells an origin named by URI from others: its identity, never equal to a file's. */
    private record RemoteOrigin(String identity) {
    }

    /** An open origin, its service and the number of snapshots using it. */
    private static final class Entry {
        Object identity;
        // Read by the origin's claim, from whichever thread is refused a conflicting claim.
        volatile Origin origin;
        ServiceRegistration<BlockDevice> registration;
        int users;
        /** For an origin named by URI: the opener service its device came from. */
        BlockDeviceOpener opener;
        /** For a file or block device origin: the path it was first opened by, else null. */
        Path path;
        /** Its device was lost ({@link BlockDevice#whenLost}): shared by no new snapshot, whose attach waits. */
        volatile boolean lost;
    }

    @Activate
    void activate(BundleContext bundleContext) {
        this.context = bundleContext;
    }

    @Deactivate
    void deactivate() {
        synchronized (lock) {
            // The snapshot components went first (they depend on this one); whatever is left is closed all the same.
            for (SnapshotVolume s : List.copyOf(names.values())) {
                detach(s);
            }
        }
        kcopyd.close();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindFactory(KcopydClientFactory factory) {
        kcopyd.bind(factory);
    }

    void unbindFactory(KcopydClientFactory factory) {
        // Copies in flight finish and report before the client goes.
        kcopyd.unbind(factory);
    }

    /**
     * Opens (or shares) the origin, then opens, creates or formats the COW store as the settings
     * allow (see {@link CowStoreOpener}), and attaches the snapshot. On failure nothing stays open.
     *
     * @param opener the {@link BlockDeviceOpener} service that opens an origin named by URI, or
     *               null if none is bound (then such an origin is refused; file origins need none)
     * @throws IllegalArgumentException if the configuration names a COW store file it may not use
     *                                  (see {@link CowStoreOpener}), or a name in use, or an origin
     *                                  URI that its provider finds malformed or that is read-only;
     *                                  the message says why
     * @throws OriginUnreachableException if the opener fails to open an origin named by URI (an
     *                     {@link IOException}: an export that cannot be reached, say) while the COW
     *                     store the settings name is there to be reopened
     *                     ({@link CowStoreOpener#holdsStoreToReopen}): nothing was created or written,
     *                     and the same settings may open later
     * @throws IOException if the origin or the COW store is claimed, missing or cannot be used (an
     *                     export that cannot be reached for a new snapshot); the message says why
     */
    SnapshotVolume attach(SnapshotSettings settings, BlockDeviceOpener opener) throws IOException {
        return attach(settings, opener, null);
    }

    /**
     * As {@link #attach(SnapshotSettings, BlockDeviceOpener)}, with the origin named by URI opened
     * already through {@code opener} by {@link #openOrigin} (outside any lock, where waiting for
     * the server holds no one up): that device becomes the origin's if the origin is opened now,
     * and is closed otherwise (the origin is open already, or the snapshot is refused).
     *
     * @param opened the origin's device, or null to open it here: an origin named by URI that is not
     *               open yet is connected to before this class's lock is taken, so that a server that
     *               never answers holds up no other snapshot's attach or detach, only this caller
     */
    SnapshotVolume attach(SnapshotSettings settings, BlockDeviceOpener opener, BlockDevice opened) throws IOException {
        if (opened == null && settings.remoteOrigin() && !remoteOriginOpen(settings)) {
            // A new origin named by URI is connected to without the lock: a server that accepts and never answers
            // would hold every other snapshot's attach and detach for the opener's timeout (60 s) otherwise.
            opened = openRemote(settings, opener);
        }
        AtomicBoolean used = new AtomicBoolean(opened == null);
        try {
            return attach(settings, opener, opened, used);
        } finally {
            if (!used.get()) {
                closeQuietly(opened);
            }
        }
    }

    /**
     * Whether the snapshot's origin named by URI is open already (then it is shared, not connected
     * to again).
     *
     * @throws IllegalArgumentException if a snapshot of that name is attached (said before any connection)
     */
    private boolean remoteOriginOpen(SnapshotSettings settings) {
        synchronized (lock) {
            refuseSameName(settings);
            return origins.containsKey(new RemoteOrigin(DeviceUriIdentity.of(settings.originUri())));
        }
    }

    /** Under lock: refuses a name in use. */
    private void refuseSameName(SnapshotSettings settings) {
        SnapshotVolume same = names.get(settings.name());
        if (same != null) {
            throw new IllegalArgumentException("a snapshot named '" + settings.name() + "' exists already (of "
                    + same.origin.name() + ")");
        }
    }

    private SnapshotVolume attach(SnapshotSettings settings, BlockDeviceOpener opener, BlockDevice opened,
                                  AtomicBoolean used) throws IOException {
        synchronized (lock) {
            refuseSameName(settings);
            Object identity;
            if (settings.remoteOrigin()) {
                identity = new RemoteOrigin(DeviceUriIdentity.of(settings.originUri()));
            } else {
                try {
                    identity = FileClaims.identityOf(settings.origin());
                } catch (NoSuchFileException e) {
                    throw new IOException(settings.label() + ": its origin " + settings.origin() + " does not exist", e);
                }
            }
            Entry entry = origins.get(identity);
            if (entry != null && entry.lost) {
                // Its snapshots are closing, each as its component learns it (H40): a new connection once they have.
                throw new OriginOpenElsewhereException(settings.label() + ": its origin " + settings.originName()
                        + " was lost (its connection dropped) and is still held by snapshots "
                        + String.join(", ", entry.origin.snapshotNames()) + ", which are closing; it opens once they "
                        + "let go");
            }
            if (entry != null && settings.remoteOrigin() && entry.opener != opener) {
                throw new OriginOpenElsewhereException(settings.label() + ": its origin " + settings.originName()
                        + " is still open through another BlockDeviceOpener service, which is going away (snapshots "
                        + String.join(", ", entry.origin.snapshotNames()) + " use it); it opens once they let go");
            }
            boolean created = entry == null;
            if (created) {
                if (!settings.remoteOrigin()) {
                    refusePartialSector(settings);
                    refuseSharedWithOtherOrigins(settings);
                }
                entry = new Entry();
                entry.identity = identity;
                entry.opener = settings.remoteOrigin() ? opener : null;
                entry.path = settings.remoteOrigin() ? null : settings.origin();
                BlockDevice device;
                if (settings.remoteOrigin() && opened != null) {
                    device = opened;
                    used.set(true);
                } else if (settings.remoteOrigin()) {
                    // Opened by another snapshot when connected to, and closed since: connected to again, under the lock.
                    device = openRemote(settings, opener);
                } else {
                    try {
                        Entry claimed = entry;
                        String first = settings.name();
                        device = FILES.open(settings.origin(), () -> originPurpose(claimed, first),
                                DeviceOption.READ_WRITE);
                    } catch (FileSystemException e) {
                        throw new IOException(settings.label() + ": cannot open its origin " + settings.origin() + ": "
                                + CowStoreOpener.reason(e), e);
                    }
                }
                entry.origin = new Origin(device, kcopyd, settings.factoryWait(), settings.maxCopiesInFlight());
                Entry watched = entry;
                device.whenLost().thenRun(() -> watched.lost = true);
            }
            SnapshotVolume snapshot;
            try {
                if (created) {
                    refuseKcopydFile(settings, entry.origin.device());
                }
                refuseUnalignedChunks(settings, entry.origin.device());
                // Nothing there: a store made now, which a refusal below deletes again (H41: a 1 GiB store was left).
                boolean made = !Files.exists(settings.cowStore(), LinkOption.NOFOLLOW_LINKS);
                // A new snapshot shows the origin as it is: its samples are read before a store is made or a file is
                // formatted, so that an origin that cannot be read refuses it with nothing written (H42: a file given
                // with --format was formatted, then the snapshot refused).
                byte[] view = settings.cowStoreId() == null || settings.format()
                        ? viewOf(settings, entry.origin.device()) : null;
                CowStore store = cowStores.open(settings, entry.origin.device());
                try {
                    snapshot = entry.origin.attach(settings.name(), store);
                    try {
                        checkView(settings, snapshot, view);
                    } catch (IOException | RuntimeException e) {
                        entry.origin.detach(snapshot);
                        throw e;
                    }
                    if (!created && !settings.remoteOrigin()) {
                        // The origin's claim now names one more snapshot: other processes are told too.
                        FileClaims.purposesChanged();
                    }
                } catch (IOException | RuntimeException e) {
                    if (made) {
                        // Ours (a store is only ever created where nothing was), still claimed: deleted before it is let go.
                        Files.deleteIfExists(settings.cowStore());
                    }
                    closeQuietly(store.device());
                    throw e;
                }
            } catch (IOException | RuntimeException e) {
                if (created) {
                    closeQuietly(entry.origin.device());
                }
                if (e instanceof IOException io && !(io instanceof OriginUnreachableException)
                        && !(io instanceof org.kcopyd.device.FileClaimedException) && settings.remoteOrigin()
                        && cowStores.holdsStoreToReopen(settings)) {
                    // An existing snapshot whose origin answered but could not be read (an error filter, a server
                    // going down): its server's state, tried again as an unreachable origin is (H39 finding 7).
                    throw new OriginUnreachableException(settings.label() + ": its origin " + settings.originName()
                            + " could be connected to but not used: " + io.getMessage(), io);
                }
                throw e;
            }
            if (created) {
                Hashtable<String, Object> props = new Hashtable<>();
                props.put(BlockDevice.ROLE, Snapshot.ROLE_ORIGIN);
                props.put(Snapshot.ORIGIN, settings.originName());
                try {
                    entry.registration = context.registerService(BlockDevice.class, entry.origin, props);
                } catch (RuntimeException e) {
                    // The bundle is stopping: nothing stays open.
                    entry.origin.detach(snapshot);
                    closeQuietly(snapshot.store.device());
                    closeQuietly(entry.origin.device());
                    throw e;
                }
                origins.put(identity, entry);
            }
            entry.users++;
            names.put(settings.name(), snapshot);
            return snapshot;
        }
    }

    /**
     * Checks {@value OriginIdentity#VIEW_SAMPLES} samples of the snapshot spread over it (its first
     * and last {@value OriginIdentity#SAMPLE_SECTORS} sectors and evenly between), as it shows them
     * (its store's copies, else the origin), against the fingerprint its store recorded when it last
     * opened, then records them as they are now. They are what they were unless the
     * snapshot was written there (which drops the record first) or the origin changed outside kcopyd
     * where the store holds no copy: another disk served at an export's address after a kill -9
     * (H39: adopted, and the snapshot's content mixed the two disks), when no fingerprint of the
     * origin was recorded at a clean close. Skipped for an invalid or merging store.
     *
     * @param originView for a new snapshot, the origin's samples read before its store was made (null: read here)
     * @throws IllegalArgumentException naming the snapshot, its origin and what to do, if they differ
     * @throws IOException if the snapshot cannot be read or the store's header written
     */
    private static void checkView(SnapshotSettings settings, SnapshotVolume snapshot, byte[] originView)
            throws IOException {
        CowStore store = snapshot.store;
        if (!store.isValid() || store.isMerging()) {
            return;
        }
        byte[] seen = store.viewSeen();
        // A store with no record and no copy yet (a new one) shows the origin, read before it was made.
        byte[] now = originView != null && seen == null && snapshot.chunksUsed() == 0 ? originView
                : viewOf(settings, snapshot.device());
        if (seen != null && !java.util.Arrays.equals(seen, now)) {
            throw new IllegalArgumentException(settings.label() + ": its origin " + settings.originName() + " does not "
                    + "give the snapshot its content: " + OriginIdentity.VIEW_SAMPLES + " samples of it spread over it, "
                    + "read through the origin where " + settings.cowStore() + " (COW store " + store.id() + ") holds no "
                    + "copy, are not as when the snapshot last opened, so the origin is another file or disk than the "
                    + "store's, or it was written outside kcopyd; the store is not adopted and nothing was written: if "
                    + settings.originName() + " gives another disk by mistake, give it the store's origin again and "
                    + "apply the configuration again (restart the daemon, or snapshot remove, then snapshot create with "
                    + "--cow-store-id " + store.id() + ": the store is adopted as it was); only if the snapshot is no "
                    + "longer wanted, delete " + settings.cowStore() + " yourself to start afresh");
        }
        store.recordView(now);
    }

    /**
     * Refuses an origin that holds a kcopyd COW store or region log header: writes through the
     * origin and merges would overwrite it (a removed snapshot's store, still reusable with its
     * identity, or a removed mirror's log).
     *
     * @throws IllegalArgumentException naming the origin, what it holds and what to do
     * @throws IOException if the origin cannot be read
     */
    /** @return the view fingerprint of {@code device} (the snapshot, or a new snapshot's origin), or why not, named */
    private static byte[] viewOf(SnapshotSettings settings, BlockDevice device) throws IOException {
        try {
            return OriginIdentity.viewFingerprint(device);
        } catch (IOException e) {
            throw new IOException(settings.label() + ": its origin " + settings.originName() + " cannot be read (the "
                    + "snapshot's samples, read through it, are what its store records of it): " + e.getMessage(), e);
        }
    }

    private static void refuseKcopydFile(SnapshotSettings settings, BlockDevice origin) throws IOException {
        List<KcopydHeaders.Header> found = KcopydHeaders.read(origin);
        if (!found.isEmpty()) {
            KcopydHeaders.Header h = found.get(0);
            throw new IllegalArgumentException(settings.label() + ": its origin " + settings.originName() + " holds "
                    + h.describe() + "; a kcopyd COW store or region log is never a snapshot's origin (writes to the "
                    + "origin and merges would overwrite it), so nothing was written: name another origin, or, if "
                    + "that " + (h.kind() == KcopydHeaders.Kind.COW_STORE ? "store" : "log") + " is no longer "
                    + "wanted, delete it yourself (or " + h.erasure() + ")");
        }
    }

    /**
     * Refuses, before the COW store is made, chunks the origin device could only fail to copy: an
     * origin that takes only whole blocks larger than a sector (an NBD export's minimum block size)
     * needs chunks, and a size, of whole blocks.
     */
    private static void refuseUnalignedChunks(SnapshotSettings settings, BlockDevice origin) {
        if (origin.tailBytes() != 0) {
            // As for an origin file that is not whole sectors: those bytes would be in no snapshot.
            throw new IllegalArgumentException(settings.label() + ": its origin " + settings.originName() + " has "
                    + origin.tailBytes() + " bytes past its last whole sector, which no snapshot would keep (writes "
                    + "to them would not be copied first), so nothing was written: serve it whole sectors");
        }
        int block = origin.minimumBlockBytes();
        long blockSectors = Math.max(1, block / BlockDevice.SECTOR_SIZE);
        if (settings.chunkSectors() % blockSectors != 0 || origin.sizeInSectors() % blockSectors != 0) {
            throw new IllegalArgumentException(settings.label() + ": its origin " + settings.originName() + " takes only "
                    + "whole blocks of " + block + " bytes (its minimum block size): chunkSectors "
                    + settings.chunkSectors() + " and its " + origin.sizeInSectors() + " sectors must be multiples of "
                    + blockSectors + ", so nothing was written");
        }
    }

    /**
     * Refuses an origin file whose size is not whole sectors: the origin and snapshot devices are
     * whole sectors, so its last bytes would be in no snapshot (a backup read from the snapshot
     * would lack them) and unprotected from writes.
     */
    private static void refusePartialSector(SnapshotSettings settings) throws IOException {
        Path origin = settings.origin();
        if (!Files.isRegularFile(origin)) {
            return;
        }
        // A daemon's own file is refused as what it is, never advised to be padded (found by H25).
        org.kcopyd.device.FileClaims.refuseReserved(origin);
        long bytes = Files.size(origin);
        long tail = bytes % 512;
        if (tail != 0) {
            throw new IllegalArgumentException(settings.label() + ": its origin " + origin + " is " + bytes + " bytes, "
                    + "not a whole number of 512-byte sectors: its last " + tail + " bytes would be in no snapshot, so "
                    + "nothing was opened or written: make the origin whole sectors (truncate -s "
                    + (bytes - tail + 512) + " " + origin + " pads it with zeros)");
        }
    }

    /**
     * Refuses a new file or block device origin that is, in part, the bytes of an origin open
     * already under another identity: a loop device over an origin's file, the file under an
     * origin given as a loop device, a partition of an origin disk. Two origin devices over the
     * same bytes would each copy only their own snapshots' chunks, so a write through one would
     * change the other's snapshots without a copy. Guarded by lock.
     *
     * @throws IllegalArgumentException naming both origins, how they share bytes and the snapshots
     * @throws IOException if an origin cannot be examined
     */
    private void refuseSharedWithOtherOrigins(SnapshotSettings settings) throws IOException {
        for (Entry other : origins.values()) {
            if (other.path == null) {
                continue;
            }
            String shared;
            try {
                shared = DeviceBacking.sameBytes(settings.origin(), other.path);
            } catch (IOException e) {
                throw new IOException(settings.label() + ": cannot tell whether its origin " + settings.origin()
                        + " is part of the origin " + other.path + ", so it is not opened: " + e.getMessage(), e);
            }
            if (shared != null) {
                List<String> snapshots = other.origin.snapshotNames();
                throw new IllegalArgumentException(settings.label() + ": its origin " + settings.origin() + " is part of "
                        + other.path + ", the origin of snapshot" + (snapshots.size() == 1 ? " " : "s ")
                        + String.join(", ", snapshots) + ": " + shared + "; writes through either origin device would "
                        + "change the other's snapshots without copying their chunks, so nothing was opened: name "
                        + other.path + " as the origin, or remove those snapshots first");
            }
        }
    }

    /**
     * Keeps {@code retry} until {@link #retryWaiting()}: a snapshot refused with
     * {@link OriginOpenElsewhereException} tries again once the snapshots holding its origin have let go.
     */
    void awaitOriginClosed(Runnable retry) {
        synchronized (lock) {
            waiting.add(retry);
        }
    }

    /** Drops a retry kept by {@link #awaitOriginClosed} (its snapshot is deactivated). */
    void forget(Runnable retry) {
        synchronized (lock) {
            waiting.remove(retry);
        }
    }

    /**
     * Runs the retries kept by {@link #awaitOriginClosed}, once each. Called by a snapshot that
     * let go of its origin's opener, holding no lock (a retry takes its snapshot's lock).
     */
    void retryWaiting() {
        List<Runnable> retries;
        synchronized (lock) {
            retries = List.copyOf(waiting);
            waiting.clear();
        }
        retries.forEach(Runnable::run);
    }

    /**
     * @return whether the snapshot's origin is named by URI and its configuration names a COW store
     *         that is there to be reopened ({@link CowStoreOpener#holdsStoreToReopen}): an existing
     *         snapshot, whose origin may be opened later, on another thread (its header read, read-only)
     */
    boolean reopensStore(SnapshotSettings settings) {
        return settings.remoteOrigin() && cowStores.holdsStoreToReopen(settings);
    }

    /**
     * Opens the origin named by URI, holding no lock (of this class or the caller's), for
     * {@link #attach(SnapshotSettings, BlockDeviceOpener, BlockDevice)}: waiting for an
     * unresponsive server (up to the opener's timeout) blocks no one else.
     *
     * @return the origin's device, open read-write, which the caller hands to attach or closes; or
     *         null if the origin is open already (attach shares it: a second connection would be
     *         refused, the export being {@linkplain org.kcopyd.device.UriClaims claimed} by the first)
     * @throws OriginUnreachableException, IOException, IllegalArgumentException as {@link #attach}
     *                                     throws them for the origin
     */
    BlockDevice openOrigin(SnapshotSettings settings, BlockDeviceOpener opener) throws IOException {
        return remoteOriginOpen(settings) ? null : openRemote(settings, opener);
    }

    /**
     * Opens an origin named by URI read-write through the opener service.
     *
     * @throws OriginUnreachableException naming the snapshot and the URI if the opener fails with an
     *                     {@link IOException} (the provider's reason, or no provider of the scheme)
     *                     and the COW store named is there to be reopened (read here, see
     *                     {@link CowStoreOpener#holdsStoreToReopen})
     * @throws IOException naming them if there is no opener, or the opener fails with an
     *                     {@link IOException} and there is no such store (a new snapshot)
     * @throws IllegalArgumentException naming them if the provider finds the URI malformed, or the
     *                                  device is read-only
     */
    private BlockDevice openRemote(SnapshotSettings settings, BlockDeviceOpener opener) throws IOException {
        String origin = settings.originName();
        if (opener == null) {
            throw new IOException(settings.label() + ": cannot open its origin " + origin + ": no BlockDeviceOpener "
                    + "service to open devices named by URI (is kcopyd.impl started?)");
        }
        BlockDevice device;
        try {
            device = opener.open(settings.originUri(), DeviceOption.READ_WRITE);
        } catch (IOException e) {
            // The NBD client names the export first: once is enough.
            String why = String.valueOf(e.getMessage());
            why = why.startsWith(origin + ": ") ? why.substring(origin.length() + 2) : why;
            String message = settings.label() + ": cannot open its origin " + origin + ": " + why;
            if (cowStores.holdsStoreToReopen(settings)) {
                throw new OriginUnreachableException(message, e);
            }
            throw new IOException(message, e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(settings.label() + ": its origin " + origin + " is refused: "
                    + e.getMessage(), e);
        }
        if (device.isReadOnly()) {
            closeQuietly(device);
            throw new IllegalArgumentException(settings.label() + ": its origin " + origin + " is read-only (the "
                    + "server exports it read-only); an origin takes the writes the snapshot protects itself from");
        }
        return device;
    }

    /** What an origin is to its claim: it names the snapshots of the moment, not only the first. */
    private static String originPurpose(Entry entry, String first) {
        Origin origin = entry.origin;
        List<String> names = origin == null ? List.of() : origin.snapshotNames();
        if (names.isEmpty()) {
            names = List.of(first);
        }
        return "the origin of snapshot" + (names.size() == 1 ? " " : "s ") + String.join(", ", names)
                + "; write through its origin device";
    }

    /**
     * Detaches a snapshot and closes its COW store once its writes, copies and merge steps in
     * flight have finished (up to {@link #DRAIN}; new ones are refused from the start), so that
     * none fails on a closed file. The origin closes with its last snapshot: it refuses new
     * origin writes, waits for those in flight and their copies, and its store then records
     * the origin's fingerprint as kcopyd left it (see {@link CowStoreOpener}). A snapshot
     * detached while others keep the origin open records the origin as it is when it leaves (its
     * own writes and copies drained; an origin write of the others' still in flight either landed
     * before it is read, or lands after and changes what the snapshot left): if the origin's first
     * or last 64 KiB are written after it left, or another disk is served in its place, it is
     * refused when adopted again, as a snapshot whose origin was written while it was closed is
     * (it recorded none, and two snapshots of one export were adopted over another disk: H37).
     */
    void detach(SnapshotVolume snapshot) {
        synchronized (lock) {
            names.remove(snapshot.name(), snapshot);
            Entry entry = origins.values().stream().filter(e -> e.origin == snapshot.origin).findFirst().orElse(null);
            boolean drained = true;
            if (entry != null) {
                if (--entry.users == 0) {
                    origins.remove(entry.identity);
                    entry.registration.unregister();
                    drained = entry.origin.closeWrites(DRAIN);
                    closeLast(entry.origin, snapshot, drained);
                } else {
                    drained = entry.origin.detach(snapshot, DRAIN);
                    if (drained) {
                        recordOriginAsLeft(entry.origin, snapshot);
                    }
                }
            }
            if (!drained) {
                LOG.log(System.Logger.Level.WARNING, "snapshot '" + snapshot.name() + "': I/O still in flight after "
                        + DRAIN.toSeconds() + " s is failed by the close; chunks not recorded were not copied, and the"
                        + " origin writes they protected fail too");
            }
            closeQuietly(snapshot.store.device());
        }
    }

    /** Without a fingerprint the next adoption checks the origin's identity only: a warning, not a failure. */
    private static void closeLast(Origin origin, SnapshotVolume snapshot, boolean drained) {
        String store = "snapshot '" + snapshot.name() + "': the origin's fingerprint could not be recorded in its COW "
                + "store " + snapshot.store.device().name();
        if (!drained) {
            // A late write may still reach the origin before its device closes: no fingerprint is better than a false one.
            closeQuietly(origin.device());
            LOG.log(System.Logger.Level.WARNING, store + ": writes were still in flight");
            return;
        }
        byte[] fingerprint;
        try {
            fingerprint = origin.closeDevice();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "closing " + origin.name() + " failed", e);
            return;
        }
        if (fingerprint == null) {
            LOG.log(System.Logger.Level.WARNING, store + ": the origin could not be read");
            return;
        }
        try {
            snapshot.store.close(fingerprint);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, store + ": " + e.getMessage());
        }
    }

    /** Records the origin's fingerprint now in the store of a snapshot leaving while others keep the origin open. */
    private static void recordOriginAsLeft(Origin origin, SnapshotVolume snapshot) {
        try {
            snapshot.store.close(OriginIdentity.fingerprint(origin.device()));
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "snapshot '" + snapshot.name() + "': the origin's fingerprint could not "
                    + "be recorded in its COW store " + snapshot.store.device().name() + ": " + e.getMessage());
        }
    }

    static void closeQuietly(BlockDevice device) {
        try {
            device.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "closing " + device.name() + " failed", e);
        }
    }
}
