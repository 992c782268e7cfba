package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.device.DeviceBacking;
import org.kcopyd.device.DeviceIdentity;
import org.kcopyd.device.DeviceUris;
import org.kcopyd.device.FileClaimedException;
import org.kcopyd.device.FileClaims;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.mirror.Mirror;

/**
 * A mirror with the legs and region log it opened: every file claimed for its role ("leg 1 of
 * mirror m", "the region log of mirror m") so that the same file cannot serve twice, under any
 * spelling, and each device service held. Opening checks everything before the first write:
 * a refused mirror leaves every file as it was, and removes a region log it had just created.
 * Closing stops the mirror and releases the files and services.
 *
 * <p>Each leg is given to the region log with its identity ({@link DeviceIdentity} of a file or
 * block device, with the device numbers earlier kcopyd recorded; the name of a service; the
 * normalized URI of a device named by URI) and size, which the log records and checks (see
 * {@link RegionLog}).
 *
 * <p>A leg named by URI (an NBD export) is opened read-write through the {@link BlockDeviceOpener}
 * service and closed with the mirror. It is claimed by that service in this process only ({@link
 * org.kcopyd.device.UriClaims}): kcopyd cannot see other clients of an export. One that cannot be
 * opened (no opener, no provider of its scheme, a server that cannot be reached) is refused as a
 * missing file leg is: the mirror is not made, and the message names the leg, its URI and the
 * reason. When the opener failed with an {@link IOException} and the configuration names a region
 * log that is there to be used ({@link #holdsLogToReopen}), the refusal is a {@link
 * LegUnreachableException}: an existing mirror, which its component tries again later.
 *
 * <p>A leg the region log records failed is never read nor written, so it does not keep the mirror
 * from opening (H42 #5): named by URI it is not connected to, and a file or device service that
 * cannot be opened is stood in for by an {@link AbsentLeg} with the identity and size the log
 * recorded, adopted as that failed leg.
 *
 * <p>What the configuration names wrongly — a file claimed already, the same device twice, a
 * file that is not this mirror's region log, legs that are not the files the log recorded — is
 * refused with an {@link IllegalArgumentException} (the configuration is at fault, the command
 * line's exit code 2); a file that cannot be opened or read fails with an {@link IOException}.
 */
final class OpenedMirror implements AutoCloseable {

    private static final FileDeviceOpener FILES = new FileDeviceOpener(false);
    private static final int SECTOR = 512;
    private static final System.Logger LOG = System.getLogger(OpenedMirror.class.getName());

    /** Where {@code service:NAME} legs come from. */
    interface DeviceServices {
        /**
         * @param deviceName the {@value BlockDevice#NAME} property of the wanted {@link BlockDevice} service
         * @return the service, held until {@link Lease#release()} runs, or null if there is none
         */
        Lease lease(String deviceName);
    }

    /**
     * A device service in use.
     *
     * @param device    the device
     * @param serviceId what tells services apart (the service id)
     * @param release   gives the service back
     */
    record Lease(BlockDevice device, Object serviceId, Runnable release) {
    }

    private final MirrorVolume volume;
    private final List<BlockDevice> files;
    private final List<Runnable> releases;

    private OpenedMirror(MirrorVolume volume, List<BlockDevice> files, List<Runnable> releases) {
        this.volume = volume;
        this.files = files;
        this.releases = releases;
    }

    /** @return the mirror */
    MirrorVolume volume() {
        return volume;
    }

    /** {@link #open(MirrorSettings, DeviceServices, BlockDeviceOpener, ResyncClients, Backoff)} without an opener. */
    static OpenedMirror open(MirrorSettings s, DeviceServices services, ResyncClients kcopyd, Backoff backoff)
            throws IOException {
        return open(s, services, null, kcopyd, backoff);
    }

