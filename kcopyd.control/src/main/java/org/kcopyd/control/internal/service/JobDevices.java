package org.kcopyd.control.internal.service;

import java.io.IOException;
import java.net.URI;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.control.ControlException;
import org.kcopyd.device.DeviceBacking;
import org.kcopyd.device.DeviceUriIdentity;
import org.kcopyd.device.DeviceUris;
import org.kcopyd.device.FileBlockDevice;
import org.kcopyd.device.FileClaim;
import org.kcopyd.device.FileClaimedException;
import org.kcopyd.device.FileClaims;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.device.FileErrors;
import org.kcopyd.device.UriClaims;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;

/**
 * The devices of one copy or zero job: what each name stands for (a path, a device URI, or the one
 * {@link BlockDevice} service of {@code snapshot:}/{@code origin:}/{@code mirror:NAME}) and what
 * tells it from the others (file identity, the URI's identity, the service and the files under it),
 * then the devices opened: paths and URIs through the {@link BlockDeviceOpener} (read-write opens
 * claim the file), services got for the job. A destination path that does not exist is created
 * (never over an existing file) as long as the source; such files are removed again if the job is
 * refused before it starts. Closing closes what was opened and releases what was got; it is done
 * when the job ends, whatever the outcome. Not thread-safe (one job's setup, then its end).
 */
final class JobDevices implements AutoCloseable {

    /**
     * One device of the job, opened.
     *
     * @param byPath whether {@code name} is a path or file URI that named the device's file
     */
    record Opened(String name, BlockDevice device, long bytes, boolean byPath) {

        /**
         * @return null if this is not a file opened by its name, or its name still names the file
         *         written; else why not ({@link FileClaims#whyNotNamed}: removed, or replaced by
         *         another file, while kcopyd wrote it)
         */
        String whyNotNamed() {
            return byPath && device instanceof FileBlockDevice f ? FileClaims.whyNotNamed(f.path(), f.identity(), "wrote")
                    : null;
        }

        /** @return the identity of the file it opened by its name (a destination just created, say), else empty */
        Set<Object> fileIdentity() {
            return byPath && device instanceof FileBlockDevice f ? Set.of(f.identity()) : Set.of();
        }
    }

    /**
     * What a device name stands for, before anything is opened.
     *
     * @param window where an existing path's bytes lie ({@link DeviceBacking}), examined with it;
     *               null for anything else or where it could not be told
     */
    record Named(String text, String role, Path path, URI uri, ServiceReference<BlockDevice> service,
            Set<Object> identities, DeviceBacking.Window window) {

        boolean missing() {
            return path != null && identities.isEmpty();
        }

        /**
         * @return in words, how this existing file or block device and {@code other} are the same
         *         bytes through a block device over one of them (a loop device over the file, a
         *         partition of the disk: {@link DeviceBacking}); null if they are not, or one is
         *         not an existing path
         */
        String sharedBytes(Named other) {
            return window == null || other.window == null ? null
                    : DeviceBacking.sameBytes(path.toString(), window, other.path.toString(), other.window);
        }

        /**
         * @return true if this and {@code other} are the same device or share bytes: through a block
         *         device over a file (a loop device, {@link #sharedBytes}), also where one is a
         *         snapshot, origin or mirror device service and the other a loop device over a file
         *         under it
         */
        boolean touches(Named other) {
            return same(other) || sharedBytes(other) != null || under(other) || other.under(this);
        }

        /** @return true if this is a block device over a file or device of {@code other} */
        private boolean under(Named other) {
            return window != null && !window.via().isEmpty() && other.identities.contains(window.identity());
        }

        /**
         * @param opened this destination, opened (created, if it was {@linkplain #missing() missing})
         * @return this, or for a destination the job created, the same name with the created file's
         *         identity and window
         */
        Named created(Opened opened) {
            return missing() ? new Named(text, role, path, uri, service, opened.fileIdentity(), JobDevices.window(path))
                    : this;
        }

        /** @return true if {@code other} is the same device (or the same new file) */
        boolean same(Named other) {
            if (missing() || other.missing()) {
                return path != null && path.equals(other.path);
            }
            return identities.stream().anyMatch(other.identities::contains);
        }
    }

    private record Created(Path path, Object identity) {
    }

    private final Services services;
    private final Exports exports;
    private final List<AutoCloseable> opened = new ArrayList<>();
    private final List<Created> created = new ArrayList<>();
    private Services.Held<BlockDeviceOpener> opener;

    JobDevices(Services services, Exports exports) {
        this.services = services;
        this.exports = exports;
    }