    /**
     * Opens and claims the legs, then opens (or, where no file exists, creates) the region log,
     * and makes the mirror, not yet started.
     *
     * @param opener the {@link BlockDeviceOpener} service that opens legs named by URI, or null if
     *               none is bound (such a leg is then refused)
     * @throws IllegalArgumentException naming the leg or log refused and why; nothing has been written
     * @throws IOException naming the leg or log that cannot be opened or read, and why
     */
    static OpenedMirror open(MirrorSettings s, DeviceServices services, BlockDeviceOpener opener,
            ResyncClients kcopyd, Backoff backoff) throws IOException {
        String prefix = "mirror '" + s.name() + "': ";
        List<BlockDevice> files = new ArrayList<>();
        List<Runnable> releases = new ArrayList<>();
        Path createdLog = null;
        Map<String, RegionLog.FailedLeg> failed = failedLegs(s);
        refuseSharedBytes(s, prefix, failed.keySet());
        try {
            List<BlockDevice> legs = new ArrayList<>();
            List<RegionLog.Leg> recorded = new ArrayList<>();
            List<Object> serviceIds = new ArrayList<>();
            for (int i = 0; i < s.legs().size(); i++) {
                String leg = s.legs().get(i);
                BlockDevice device;
                String identity;
                String numbered = null;
                RegionLog.FailedLeg f = failed.get(leg);
                if (f != null && f.failure() != null && f.failure().startsWith(RegionLog.NOT_AS_RECORDED)) {
                    // H45 F1: left failed as not this mirror's at an earlier open; opened (claimed) again, it refused the
                    // snapshot or mirror whose file it is.
                    legs.add(absent(prefix, i, leg, f, "not this mirror's, as far as its log can tell: not held open",
                            recorded));
                    continue;
                }
                if (leg.startsWith(Mirror.SERVICE_LEG)) {
                    String deviceName = leg.substring(Mirror.SERVICE_LEG.length());
                    Lease lease = services.lease(deviceName);
                    if (lease == null && failed.containsKey(leg)) {
                        legs.add(absent(prefix, i, leg, failed.get(leg), "no BlockDevice service with "
                                + BlockDevice.NAME + "=" + deviceName, recorded));
                        continue;
                    }
                    if (lease == null) {
                        throw new IOException(prefix + "leg " + i + " '" + leg + "': no BlockDevice service with "
                                + BlockDevice.NAME + "=" + deviceName);
                    }
                    releases.add(lease.release());
                    int earlier = serviceIds.indexOf(lease.serviceId());
                    if (earlier >= 0) {
                        throw new IllegalArgumentException(prefix + "leg " + i + " '" + leg
                                + "' is the device service of leg " + earlier + " already");
                    }
                    serviceIds.add(lease.serviceId());
                    device = lease.device();
                    if (device.isReadOnly()) {
                        throw new IllegalArgumentException(prefix + "leg " + i + " '" + leg + "' is read-only");
                    }
                    // A service has no file identity: its name is what the log can recognise it by.
                    identity = leg;
                } else if (MirrorSettings.isUriLeg(leg) && failed.containsKey(leg)) {
                    // Never read nor written while failed: its server is not waited for (H42 #5).
                    legs.add(absent(prefix, i, leg, failed.get(leg), "not connected to", recorded));
                    continue;
                } else if (MirrorSettings.isUriLeg(leg)) {
                    URI uri = DeviceUris.parse(leg);
                    device = openRemote(prefix + "leg " + i + " " + leg, uri, opener, s);
                    files.add(device);
                    if (device.isReadOnly()) {
                        throw new IllegalArgumentException(prefix + "leg " + i + " " + leg + " is read-only (the server "
                                + "exports it read-only); a leg takes the mirror's writes");
                    }
                    // No file to examine: the export's normalized URI is what the log can recognise it by.
                    identity = DeviceUris.normalized(uri);
                } else {
                    try {
                        device = FILES.open(Path.of(leg), s.legPurpose(i), DeviceOption.READ_WRITE);
                    } catch (FileClaimedException e) {
                        throw refusedClaim(prefix + "leg " + i + " " + leg + " cannot be used: " + e.getMessage(), e);
                    } catch (IOException e) {
                        if (failed.containsKey(leg)) {
                            // A failed disk whose device node went away, say: the mirror opens without it.
                            legs.add(absent(prefix, i, leg, failed.get(leg), reason(e), recorded));
                            continue;
                        }
                        throw new IOException(prefix + "leg " + i + " " + leg + " cannot be used: " + reason(e), e);
                    }
                    String unfit = failed.containsKey(leg) ? unfit(Path.of(leg), device, failed.get(leg)) : null;
                    if (unfit != null) {
                        // H43 F5: a failed leg's file replaced by one too small, or not whole sectors, kept the whole
                        // mirror down (its size is the least leg's); it is left out, as a missing one is.
                        device.close();
                        legs.add(absent(prefix, i, leg, failed.get(leg), unfit, recorded));
                        continue;
                    }
                    files.add(device);
                    try {
                        identity = DeviceIdentity.of(Path.of(leg));
                        numbered = String.valueOf(FileClaims.identityOf(Path.of(leg)));
                    } catch (IOException e) {
                        throw new IOException(prefix + "leg " + i + " " + leg + " cannot be used: " + reason(e), e);
                    }
                }
                for (int j = 0; j < legs.size(); j++) {
                    if (legs.get(j).equals(device)) {
                        throw new IllegalArgumentException(prefix + "leg " + i + " " + leg + " is the same device as leg "
                                + j + " " + s.legs().get(j));
                    }
                }
                legs.add(device);
                if (device.tailBytes() != 0) {
                    // As for a leg file that is not whole sectors: the mirror is whole sectors.
                    throw new IllegalArgumentException(prefix + "leg " + i + " " + leg + " has " + device.tailBytes()
                            + " bytes past its last whole sector, which the mirror would not keep in step with the "
                            + "other legs: serve it whole sectors");
                }
                recorded.add(new RegionLog.Leg(leg, identity, device.sizeInSectors(), device, numbered));
            }
            long sectors = legs.stream().mapToLong(BlockDevice::sizeInSectors).min().orElseThrow();
            int block = legs.stream().mapToInt(BlockDevice::minimumBlockBytes).max().orElseThrow();
            long blockSectors = Math.max(1, block / BlockDevice.SECTOR_SIZE);
            if (s.regionSectors() % blockSectors != 0 || sectors % blockSectors != 0) {
                // Every resync and write of a region would be refused by that leg: nothing is written.
                throw new IllegalArgumentException(prefix + "a leg takes only whole blocks of " + block + " bytes (its "
                        + "minimum block size): regionSectors " + s.regionSectors() + " and the legs' " + sectors
                        + " sectors must be multiples of " + blockSectors);
            }
            long regions = MirrorVolume.regionsOf(sectors, s.regionSectors());
            if (regions > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(prefix + "the legs' " + sectors + " sectors make " + regions
                        + " regions of " + s.regionSectors() + " sectors, at most " + Integer.MAX_VALUE
                        + " are allowed: choose larger regions");
            }
            RegionLog.Geometry g = new RegionLog.Geometry(s.regionLogId(), s.name(), recorded, s.regionSectors(), sectors,
                    java.util.Set.copyOf(s.resyncLegs()));
            Path logPath = s.regionLog();
            RegionLog log;
            if (!Files.exists(logPath, LinkOption.NOFOLLOW_LINKS)) {
                if (s.regionLogId() != null && !s.format()) {
                    throw new IllegalArgumentException(prefix + "no region log at " + logPath
                            + ", but the configuration names " + Mirror.CONFIG_REGION_LOG_ID + " " + s.regionLogId()
                            + "; refusing to start a new log, which would copy leg 0 over the other legs (was the log "
                            + "moved? without " + Mirror.CONFIG_REGION_LOG_ID + ", or with " + Mirror.CONFIG_FORMAT
                            + "=true, a new log is made)");
                }
                BlockDevice device;
                try {
                    device = FILES.createNew(logPath, RegionLog.sizeInSectors(regions), s.logPurpose());
                } catch (IOException e) {
                    throw new IOException(prefix + "cannot create region log " + logPath + ": " + reason(e), e);
                }
                createdLog = logPath;
                files.add(device);
                try {
                    log = RegionLog.format(device, g, RegionLog.newId(g));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(prefix + e.getMessage(), e);
                }
                LOG.log(System.Logger.Level.INFO, prefix + "new region log " + logPath + " (" + Mirror.CONFIG_REGION_LOG_ID
                        + " " + log.id() + "); leg 0 " + s.legs().get(0) + " is the default leg");
            } else {
                BlockDevice device;
                try {
                    device = FILES.open(logPath, s.logPurpose(), DeviceOption.READ_WRITE);
                } catch (FileClaimedException e) {
                    throw refusedClaim(prefix + "region log " + logPath + " cannot be used: " + e.getMessage(), e);
                } catch (IOException e) {
                    throw new IOException(prefix + "region log " + logPath + " cannot be used: " + reason(e), e);
                }
                files.add(device);
                try {
                    log = RegionLog.open(device, g, s.format());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(prefix + e.getMessage(), e);
                } catch (LegUnreachableException e) {
                    // An export that answers but cannot be read to identify it: tried again, as one that cannot be reached.
                    throw new LegUnreachableException(prefix + e.getMessage(), e);
                } catch (IOException e) {
                    throw new IOException(prefix + "region log " + logPath + ": " + reason(e), e);
                }
            }
            for (int i : log.strangers()) {
                // Left failed, not this mirror's as far as it can tell: not held either (H43 F2: its claim refused the
                // mirror whose leg it was).
                BlockDevice stranger = legs.get(i);
                if (files.remove(stranger)) {
                    stranger.close();
                }
                legs.set(i, new AbsentLeg(s.legs().get(i), stranger.sizeInSectors(), "not held open"));
            }
            MirrorVolume volume = new MirrorVolume(s.name(), s.legs(), legs, log, s.regionSectors(), kcopyd, backoff);
            return new OpenedMirror(volume, files, releases);
        } catch (IOException | RuntimeException e) {
            release(files, releases);
            if (createdLog != null) {
                // It holds nothing but the header just written.
                Files.deleteIfExists(createdLog);
            }
            throw e;
        }
    }

    /**
     * Refuses file legs that are not whole sectors (see {@link #refusePartialSector}), or that are,
     * in part, the same bytes as another file leg or as the region log
     * through a block device over it (a loop device over a leg's file, a partition of a leg's
     * disk), which claims do not see: writing the log or resyncing would overwrite a leg's data,
     * and two such legs are one copy, not two. Paths that do not exist are left to the opening.
     *
     * @throws IllegalArgumentException naming both and how they share bytes; nothing is opened
     * @throws IOException if an existing leg or log cannot be examined
     */
    private static void refuseSharedBytes(MirrorSettings s, String prefix, java.util.Set<String> failed)
            throws IOException {
        List<Integer> fileLegs = new ArrayList<>();
        for (int i = 0; i < s.legs().size(); i++) {
            String leg = s.legs().get(i);
            if (!leg.startsWith(Mirror.SERVICE_LEG) && !MirrorSettings.isUriLeg(leg) && Files.exists(Path.of(leg))) {
                fileLegs.add(i);
                if (!failed.contains(leg)) {
                    // A failed leg's is left out when it opens (see unfit).
                    refusePartialSector(prefix, i, Path.of(leg));
                }
            }
        }
        Path log = s.regionLog();
        for (int i : fileLegs) {
            Path leg = Path.of(s.legs().get(i));
            if (Files.exists(log)) {
                String shared = sharedBytes(prefix, log, "region log " + log, leg, "leg " + i + " " + leg);
                if (shared != null) {
                    throw new IllegalArgumentException(prefix + "region log " + log + " is part of leg " + i + " " + leg
                            + ": " + shared + "; the log's writes would overwrite the leg, so nothing was opened or "
                            + "written: put the region log on another file or device");
                }
            }
            for (int j : fileLegs) {
                if (j >= i) {
                    break;
                }
                Path earlier = Path.of(s.legs().get(j));
                String shared = sharedBytes(prefix, leg, "leg " + i + " " + leg, earlier, "leg " + j + " " + earlier);
                if (shared != null) {
                    throw new IllegalArgumentException(prefix + "leg " + i + " " + leg + " is part of leg " + j + " "
                            + earlier + ": " + shared + "; they would be one copy, not two, so nothing was opened or "
                            + "written: give each leg its own file or device");
                }
            }
        }
    }