    /**
     * Tells what a name stands for and checks it can be used; opens nothing.
     *
     * @param role "source" or "destination", for messages
     * @param mayBeNew whether a path that does not exist is allowed (a copy's destination)
     * @throws ControlException BAD_REQUEST (relative path, not a device, bad URI), NOT_FOUND (no such snapshot
     *         or mirror), CONFLICT (not active), FAILED (a path that cannot be opened or created: no such file or
     *         directory, a symbolic link to nothing, not examinable; the one-shot command's "could not run", exit 1)
     */
    Named name(String role, String text, boolean mayBeNew) {
        if (text == null || text.isBlank()) {
            throw ControlException.badRequest(role + " is missing or empty: give an absolute path, a device URI, "
                    + "snapshot:NAME, origin:NAME or mirror:NAME");
        }
        String filter = exports.serviceFilter(text);
        if (filter != null) {
            List<ServiceReference<BlockDevice>> refs = services.devices(filter);
            if (refs.size() != 1) {
                throw ControlException.conflict(role + " " + Text.printable(text) + " is not active: " + refs.size()
                        + " BlockDevice services match " + filter);
            }
            ServiceReference<BlockDevice> ref = refs.get(0);
            Set<Object> ids = new HashSet<>();
            ids.add("service " + ref.getProperty(Constants.SERVICE_ID));
            String origin = Services.property(ref, Snapshot.ORIGIN);
            if (Snapshot.ROLE_ORIGIN.equals(Services.property(ref, Snapshot.ROLE)) && origin != null) {
                addIdentity(ids, origin);
            }
            if (Mirror.ROLE_MIRROR.equals(Services.property(ref, Mirror.ROLE))) {
                for (String leg : Services.properties(ref, Mirror.LEGS)) {
                    addIdentity(ids, leg);
                }
            }
            return new Named(text, role, null, null, ref, ids, null);
        }
        if (DeviceUris.looksLikeUri(text)) {
            String whole = wholeDeviceUri(role, text);
            URI uri;
            try {
                uri = DeviceUris.parse(whole);
            } catch (IllegalArgumentException e) {
                throw ControlException.badRequest(role + ": " + e.getMessage());
            }
            if (DeviceUris.FILE.equals(DeviceUris.scheme(uri))) {
                ProcessPaths.refuseProcessView(role, DeviceUris.path(uri));
            }
            Set<Object> ids = new HashSet<>();
            addIdentity(ids, whole);
            return new Named(text, role, null, uri, null, ids, null);
        }
        Path path = SnapshotRules.absolute(role, text);
        if (!DeviceKinds.present(path) && mayBeNew) {
            if (path.getParent() == null || !Files.isDirectory(path.getParent())) {
                throw ControlException.failed(role + " " + path + " does not exist and cannot be created: no "
                        + "directory " + path.getParent());
            }
            return new Named(text, role, path, null, null, Set.of(), null);
        }
        DeviceKinds.requireDevice(path, role);
        try {
            return new Named(text, role, path, null, null, Set.of(FileClaims.identityOf(path)), window(path));
        } catch (IOException e) {
            throw ControlException.failed("cannot examine " + role + " " + path + ": " + FileErrors.reason(e));
        }
    }

    /** @return where an existing path's bytes lie, or null where that cannot be told now */
    private static DeviceBacking.Window window(Path path) {
        try {
            return DeviceBacking.of(path);
        } catch (IOException e) {
            // Not examinable now: its identity is compared, which is what can be told.
            return null;
        }
    }

    /**
     * H51-2, H52-1: {@code nbd://host/disk:0+8} was opened as the export named {@code disk:0+8}, which servers that
     * serve any name (nbdkit's file plugin) took for the whole disk: a zero meant for 8 sectors zeroed it all, as did
     * a region mistyped ({@code disk:+8}). The command line's rule ({@link DeviceUris#regionColon}) holds here: the
     * text after the last ':' past host and port is a region, refused as a job copies whole devices, or not one,
     * refused as the command line refuses it; a last ':' with nothing after it ends the URI.
     *
     * @return the URI without that last ':'
     */
    private static String wholeDeviceUri(String role, String text) {
        int colon = DeviceUris.regionColon(text);
        if (colon < 0) {
            return text;
        }
        String after = text.substring(colon + 1);
        if (after.isEmpty()) {
            return text.substring(0, colon);
        }
        String end = "; end the URI with ':' if the export's name or socket holds that text";
        if (after.matches("[0-9]+(\\+[0-9]+)?")) {
            throw ControlException.badRequest(role + " '" + Text.printable(text) + "': the text after the last ':' past "
                    + "its host and port is a region (SECTOR+COUNT), and a daemon job copies whole devices: copy a "
                    + "region with the one-shot command (without --daemon)" + end);
        }
        throw ControlException.badRequest(role + " '" + Text.printable(text) + "': the text after the last ':' past its "
                + "host and port, '" + Text.printable(after) + "', would be a region and is not one (SECTOR or "
                + "SECTOR+COUNT in decimal)" + end);
    }