    /**
     * Refuses a regular file leg whose size is not whole sectors: the mirror is whole sectors, so
     * its last bytes would lie outside the mirror, never written nor resynced, while the status
     * said the legs were in sync.
     */
    private static void refusePartialSector(String prefix, int index, Path leg) throws IOException {
        if (!Files.isRegularFile(leg)) {
            return;
        }
        // A daemon's own file is refused as what it is, never advised to be padded (found by H25).
        org.kcopyd.device.FileClaims.refuseReserved(leg);
        long bytes;
        try {
            bytes = Files.size(leg);
        } catch (IOException e) {
            throw new IOException(prefix + "leg " + index + " " + leg + " cannot be used: " + reason(e), e);
        }
        long tail = bytes % SECTOR;
        if (tail != 0) {
            throw new IllegalArgumentException(prefix + "leg " + index + " " + leg + " is " + bytes + " bytes, not a "
                    + "whole number of " + SECTOR + "-byte sectors: its last " + tail + " bytes would lie outside the "
                    + "mirror, never mirrored, while its legs were said to be in sync; nothing was opened or written: "
                    + "make every leg whole sectors (truncate -s " + (bytes - tail + SECTOR) + " " + leg
                    + " pads it with zeros)");
        }
    }

    private static String sharedBytes(String prefix, Path a, String aWhat, Path b, String bWhat) throws IOException {
        try {
            return DeviceBacking.sameBytes(a, b);
        } catch (IOException e) {
            throw new IOException(prefix + "cannot tell whether " + aWhat + " and " + bWhat + " are the same bytes, so "
                    + "neither is opened: " + reason(e), e);
        }
    }