    /** Adds the identity of a path or URI, when it can be told (a file that cannot be examined has none). */
    private static void addIdentity(Set<Object> ids, String device) {
        if (device.startsWith(Mirror.SERVICE_LEG)) {
            return;
        }
        try {
            if (DeviceUris.looksLikeUri(device)) {
                URI uri = DeviceUris.parse(device);
                ids.add(DeviceUris.FILE.equals(DeviceUris.scheme(uri)) ? FileClaims.identityOf(DeviceUris.path(uri))
                        : DeviceUriIdentity.of(uri));
            } else {
                ids.add(FileClaims.identityOf(Path.of(device)));
            }
        } catch (IOException | RuntimeException cannotTell) {
            // Not examinable now: what can be told still is.
        }
    }

    /**
     * Opens (or gets) a named device.
     *
     * @param write read-write (claimed) rather than read-only
     * @throws ControlException CONFLICT (claimed by another user, the service went away), FAILED (cannot be
     *         opened), UNAVAILABLE (no opener)
     */
    Opened open(Named n, boolean write) {
        if (n.service() != null) {
            Services.Held<BlockDevice> held = services.hold(n.service());
            if (held == null) {
                throw ControlException.conflict(n.role() + " " + Text.printable(n.text()) + " went away meanwhile");
            }
            opened.add(held);
            BlockDevice d = held.service();
            return new Opened(n.text(), d, d.sizeInSectors() * BlockDevice.SECTOR_SIZE, false);
        }
        BlockDeviceOpener o = opener();
        DeviceOption[] options = write ? new DeviceOption[] {DeviceOption.READ_WRITE} : new DeviceOption[0];
        BlockDevice d;
        try {
            if (n.uri() != null) {
                if (!write) {
                    refuseWrittenExport(n);
                }
                d = o.open(n.uri(), options);
            } else {
                if (write) {
                    refuseClaimed(n);
                } else {
                    refuseWritten(n);
                }
                d = o.open(n.path(), options);
                if (d instanceof FileBlockDevice f && !n.identities().isEmpty() && !n.identities().contains(f.identity())) {
                    // Another file was renamed over the name after it was examined (and checked
                    // against the job's other devices): not the file the job was asked for.
                    opened.add(d);
                    throw ControlException.conflict(n.role() + " " + n.path() + " was replaced by another file "
                            + "since the job was checked; nothing was written");
                }
            }
        } catch (IllegalArgumentException e) {
            throw ControlException.badRequest("cannot open " + n.role() + " " + Text.printable(n.text()) + ": "
                    + e.getMessage());
        } catch (FileClaimedException e) {
            // Claimed meanwhile, or a file kcopyd keeps its own state in (never opened as a device).
            throw ControlException.conflict(n.role() + " " + Text.printable(e.getMessage()));
        } catch (IOException e) {
            throw ControlException.failed("cannot open " + n.role() + " " + Text.printable(n.text()) + " for "
                    + (write ? "writing" : "reading") + ": " + FileErrors.reason(e));
        }
        opened.add(d);
        return new Opened(n.text(), d, bytes(n, d), true);
    }

    /**
     * Creates a new destination file of {@code bytes} (sparse; never over an existing file) and opens it.
     *
     * @throws ControlException CONFLICT when something appeared at the path meanwhile, FAILED when it cannot be made
     */
    Opened create(Named n, long bytes) {
        Path path = n.path();
        Object identity;
        try {
            // The identity of the file made, read through its own descriptor: never one renamed over it since.
            identity = FileDeviceOpener.createFile(path, bytes);
        } catch (FileAlreadyExistsException e) {
            throw ControlException.conflict("destination " + path + " appeared while the job was being made");
        } catch (FileClaimedException e) {
            throw ControlException.conflict("destination " + Text.printable(e.getMessage()));
        } catch (IOException e) {
            throw ControlException.failed("cannot create destination " + path + ": " + FileErrors.reason(e));
        }
        created.add(new Created(path, identity));
        return open(new Named(n.text(), n.role(), path, null, null, Set.of(identity), null), true);
    }

    /**
     * Refuses reading a file this daemon holds for writing (a snapshot's origin, a mirror's leg, a
     * read-write export): written meanwhile through its device, a job reading the file copies a mix
     * of old and new data. Another process's claim is refused by the opener itself.
     */
    private static void refuseWritten(Named n) {
        Optional<FileClaim> holder;
        try {
            // H51-3: a loop device over the file, or the file under a loop device, is the same bytes.
            holder = FileClaims.holderOfSharedBytes(n.path());
        } catch (IOException e) {
            return;
        }
        if (holder.isPresent() && holder.get().isHeldHere()) {
            throw ControlException.conflict(held(n, holder.get()) + ": a job reading it now would copy a mix of old and "
                    + "new data; read it through the device that writes it (origin:NAME, mirror:NAME)");
        }
    }

    /**
     * Refuses reading an export this daemon holds for writing (a mirror's leg, a snapshot's origin), under any
     * spelling of its server (H50-6: a file leg was refused as a job's source, an NBD leg was read).
     */
    private static void refuseWrittenExport(Named n) {
        if (DeviceUris.FILE.equals(DeviceUris.scheme(n.uri()))) {
            return;
        }
        Optional<String> holder = UriClaims.holderOf(n.uri());
        if (holder.isPresent()) {
            throw ControlException.conflict(n.role() + " " + Text.printable(n.text()) + " is " + holder.get() + " (in "
                    + "this process): a job reading it now would copy a mix of old and new data; read it through the "
                    + "device that writes it (origin:NAME, mirror:NAME)");
        }
    }

    /** @return {@code "ROLE PATH [(the same file as HOLDER'S PATH)] is PURPOSE [(kcopyd process PID)]"} */
    private static String held(Named n, FileClaim h) {
        return n.role() + " " + n.path() + FileClaims.relation(n.path(), h) + " is " + h.purpose() + h.holderSuffix();
    }

    private static void refuseClaimed(Named n) {
        String reserved = FileClaims.reservedAs(n.path());
        if (reserved != null) {
            // A reservation (the daemon's own files) is held in the claims directory as a claim is: said as what it is.
            throw ControlException.conflict(n.role() + " " + Text.printable(reserved));
        }
        Optional<FileClaim> holder;
        try {
            holder = FileClaims.holderOfSharedBytes(n.path());
        } catch (IOException e) {
            return;
        }
        if (holder.isPresent()) {
            throw ControlException.conflict(held(n, holder.get()) + ": it cannot be written by a job");
        }
        boolean read;
        try {
            read = FileClaims.isReadHereSharedBytes(n.path());
        } catch (IOException e) {
            return;
        }
        if (read) {
            // Found by H28: a job overwrote the file a read-only export of this daemon served.
            throw ControlException.conflict(n.role() + " " + n.path() + " is open for reading in this daemon (a "
                    + "read-only export serves it, say): a job writing it now would change what is read");
        }
    }

    private BlockDeviceOpener opener() {
        if (opener == null) {
            List<ServiceReference<BlockDeviceOpener>> refs = services.references(BlockDeviceOpener.class, null);
            Services.Held<BlockDeviceOpener> held = refs.isEmpty() ? null : services.hold(refs.get(0));
            if (held == null) {
                throw ControlException.unavailable("no BlockDeviceOpener service (is the bundle kcopyd.impl started?)");
            }
            opener = held;
        }
        return opener.service();
    }

    /**
     * @return a regular file's length (which must be whole sectors for a source), else the
     *         device's capacity, with its {@linkplain BlockDevice#tailBytes() bytes past the last
     *         whole sector} (an NBD export of any size: refused as a source too). A file device's
     *         length is read through its own descriptor, never by its name, which another file may
     *         have taken since it was opened (its length would be that file's)
     */
    private static long bytes(Named n, BlockDevice d) {
        try {
            if (d instanceof FileBlockDevice f) {
                return f.sizeInBytes();
            }
            if (n.path() != null && Files.isRegularFile(n.path())) {
                // A device of another kind over a file has no descriptor to ask.
                return Files.size(n.path());
            }
        } catch (IOException e) {
            throw ControlException.failed("cannot read the size of " + n.path() + ": " + FileErrors.reason(e));
        }
        return d.sizeInSectors() * BlockDevice.SECTOR_SIZE + d.tailBytes();
    }

    /**
     * Removes the files made for the job (after a refusal), if they are still those files; closes
     * everything first.
     */
    void removeCreated() {
        close();
        for (Created c : created) {
            try {
                if (Files.exists(c.path()) && FileClaims.identityOf(c.path()).equals(c.identity())) {
                    Files.delete(c.path());
                }
            } catch (IOException e) {
                // Left as it is: a file that cannot be examined is not removed.
            }
        }
        created.clear();
    }

    /** Closes the devices opened and releases the services got, the opener last. Idempotent. */
    @Override
    public void close() {
        for (AutoCloseable c : opened) {
            try {
                c.close();
            } catch (Exception e) {
                // Closing at the end: a failure to close changes nothing about the job's outcome.
            }
        }
        opened.clear();
        if (opener != null) {
            opener.close();
            opener = null;
        }
    }
}