    /**
     * @return whether the mirror has legs named by URI and its configuration names a region log that
     *         is there to be adopted ({@link #holdsLogToReopen}): an existing mirror, whose legs may
     *         be opened later, on another thread
     */
    static boolean reopensLog(MirrorSettings s) {
        return s.legs().stream().anyMatch(MirrorSettings::isUriLeg) && holdsLogToReopen(s);
    }

    /**
     * Opens each leg named by URI, holding no lock, for an opening of the mirror that then takes
     * them (see {@link MirrorComponent}): waiting for an unresponsive server (up to the opener's
     * timeout) blocks no one else. Files and services are not touched.
     *
     * @return the devices, open read-write, by their URI as {@link #open} asks the opener for it
     * @throws LegUnreachableException, IOException, IllegalArgumentException as {@link #open}
     *                                  throws them for the first such leg that cannot be opened
     *                                  (those opened before it are closed)
     */
    static Map<URI, BlockDevice> connect(MirrorSettings s, BlockDeviceOpener opener) throws IOException {
        String prefix = "mirror '" + s.name() + "': ";
        Map<URI, BlockDevice> connected = new LinkedHashMap<>();
        // A leg the log records failed is not connected to: the mirror opens without it (H42 #5).
        Map<String, RegionLog.FailedLeg> failed = failedLegs(s);
        try {
            for (int i = 0; i < s.legs().size(); i++) {
                String leg = s.legs().get(i);
                if (MirrorSettings.isUriLeg(leg) && !failed.containsKey(leg)) {
                    URI uri = DeviceUris.parse(leg);
                    if (!connected.containsKey(uri)) {
                        connected.put(uri, openRemote(prefix + "leg " + i + " " + leg, uri, opener, s));
                    }
                }
            }
            return connected;
        } catch (IOException | RuntimeException e) {
            for (BlockDevice d : connected.values()) {
                try {
                    d.close();
                } catch (IOException closing) {
                    e.addSuppressed(closing);
                }
            }
            throw e;
        }
    }

    /**
     * @param what "mirror 'm': leg 1 URI", for messages
     * @param s    the mirror's settings, to tell whether its region log is there to be used
     * @return the device, open read-write
     * @throws LegUnreachableException naming the leg if the opener fails with an {@link IOException}
     *                                 and the region log named is there ({@link #holdsLogToReopen})
     * @throws IOException naming the leg if there is no opener or the device cannot be opened
     * @throws IllegalArgumentException naming it if its provider finds the URI malformed
     */
    private static BlockDevice openRemote(String what, URI uri, BlockDeviceOpener opener, MirrorSettings s)
            throws IOException {
        if (opener == null) {
            throw new IOException(what + " cannot be used: no BlockDeviceOpener service to open devices named by URI "
                    + "(is kcopyd.impl started?)");
        }
        try {
            return opener.open(uri, DeviceOption.READ_WRITE);
        } catch (IOException e) {
            // The NBD client names the export first: once (in what) is enough.
            String why = String.valueOf(e.getMessage());
            String leg = uri.toString();
            why = why.startsWith(leg + ": ") ? why.substring(leg.length() + 2) : why;
            String message = what + " cannot be used: " + why;
            if (holdsLogToReopen(s)) {
                throw new LegUnreachableException(message, e);
            }
            throw new IOException(message, e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " is refused: " + e.getMessage(), e);
        }
    }

    /**
     * Whether the settings describe an existing mirror: they name a region log identity, and the
     * file at the region log path (symbolic links followed) holds that log, of this version, with
     * the configured region size ({@link RegionLog#holds}), so that opening the mirror would adopt
     * it rather than create or format one. Its legs' records need the legs: they are checked when
     * they open. Reads the header through a read-only device (registered as read by this process
     * for that moment, as any reader), claims nothing and writes nothing; the calling thread does
     * the I/O.
     *
     * @return true if so; false otherwise, and if the file cannot be read (another process claimed
     *         it, say): the opening then reports what it finds
     */
    static boolean holdsLogToReopen(MirrorSettings s) {
        if (s.regionLogId() == null || !Files.exists(s.regionLog())) {
            return false;
        }
        try (BlockDevice device = FILES.open(s.regionLog(), s.logPurpose())) {
            return RegionLog.holds(device, s.regionLogId(), s.regionSectors());
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The legs the region log the settings name records failed (see {@link RegionLog#failedLegs}),
     * by their recorded path: such a leg is opened if it can be (a file replaced at its path comes
     * back, resynced), and otherwise stood in for by an {@link AbsentLeg}; one named by URI is not
     * connected to at all. Reads the header through a read-only device, as {@link #holdsLogToReopen}.
     *
     * @return empty if the settings name no log identity, or the file there is not that log or cannot be read
     */
    static Map<String, RegionLog.FailedLeg> failedLegs(MirrorSettings s) {
        if (s.regionLogId() == null || !Files.exists(s.regionLog())) {
            return Map.of();
        }
        try (BlockDevice device = FILES.open(s.regionLog(), s.logPurpose())) {
            Map<String, RegionLog.FailedLeg> failed = new java.util.HashMap<>(RegionLog.failedLegs(device,
                    s.regionLogId(), s.regionSectors()));
            // A leg to bring back is opened as any other: it is to be resynced.
            failed.keySet().removeAll(s.resyncLegs());
            return failed;
        } catch (IOException | RuntimeException e) {
            return Map.of();
        }
    }

    /**
     * @return why the file opened for a leg the log records failed cannot be one of the mirror's legs (not whole
     *         sectors, smaller than the mirror), or null if it can
     */
    private static String unfit(Path file, BlockDevice device, RegionLog.FailedLeg f) throws IOException {
        long bytes = Files.isRegularFile(file) ? Files.size(file) : 0;
        if (bytes % SECTOR != 0) {
            return "it is " + bytes + " bytes, not whole sectors";
        }
        if (device.sizeInSectors() < f.mirror()) {
            return "it is " + device.sizeInSectors() + " sectors, the mirror " + f.mirror();
        }
        return null;
    }

    /**
     * A failed leg that is not opened: its stand-in, recorded as the log recorded it, so that the log
     * adopts it as that failed leg.
     *
     * @param why      why it is not open
     * @param recorded receives the leg for the log
     */
    private static AbsentLeg absent(String prefix, int index, String leg, RegionLog.FailedLeg f, String why,
            List<RegionLog.Leg> recorded) {
        LOG.log(System.Logger.Level.WARNING, prefix + "leg " + index + " " + leg + " is recorded failed ("
                + f.failure() + ") and not opened (" + why + "): it is left out");
        AbsentLeg absent = new AbsentLeg(leg, f.sectors(), "not opened at this start (" + why + ")");
        recorded.add(new RegionLog.Leg(leg, f.identity(), f.sectors(), absent));
        return absent;
    }

    /**
     * A file refused because it is held: by this process (the configuration names a file twice, or
     * one another mirror or snapshot here holds), a bad value, as before; by another process, a
     * claim or a reader there, the file is in use (an IOException: the command's exit 1, not 2).
     */
    private static RuntimeException refusedClaim(String message, FileClaimedException e) throws IOException {
        if (e.holder() != null && !e.holder().isHeldHere()) {
            throw new IOException(message, e);
        }
        return new IllegalArgumentException(message, e);
    }

    private static String reason(IOException e) {
        if (e instanceof NoSuchFileException n) {
            Path file = Path.of(n.getFile());
            Path parent = file.getParent();
            return parent != null && !Files.isDirectory(parent) ? "no such directory " + parent : "no such file " + file;
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /** Stops the mirror (see {@link MirrorVolume#close()}), then closes its files and gives back its services. */
    @Override
    public void close() {
        volume.close();
        release(files, releases);
    }

    private static void release(List<BlockDevice> files, List<Runnable> releases) {
        for (BlockDevice d : files) {
            try {
                d.close();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "closing " + d.name() + " failed", e);
            }
        }
        files.clear();
        releases.forEach(Runnable::run);
        releases.clear();
    }
}
