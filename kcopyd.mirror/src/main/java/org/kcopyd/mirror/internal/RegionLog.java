package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.zip.CRC32C;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.BlockIo;
import org.kcopyd.device.KcopydHeaders;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.Mirror;

/**
 * The mirror's persistent log (dm-raid1's disk log): a header recording the log's identity, the
 * geometry and each leg's path, identity, size and state, then one bit per region, set (durably)
 * before the first write to a region and cleared only once its writes have completed on every
 * leg and every leg has been flushed since (dm-region-hash's rule: a region is clean on disk only
 * when its data is durable on every leg; {@link RegionCleaner} flushes the legs once per batch of
 * regions, then {@link #clearBatch} writes their bits).
 * After a crash, only set regions need a resync; a leg whose path is not in the header (added) or
 * that is no longer the file the header records (replaced) needs a full one.
 *
 * <p>A full resync's progress is kept in the same bitmap (dm-raid1's disk log keeps per-region
 * sync state the same way): before the mirror starts, every region's bit is set and flushed, and
 * only then does the header record the new or replaced leg as RESYNCING with its full resync
 * <em>tracked</em> (a bit per leg in the header). The resync clears a region's bit once the region
 * is copied to every resyncing leg and flushed there ({@link org.kcopyd.api.CopyFlag#FLUSH}), as a
 * write's end clears it. A tracked leg that is still RESYNCING when the log is opened again (after
 * a crash or a stop) needs only the regions whose bits are set; a RESYNCING leg that is not
 * tracked (its bits were never all set, or a kcopyd that did not know the mark wrote the header
 * last) has every bit set again, and its resync starts over from region 0.
 *
 * <p>The header is kept twice (sectors 0-31 and 32-63), each copy with a CRC-32C, and written
 * copy 1 then copy 2, each flushed: a write torn by a crash leaves one intact copy, the newer one
 * if copy 2 was torn, the older if copy 1 was (its change was then not yet acted on). Copy 1 is
 * read unless it is damaged. The bitmap starts at sector 64.
 *
 * <p>Header copy (16 KiB, little-endian, format version {@value #VERSION}): magic, version, region
 * size, region count, leg count, CRC-32C of the copy (computed with this field zero), the identity
 * (UUID), the mirror's size in sectors, the mirror's name; at byte {@value #TRACKED_AT} the legs
 * whose full resync the bitmap tracks (bit N: leg N; version 3 logs written before this field
 * existed hold zero there, so they open unchanged and their resyncing legs start their full resync
 * over, tracked from then on; a kcopyd that does not know the field ignores it and writes it as
 * zero, which costs only a full resync); from byte {@value #LEGS_AT}, per leg a
 * {@value #LEG_RECORD}-byte record: state, path, size in sectors, identity, fingerprint (if the
 * mirror closed cleanly), failure reason (or why the leg is resynced fully).
 *
 * <p>A leg's identity is what tells its file from another at the same path: a file's disk (as the
 * kernel knows it) and inode, a block device's disk as the kernel knows it (its WWID, device-mapper
 * UUID, the file behind a loop device, ...: not its device number, which names whichever disk came
 * there after a reboot), see {@link org.kcopyd.device.DeviceIdentity}; the name of a
 * {@code service:NAME} leg; an export's normalized URI. A log written by a kcopyd that recorded
 * device numbers ({@code dev-D-ino-I}, {@code blk-R}) is adopted when they match, and records the
 * identities anew the next time its header is written. When the mirror closes cleanly (every write and resync
 * copy drained), each leg's {@link LegFingerprint} is recorded too; opening compares it and drops
 * it before anything is written, so a fingerprint is only ever checked against a leg nothing
 * wrote since (after a crash there is none to check). A leg whose identity, size or fingerprint
 * differs from its record is not the leg the log describes: it is never a resync source, and is
 * left failed, not written (whose it is cannot be told), unless the geometry asks to bring it back
 * ({@link Geometry#bringBack()}): then it is resynchronised fully from a leg that is recorded in
 * sync and is as recorded. If no such leg is left (the legs were swapped, the only in-sync leg was replaced or
 * written outside the mirror), the log is refused: kcopyd does not guess which leg holds the
 * mirror's data. A leg as recorded and not failed that the geometry names is resynchronised fully
 * too (its data doubted: written outside the mirror where no fingerprint looks), unless no other
 * leg would be left in sync to copy from: then the log is refused, nothing written.
 *
 * <p>An existing log is adopted only when a copy of its header is intact and carries the
 * configured identity, region size and mirror size. A file with an intact copy is a kcopyd region
 * log and is never formatted, not even with {@code format=true}: a configuration that keeps
 * format set (a configuration file applied at every start) must not turn the log it made into a
 * new one, which would resynchronise every leg from leg 0. Neither is a log whose header is of a
 * newer version, or whose fields make no sense under a correct checksum, nor a log of format
 * version 2 (which records no leg identities, so its legs cannot be checked: it is refused with
 * what to do). Only a file with no kcopyd region log header (no magic number, a version before 2,
 * or both copies failing their checksum) is overwritten with {@code format=true}, and not even
 * that if it holds a snapshot's COW store header ({@link KcopydHeaders}). A leg that holds a COW
 * store or region log header is refused when the log does not record it as it is (a new log, a
 * new or replaced leg). Nothing is written to a refused file.
 */
final class RegionLog {

    static final long MAGIC = KcopydHeaders.REGION_LOG_MAGIC;
    private static final String NEVER_FORMATTED = "a kcopyd region log is never formatted, not even with "
            + Mirror.CONFIG_FORMAT + "=true (--format)";
    private static final String AFRESH = " yourself to start afresh (a new log resyncs every other leg from leg 0: "
            + "first make sure leg 0 holds the data)";
    static final int VERSION = 3;
    /**
     * How the failure of a leg left failed as not as recorded starts, in the header too: at later opens such
     * a leg is still not this mirror's (its identity may match again, as when a file is rewritten in place),
     * so it is not opened at all until brought back.
     */
    static final String NOT_AS_RECORDED = "not as the log recorded it: ";
    /** How the status of a leg not failed that was asked to be resynced fully starts (then its state before, ")"). */
    static final String RESYNCED_AS_ASKED = "resynced fully as asked (it was ";
    private static final int SECTOR = BlockDevice.SECTOR_SIZE;
    static final int HEADER_SECTORS = 32;
    static final int BITMAP_START = 2 * HEADER_SECTORS;
    private static final int CRC_AT = 28;
    private static final int NAME_BYTES = 64;
    /** Where version 3 keeps the mask of legs whose full resync the bitmap tracks (bytes 124-1023 were zero). */
    static final int TRACKED_AT = 128;
    static final int LEGS_AT = 1024;
    static final int LEG_RECORD = 960;
    /** The longest identity recorded, in bytes of UTF-8; a longer one is recorded as its SHA-256. */
    static final int MAX_IDENTITY_BYTES = 256;
    /** Version 3, the one written. */
    private static final Layout CURRENT = new Layout(VERSION, HEADER_SECTORS, TRACKED_AT, LEGS_AT, LEG_RECORD, 264, 272,
            272 + 4 + MAX_IDENTITY_BYTES, 532 + 4 + LegFingerprint.BYTES);
    /** Version 2: no leg identities; read only to refuse it with what it holds. */
    private static final Layout V2 = new Layout(2, 16, -1, 512, 480, -1, -1, -1, 8 + Mirror.MAX_LEG_PATH_BYTES);
    private static final int PATH_AT = 8;
    private static final System.Logger LOG = System.getLogger(RegionLog.class.getName());

    private final BlockDevice device;
    private final UUID id;
    private final String mirror;
    private final int regionSectors;
    private final long regions;
    private final long sectors;
    private final List<Leg> legs;
    /** The legs (their paths) to bring back if the header records them failed: see {@link Geometry}. */
    private final Set<String> bringBack;
    /** The legs left failed at this open because they are not as recorded: not this mirror's, as far as it can tell. */
    private final List<Integer> strangers = new ArrayList<>();
    /** The legs not failed that {@link Geometry#bringBack} asked to resync fully, as this log was opened. */
    private final List<Integer> askedInSync = new ArrayList<>();
    private final LegState[] states;
    private final String[] failures;
    /** Per leg: it is RESYNCING and every region not yet copied to it has its bit set on disk. */
    private final boolean[] tracked;
    /** Each leg's fingerprint while the mirror is closed cleanly, else none (null). */
    private final byte[][] fingerprints;
    private final BitSet dirty = new BitSet();
    /**
     * The regions set when this log was opened, before a new or replaced leg's full resync set them all:
     * writes may have been in flight there at a crash, so their resync copies to every leg not failed.
     * Any other set region lacks data on the legs being resynced only: copying it to a leg in sync would
     * write what it holds already, or, from a source written outside the mirror since, spread that to a
     * leg nobody asked to resync (H47 1: a 3-leg mirror's unnamed leg in sync was overwritten).
     */
    private final BitSet toEveryLeg = new BitSet();
    /** Writes in flight per region, between {@link #markDirty} and {@link #writeDone}. */
    private final Map<Long, Integer> writers = new HashMap<>();
    /** Regions whose writes (or resync) are done, set on disk, waiting for the next batch ({@link #takeBatch}). */
    private final BitSet cleanPending = new BitSet();
    /** The batch: regions whose bits are cleared after the legs' flush, unless a write enters them meanwhile. */
    private final BitSet cleaning = new BitSet();

    private RegionLog(BlockDevice device, Geometry g, UUID id) {
        this.device = device;
        this.id = id;
        this.mirror = g.mirror;
        this.regionSectors = g.regionSectors;
        this.sectors = g.sectors;
        this.regions = MirrorVolume.regionsOf(g.sectors, g.regionSectors);
        this.legs = new ArrayList<>(g.legs);
        this.bringBack = g.bringBack;
        this.states = new LegState[legs.size()];
        this.failures = new String[legs.size()];
        this.tracked = new boolean[legs.size()];
        this.fingerprints = new byte[legs.size()][];
    }

    /**
     * A leg as it is now, as the log records it.
     *
     * @param path     the leg, as configured
     * @param identity what tells its file from another at the same path (see {@link #fitIdentity(String)})
     * @param sectors  its size
     * @param device   its device, read for its {@link LegFingerprint}
     * @param earlier  the identity kcopyd recorded for the same file or disk before its
     *                 {@link org.kcopyd.device.DeviceIdentity} (the device number of a file system
     *                 or a block device node), accepted in a log written then and replaced by
     *                 {@code identity} as the log is written again; null if there was none
     */
    record Leg(String path, String identity, long sectors, BlockDevice device, String earlier) {
        Leg {
            identity = fitIdentity(identity);
        }

        /** A leg whose identity has no earlier form (a service's name, a URI). */
        Leg(String path, String identity, long sectors, BlockDevice device) {
            this(path, identity, sectors, device, null);
        }

        /** @return whether {@code recorded} is this leg's identity, now or as kcopyd recorded it before */
        boolean is(String recorded) {
            return org.kcopyd.device.DeviceIdentity.matches(recorded, identity)
                    || earlier != null && fitIdentity(earlier).equals(recorded);
        }
    }

    /**
     * What the configuration expects of the log.
     *
     * @param id            the identity of the log to adopt, or null if the configuration names none
     * @param mirror        the mirror's name (recorded for messages)
     * @param legs          the legs, as configured, with their identities and sizes now
     * @param regionSectors the region size
     * @param sectors       the mirror's size: its smallest leg's
     */
    record Geometry(UUID id, String mirror, List<Leg> legs, int regionSectors, long sectors, Set<String> bringBack) {
        Geometry {
            legs = List.copyOf(legs);
            bringBack = Set.copyOf(bringBack);
        }

        /** Bringing no failed leg back. */
        Geometry(UUID id, String mirror, List<Leg> legs, int regionSectors, long sectors) {
            this(id, mirror, legs, regionSectors, sectors, Set.of());
        }
    }

    /**
     * @param identity a leg's identity as text
     * @return the identity as recorded: itself, or if longer than {@value #MAX_IDENTITY_BYTES} bytes its SHA-256
     */
    static String fitIdentity(String identity) {
        byte[] bytes = identity.getBytes(StandardCharsets.UTF_8);
        if (bytes.length <= MAX_IDENTITY_BYTES) {
            return identity;
        }
        try {
            return "sha-256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    /** @return the sectors a log for {@code regions} regions needs */
    static long sizeInSectors(long regions) {
        return BITMAP_START + (regions + SECTOR * 8 - 1) / (SECTOR * 8);
    }

    /**
     * Makes a new log with identity {@code id} on {@code device}, whatever it held: leg 0 is the
     * in-sync default leg and every other leg resyncs fully, its progress tracked in the bitmap
     * (every bit set, flushed before the header is written). Only for a file just created, or one
     * the configuration asked to format.
     */
    static RegionLog format(BlockDevice device, Geometry g, UUID id) throws IOException {
        checkSize(device, g);
        List<Integer> every = new ArrayList<>();
        for (int i = 0; i < g.legs.size(); i++) {
            every.add(i);
        }
        refuseKcopydLegs(g, every);
        RegionLog log = new RegionLog(device, g, id);
        for (int i = 0; i < g.legs.size(); i++) {
            log.states[i] = i == 0 ? LegState.IN_SYNC : LegState.RESYNCING;
        }
        if (!log.trackFullResync()) {
            log.writeBitmap();
        }
        log.writeHeader();
        return log;
    }

    /**
     * Opens an existing log: adopts it when a copy of its header is intact and matches
     * {@code g} (identity, region size, mirror size, a leg recorded in sync that is still the
     * recorded file), keeping the states of the legs it knows and its dirty regions, and taking
     * a leg that is not the recorded file as replaced (resynced fully); formats it when it holds
     * no kcopyd region log and {@code format} is true; refuses it otherwise, writing nothing. A
     * kcopyd region log that does not match is refused whatever {@code format} says.
     *
     * @throws IllegalArgumentException naming the reason if the file is refused (it is not this
     *         configuration's log, or its legs are not the recorded files): the configuration is
     *         at fault, not the I/O
     * @throws IOException if the log cannot be read or written
     */
    static RegionLog open(BlockDevice device, Geometry g, boolean format) throws IOException {
        String what = device.name();
        BadHeader[] problems = new BadHeader[2];
        Header h = readHeader(device, problems);
        String firstLeg = g.legs.get(0).path();
        if (h == null) {
            if (!formattable(problems[0]) || !formattable(problems[1])) {
                throw new IllegalArgumentException(what + " is not adopted: it holds a kcopyd region log this kcopyd "
                        + "cannot read (" + copies(problems) + "); " + NEVER_FORMATTED + ": delete " + what + AFRESH);
            }
            refuseCowStore(device);
            boolean magic = problems[0] != null && problems[0].magic || problems[1] != null && problems[1].magic;
            String problem = !magic ? what + " is not a kcopyd region log (it has no region log header)"
                    : what + " has a damaged region log header (" + copies(problems) + ")";
            if (!format) {
                throw new IllegalArgumentException(problem + "; refusing to use it (" + Mirror.CONFIG_FORMAT
                        + "=true overwrites it with a new log that resyncs every leg from leg 0)");
            }
            LOG.log(System.Logger.Level.WARNING, "mirror '" + g.mirror + "': " + problem + "; " + Mirror.CONFIG_FORMAT
                    + "=true: overwriting it with a new log, leg 0 (" + firstLeg + ") is the default leg");
            return format(device, g, newId(g));
        }
        if (h.version != VERSION) {
            throw new IllegalArgumentException(what + " is a region log of format version " + h.version + " (mirror '"
                    + h.mirror + "', " + Mirror.CONFIG_REGION_LOG_ID + " " + h.id + "; legs " + h.legs + "), which "
                    + "records no leg identities, so this kcopyd cannot check that the legs are still the files it "
                    + "recorded; it is not adopted, and " + NEVER_FORMATTED + ": make sure the leg to keep (one it "
                    + "records IN_SYNC) holds the mirror's data, then delete " + what + " yourself and create the "
                    + "mirror again with that leg first (every other leg is resynced from it)");
        }
        if (!h.id.equals(g.id)) {
            throw new IllegalArgumentException(what + " is the region log of mirror '" + h.mirror + "' ("
                    + Mirror.CONFIG_REGION_LOG_ID + " " + h.id + "; " + h.describe() + "), and the configuration names "
                    + (g.id == null ? "no " + Mirror.CONFIG_REGION_LOG_ID : Mirror.CONFIG_REGION_LOG_ID + " " + g.id)
                    + ", so it is not adopted; " + NEVER_FORMATTED + ": set " + Mirror.CONFIG_REGION_LOG_ID + "="
                    + h.id + " (--log-id " + h.id + ") to adopt it, or delete " + what + AFRESH);
        }
        String mismatch;
        if (h.regionSectors != g.regionSectors) {
            mismatch = "region log " + what + " has regions of " + h.regionSectors + " sectors, the configuration "
                    + g.regionSectors;
        } else if (h.sectors != g.sectors) {
            mismatch = "region log " + what + " describes a mirror of " + h.sectors + " sectors, the legs now give "
                    + g.sectors + " (a leg changed size)";
        } else {
            mismatch = null;
        }
        if (mismatch != null) {
            throw new IllegalArgumentException(mismatch + "; " + NEVER_FORMATTED + ": give the mirror the legs and "
                    + "region size the log records, or delete " + what + AFRESH);
        }
        RegionLog log = new RegionLog(device, g, h.id);
        // Read before anything is written: the header written next drops every fingerprint.
        List<Integer> fresh = new ArrayList<>();
        List<String> replaced = log.adoptLegs(h, what, fresh);
        refuseKcopydLegs(g, fresh);
        checkSize(device, g);
        if (problems[0] != null) {
            LOG.log(System.Logger.Level.WARNING, "mirror '" + g.mirror + "': region log " + what
                    + " header copy 1 is damaged (" + problems[0].getMessage() + "); using copy 2 and rewriting both");
        }
        for (String leg : replaced) {
            LOG.log(System.Logger.Level.WARNING, "mirror '" + g.mirror + "': " + leg);
        }
        log.loadBitmap();
        refuseKcopydLegs(g, log.compareUnchecked(h));
        boolean underWay = false;
        for (int i = 0; i < log.legs.size(); i++) {
            underWay |= log.tracked[i];
        }
        if (log.trackFullResync() && underWay) {
            LOG.log(System.Logger.Level.INFO, "mirror '" + g.mirror + "': a new or replaced leg starts its full "
                    + "resync, so every region is resynced again, for the legs whose resync was under way too");
        }
        log.writeHeader();
        return log;
    }

    /**
     * Before the header records a RESYNCING leg as tracked: if any RESYNCING leg is not tracked
     * yet, sets every region's bit, writes the whole bitmap and flushes it, then marks every
     * RESYNCING leg tracked (in memory; the caller writes the header). A crash before the header
     * is written leaves the legs untracked: the next open sets the bits again.
     *
     * @return true if the bitmap was written
     */
    private boolean trackFullResync() throws IOException {
        boolean untracked = false;
        for (int i = 0; i < legs.size(); i++) {
            untracked |= states[i] == LegState.RESYNCING && !tracked[i];
        }
        if (!untracked) {
            return false;
        }
        dirty.set(0, (int) regions);
        writeBitmap();
        for (int i = 0; i < legs.size(); i++) {
            tracked[i] = states[i] == LegState.RESYNCING;
        }
        return true;
    }

    /** Writes the whole bitmap as {@link #dirty} holds it, 256 sectors at a time, and flushes it. */
    private void writeBitmap() throws IOException {
        int chunkSectors = 256;
        int chunkBits = chunkSectors * SECTOR * 8;
        ByteBuffer b = ByteBuffer.allocate(chunkSectors * SECTOR);
        long bitmapSectors = sizeInSectors(regions) - BITMAP_START;
        for (long s = 0; s < bitmapSectors; s += chunkSectors) {
            int sectorsNow = (int) Math.min(chunkSectors, bitmapSectors - s);
            int fromBit = (int) (s * SECTOR * 8);
            byte[] bits = dirty.get(fromBit, fromBit + chunkBits).toByteArray();
            Arrays.fill(b.array(), (byte) 0);
            b.clear();
            b.put(bits, 0, Math.min(bits.length, sectorsNow * SECTOR)).clear().limit(sectorsNow * SECTOR);
            BlockIo.await(device.write(BITMAP_START + s, b));
        }
        BlockIo.await(device.flush());
    }

    /**
     * Takes each configured leg's state from its record: a leg without one is new, a leg that is
     * not as recorded (identity, size, fingerprint) is replaced; both are resynced fully.
     *
     * @param fresh receives the indices of the new and replaced legs
     * @return a line for each replaced leg, to log
     * @throws IllegalArgumentException if no leg is both recorded in sync and as recorded
     * @throws LegUnreachableException if an export recorded with a fingerprint answers but cannot be
     *                                 read to check it: its server's state, tried again later; taken
     *                                 as replaced, a disk nothing identified would be resynced over
     */
    private List<String> adoptLegs(Header h, String what, List<Integer> fresh) throws LegUnreachableException {
        List<String> replaced = new ArrayList<>();
        String changedSource = null;
        for (int i = 0; i < legs.size(); i++) {
            Leg now = legs.get(i);
            LegRecord r = h.record(now.path());
            states[i] = LegState.RESYNCING;
            if (r == null) {
                fresh.add(i);
                continue;
            }
            Change change;
            try {
                change = change(h, r, now);
            } catch (IOException e) {
                throw new LegUnreachableException("leg " + i + " " + now.path() + " answers but cannot be read to check "
                        + "that it is the disk this log recorded (" + e.getMessage() + "); nothing was written", e);
            }
            if (change == null && r.state == LegState.FAILED && bringBack.contains(now.path())) {
                // Asked for (Mirror.CONFIG_RESYNC_LEGS): the failed leg, its device repaired, is resynced fully.
                fresh.add(i);
                failures[i] = "brought back after it failed (" + r.failure + "); resynced fully";
                replaced.add("leg " + i + " " + now.path() + " failed (" + r.failure + ") and is brought back as asked: "
                        + "resynced fully");
                continue;
            }
            if (change == null && bringBack.contains(now.path())) {
                // H45 F4: a leg in sync (or resyncing) whose data the user doubts (written outside the mirror, where
                // its fingerprint does not look) is resynced fully from the legs in sync, as LVM's lvchange --resync.
                fresh.add(i);
                askedInSync.add(i);
                String was = r.state.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
                failures[i] = RESYNCED_AS_ASKED + was + ")";
                replaced.add("leg " + i + " " + now.path() + " was " + was + " and is resynced fully as asked");
                continue;
            }
            if (change == null) {
                states[i] = r.state;
                failures[i] = r.failure;
                tracked[i] = r.tracked;
                continue;
            }
            String detail = "leg " + i + " " + now.path() + " " + change.detail;
            if (r.state == LegState.IN_SYNC && changedSource == null) {
                changedSource = detail;
            }
            if (bringBack.contains(now.path())) {
                // The user's word that the device there is to be the leg (Mirror.CONFIG_RESYNC_LEGS).
                fresh.add(i);
                failures[i] = "brought back (" + change.note + "); resynced fully";
                replaced.add(detail + "; brought back as asked, resynced fully");
                continue;
            }
            // H43 F2, H44 F6: never resynced by itself. What is at the leg's path now may be another mirror's leg (a
            // link planted there), another disk behind a by-id name: whose it is cannot be told, so it is not written.
            states[i] = LegState.FAILED;
            failures[i] = notAsRecorded(change.note);
            strangers.add(i);
            // The record stays the device the leg was: what is there now is found a stranger again at each open.
            legs.set(i, new Leg(now.path(), r.identity, r.sectors, now.device()));
            replaced.add(detail + "; left failed, nothing written to it: mirror replace-leg with its own device "
                    + "resyncs it fully");
        }
        for (LegState s : states) {
            if (s == LegState.IN_SYNC) {
                return replaced;
            }
        }
        if (!askedInSync.isEmpty()) {
            // No leg is left in sync: the ones asked for were the last (a leg recorded failed is never a source).
            throw new IllegalArgumentException("mirror '" + mirror + "': " + Mirror.CONFIG_RESYNC_LEGS + " asks to resync "
                    + "leg " + askedInSync + " fully, and no other leg is in sync to copy from; nothing was written: "
                    + "remove " + Mirror.CONFIG_RESYNC_LEGS + " from the configuration");
        }
        if (changedSource != null) {
            throw new IllegalArgumentException(changedSource + "; legs may have been swapped, replaced or written "
                    + "outside the mirror, and no leg recorded in sync is as recorded, so none is copied over the "
                    + "others; " + NEVER_FORMATTED + ": put the recorded files back at their paths (or serve the "
                    + "recorded disks again at their addresses) and apply the configuration again (restart the "
                    + "daemon, or mirror remove, then mirror create with --log-id " + h.id + ": the log stays and is "
                    + "adopted), or, if you know which leg holds the mirror's data, delete " + what + " yourself and "
                    + "create the mirror again with that leg first (every other leg is resynced from it)");
        }
        throw new IllegalArgumentException("no leg of mirror '" + mirror + "' is in sync according to its region log "
                + what + " (it records " + h.legs + "); refusing to guess which leg holds the data; " + NEVER_FORMATTED
                + ": give the mirror the legs and region size the log records, or delete " + what + AFRESH);
    }

    /**
     * @return the legs left failed as this log was opened because they are not as it recorded them: their
     *         devices are not this mirror's, as far as it can tell, and are not to be held (claimed) by it
     */
    List<Integer> strangers() {
        return List.copyOf(strangers);
    }

    /** @return the failure of a leg that is not as the log recorded it, left failed */
    private static String notAsRecorded(String note) {
        return NOT_AS_RECORDED + note + "; not written (mirror replace-leg with its own device resyncs it fully)";
    }

    /**
     * How a leg is not what its record says.
     *
     * @param detail completes "leg N PATH ...", for the log and a refusal
     * @param note   completes "replaced: ...", for the leg's status
     */
    private record Change(String detail, String note) {
    }

    /**
     * @return sectors of leg {@code index}, read to compare it
     * @throws LegUnreachableException if it is an export that answers but cannot be read
     */
    private ByteBuffer read(int index, long sector, int count) throws IOException {
        Leg leg = legs.get(index);
        try {
            return read(leg.device(), sector, count);
        } catch (IOException e) {
            if (!MirrorSettings.isUriLeg(leg.path())) {
                throw e;
            }
            throw new LegUnreachableException("leg " + index + " " + leg.path() + " answers but cannot be read to "
                    + "check that it is the disk this log recorded (" + e.getMessage() + "); nothing was written", e);
        }
    }

    /** Clean regions compared between an export that cannot be checked and a leg in sync, after an unclean stop. */
    private static final int COMPARED_REGIONS = 16;

    /**
     * After an unclean stop (a kill -9) no leg's fingerprint was recorded, and an export's identity
     * is its URI: another disk served at its address would be taken as the leg (H39). So each export
     * recorded in sync without a fingerprint is compared, in up to {@value #COMPARED_REGIONS} regions
     * the log records as clean (both legs then hold the same bytes there), with a leg in sync that is
     * checked (a file, or an export whose fingerprint matched): if they differ, it is not the disk
     * the log knows, and is left failed (brought back only if asked: resynced fully); else only its
     * dirty regions are resynced, as for a file. With no checked leg in sync, the exports in sync
     * are compared with one another, and a difference refuses the mirror: which of them holds its
     * data cannot be told.
     *
     * @return the legs brought back, to be resynced fully
     * @throws IllegalArgumentException naming the legs and the region, if exports that cannot be
     *                                  checked differ and no checked leg can tell which is right
     * @throws LegUnreachableException if an export to compare answers but cannot be read (its server's
     *                                 state, tried again later)
     * @throws IOException if a leg cannot be read
     */
    private List<Integer> compareUnchecked(Header h) throws IOException {
        List<Integer> unchecked = new ArrayList<>();
        int reference = -1;
        for (int i = 0; i < legs.size(); i++) {
            LegRecord r = h.record(legs.get(i).path());
            if (states[i] != LegState.IN_SYNC || r == null) {
                continue;
            }
            if (r.fingerprint == null && MirrorSettings.isUriLeg(legs.get(i).path())) {
                unchecked.add(i);
            } else if (reference < 0) {
                reference = i;
            }
        }
        List<Integer> replaced = new ArrayList<>();
        if (unchecked.isEmpty()) {
            return replaced;
        }
        if (reference < 0) {
            int first = unchecked.get(0);
            for (int i : unchecked.subList(1, unchecked.size())) {
                long region = firstDifferingCleanRegion(first, i);
                if (region >= 0) {
                    throw new IllegalArgumentException("legs " + first + " " + legs.get(first)
                            .path() + " and " + i + " " + legs.get(i).path() + " differ in region " + region + ", which "
                            + "the log records as in sync on both, and no fingerprint of either was recorded when the "
                            + "mirror last closed (it was not closed cleanly): one of them is not the disk the log "
                            + "recorded, and which cannot be told, so none is copied over the other and nothing was "
                            + "written: serve the recorded disks again at their addresses and apply the configuration "
                            + "again (restart the daemon, or mirror remove, then mirror create with --log-id " + id + ")");
                }
            }
            return replaced;
        }
        for (int i : unchecked) {
            long region = firstDifferingCleanRegion(reference, i);
            if (region >= 0) {
                String note = "not the disk the log recorded (region " + region + " differs from leg " + reference
                        + "'s, both recorded in sync, after an unclean stop)";
                boolean back = bringBack.contains(legs.get(i).path());
                states[i] = back ? LegState.RESYNCING : LegState.FAILED;
                tracked[i] = false;
                if (!back) {
                    strangers.add(i);
                }
                failures[i] = back ? "brought back (" + note + "); resynced fully" : notAsRecorded(note);
                LOG.log(System.Logger.Level.WARNING, "mirror '" + mirror + "': leg " + i + " " + legs.get(i).path()
                        + " differs from leg " + reference + " in region " + region + ", which the log records as in "
                        + "sync on both, and no fingerprint of it was recorded when the mirror last closed: another disk "
                        + "is served at its address, or it was written outside the mirror; " + (back ? "brought back as "
                        + "asked, resynced fully from the others" : "left failed, nothing written to it"));
                if (back) {
                    replaced.add(i);
                }
            }
        }
        return replaced;
    }

    /**
     * @return the first of up to {@value #COMPARED_REGIONS} regions spread over the mirror, each the
     *         first clean one from its place, in which legs {@code a} and {@code b} differ; -1 if none
     */
    private long firstDifferingCleanRegion(int a, int b) throws IOException {
        long last = -1;
        for (int k = 0; k < COMPARED_REGIONS; k++) {
            int region = dirty.nextClearBit((int) Math.max(last + 1, k * regions / COMPARED_REGIONS));
            if (region >= regions) {
                break;
            }
            last = region;
            long start = (long) region * regionSectors;
            int count = (int) Math.min(regionSectors, sectors - start);
            if (!read(a, start, count).equals(read(b, start, count))) {
                return region;
            }
        }
        return -1;
    }

    /**
     * @return how {@code now} differs from its record {@code r}, or null if it is the recorded leg as recorded
     * @throws IOException if {@code now} is an export whose fingerprint cannot be read: an export's
     *                     identity is its URI, and only its content can tell whether it is the disk
     *                     recorded (a file whose ends cannot be read is the file recorded, by its
     *                     identity, and is taken as replaced)
     */
    private static Change change(Header h, LegRecord r, Leg now) throws IOException {
        if (!now.is(r.identity) || r.sectors != now.sectors()) {
            return new Change("is not the file this log recorded (recorded " + r.identity + ", " + r.sectors
                    + " sectors; now " + now.identity() + ", " + now.sectors() + " sectors" + h.elsewhere(now) + ")",
                    "not the file the log recorded (recorded " + r.identity + ", " + r.sectors + " sectors; now "
                            + now.identity() + ", " + now.sectors() + " sectors)");
        }
        if (r.fingerprint == null) {
            return null;
        }
        String ends = "its first and last " + LegFingerprint.SAMPLE_SECTORS * SECTOR / 1024 + " KiB";
        try {
            if (Arrays.equals(r.fingerprint, LegFingerprint.of(now.device()))) {
                return null;
            }
        } catch (IOException e) {
            if (MirrorSettings.isUriLeg(now.path())) {
                throw e;
            }
            return new Change("is the file this log recorded, but " + ends + " cannot be read to check it ("
                    + e.getMessage() + ")", ends + " could not be read to check it");
        }
        return new Change("is the file this log recorded, but " + ends + " changed while the mirror was closed "
                + "(written outside the mirror, or another file or disk in its place)", "its content changed while the "
                + "mirror was closed");
    }

    /**
     * Whether {@code device} holds, intact in either copy, the region log {@code id} of this
     * version with regions of {@code regionSectors}: a log that {@link #open} would adopt, as far
     * as can be told without the legs. Reads the header, writes nothing.
     *
     * @throws IOException if the device cannot be read
     */
    static boolean holds(BlockDevice device, UUID id, int regionSectors) throws IOException {
        Header h = readHeader(device, new BadHeader[2]);
        return h != null && h.version == VERSION && h.id.equals(id) && h.regionSectors == regionSectors;
    }

    /**
     * A leg the header records {@link LegState#FAILED}.
     *
     * @param identity the identity recorded for it
     * @param sectors  the size recorded for it
     * @param failure  why it failed, as recorded (may be null)
     * @param mirror   the mirror's size in sectors, as recorded: a leg in its place must have at least as many
     */
    record FailedLeg(String identity, long sectors, String failure, long mirror) {
    }

    /**
     * The legs that {@code device}'s header records failed, if it holds (either copy intact) region
     * log {@code id} of this version with regions of {@code regionSectors}: what {@link #open} would
     * take as failed legs when they are as recorded. Reads the header, writes nothing.
     *
     * @return the failed legs by the path they are recorded with; empty if there are none or the log is not that one
     * @throws IOException if the device cannot be read
     */
    static Map<String, FailedLeg> failedLegs(BlockDevice device, UUID id, int regionSectors) throws IOException {
        Header h = readHeader(device, new BadHeader[2]);
        if (h == null || h.version != VERSION || !h.id.equals(id) || h.regionSectors != regionSectors) {
            return Map.of();
        }
        Map<String, FailedLeg> failed = new HashMap<>();
        for (LegRecord r : h.legs) {
            if (r.state == LegState.FAILED) {
                failed.put(r.path, new FailedLeg(r.identity, r.sectors, r.failure, h.sectors));
            }
        }
        return failed;
    }

    /**
     * Reads both header copies: copy 1 at sector 0, copy 2 after it (where version 3 keeps it, or
     * where version 2 did).
     *
     * @param problems receives why each copy that was read is unusable
     * @return copy 1 if intact, else copy 2 if intact, else null
     */
    private static Header readHeader(BlockDevice device, BadHeader[] problems) throws IOException {
        long size = device.sizeInSectors();
        if (size < V2.bitmapStart()) {
            // H48-6: a log cut short is a damaged log, not a file that holds none.
            if (size > 0 && read(device, 0, (int) Math.min(size, HEADER_SECTORS)).getLong(0) == MAGIC) {
                problems[0] = new BadHeader("cut short: the file has " + size * SECTOR + " bytes, fewer than a "
                        + "region log's header and bitmap take", true, true, -1);
            }
            return null;
        }
        Header first = null;
        try {
            first = parse(read(device, 0, (int) Math.min(size, HEADER_SECTORS)));
        } catch (BadHeader e) {
            problems[0] = e;
        }
        if (first != null) {
            return first;
        }
        boolean v2 = problems[0].version == V2.version;
        BadHeader second = null;
        if (!v2 && size >= CURRENT.bitmapStart()) {
            try {
                return parse(read(device, HEADER_SECTORS, HEADER_SECTORS));
            } catch (BadHeader e) {
                second = e;
            }
        }
        if (second == null || !second.magic) {
            // Copy 2 of a version 2 log, whose copy 1 is damaged: it is not formattable if intact.
            try {
                return parse(read(device, V2.headerSectors, V2.headerSectors));
            } catch (BadHeader e) {
                if (e.magic || second == null) {
                    second = e;
                }
            }
        }
        problems[1] = second;
        return null;
    }

    /**
     * Refuses a log file that holds a snapshot's COW store (its header): it has no region log
     * header, so format would overwrite it, but it is a kcopyd file, and never a region log.
     */
    private static void refuseCowStore(BlockDevice device) throws IOException {
        KcopydHeaders.Header store = KcopydHeaders.find(device, KcopydHeaders.Kind.COW_STORE);
        if (store != null) {
            throw new IllegalArgumentException(device.name() + " holds " + store.describe() + ", not a region log; a "
                    + "kcopyd COW store is never made a region log, not even with " + Mirror.CONFIG_FORMAT + "=true "
                    + "(--format), so nothing was written: name another file for the region log, or, if that store is "
                    + "no longer wanted, delete " + device.name() + " yourself (or " + store.erasure() + ")");
        }
    }

    /**
     * Refuses, before anything is written, a leg among {@code indices} (the legs a new log, or a
     * log that does not record them as they are, would resync) that holds a kcopyd COW store or
     * region log header: as leg 0 it would be copied over the other legs and written by the
     * mirror, as another leg overwritten by the resync. A leg recorded as it is keeps its place
     * (a mirror may hold a COW store that a snapshot keeps on it). A leg whose header sectors
     * cannot be read is left to the mirror's error handling.
     *
     * @throws IllegalArgumentException naming the leg, its file, what it holds and what to do
     */
    private static void refuseKcopydLegs(Geometry g, List<Integer> indices) {
        for (int i : indices) {
            Leg leg = g.legs.get(i);
            List<KcopydHeaders.Header> found;
            try {
                found = KcopydHeaders.read(leg.device());
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "mirror '" + g.mirror + "': leg " + i + " " + leg.path()
                        + ": its first sectors cannot be read to tell whether it holds a kcopyd COW store or region "
                        + "log (" + e.getMessage() + ")");
                continue;
            }
            if (!found.isEmpty()) {
                KcopydHeaders.Header h = found.get(0);
                String store = h.kind() == KcopydHeaders.Kind.COW_STORE ? "store" : "log";
                throw new IllegalArgumentException("leg " + i + " " + leg.path() + " holds " + h.describe() + "; a "
                        + "kcopyd COW store or region log is never a mirror leg (" + (i == 0 ? "leg 0 is copied over the "
                        + "other legs and written by the mirror" : "the resync would overwrite it") + "), so nothing was "
                        + "written: name another file, or, if that " + store + " is no longer wanted, delete "
                        + leg.path() + " yourself (or " + h.erasure() + ")");
            }
        }
    }

    /** A new log takes the identity the configuration chose, if any, so that the same configuration adopts it. */
    static UUID newId(Geometry g) {
        return g.id != null ? g.id : UUID.randomUUID();
    }

    /** @return whether a header copy that failed holds nothing format may not overwrite (null: not read) */
    private static boolean formattable(BadHeader problem) {
        return problem == null || problem.formattable;
    }

    private static String copies(BadHeader[] problems) {
        return "copy 1: " + (problems[0] == null ? "not read" : problems[0].getMessage()) + "; copy 2: "
                + (problems[1] == null ? "not read" : problems[1].getMessage());
    }

    private static void checkSize(BlockDevice device, Geometry g) {
        long regions = MirrorVolume.regionsOf(g.sectors, g.regionSectors);
        if (device.sizeInSectors() < sizeInSectors(regions)) {
            throw new IllegalArgumentException("region log " + device.name() + " has " + device.sizeInSectors()
                    + " sectors, " + sizeInSectors(regions) + " are needed for " + regions + " regions");
        }
    }

    private void loadBitmap() throws IOException {
        ByteBuffer bitmap = read(device, BITMAP_START, (int) (sizeInSectors(regions) - BITMAP_START));
        dirty.or(BitSet.valueOf(bitmap));
        // Bits past the last region mean nothing: a damaged bitmap sector may have set them.
        dirty.clear((int) regions, Math.max((int) regions, dirty.length()));
        toEveryLeg.or(dirty);
    }

    private static ByteBuffer read(BlockDevice device, long sector, int count) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(count * SECTOR).order(ByteOrder.LITTLE_ENDIAN);
        BlockIo.await(device.read(sector, b));
        return b.clear();
    }

    private void writeSectors(long sector, ByteBuffer b) throws IOException {
        BlockIo.await(device.write(sector, b.clear()));
        BlockIo.await(device.flush());
    }

    private synchronized void writeHeader() throws IOException {
        Layout l = CURRENT;
        ByteBuffer h = ByteBuffer.allocate(l.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        h.putLong(0, MAGIC).putInt(8, VERSION).putInt(12, regionSectors).putLong(16, regions).putInt(24, legs.size());
        h.putLong(32, id.getMostSignificantBits()).putLong(40, id.getLeastSignificantBits()).putLong(48, sectors);
        byte[] name = mirror.getBytes(StandardCharsets.UTF_8);
        int nameLength = Math.min(name.length, NAME_BYTES);
        h.putInt(56, nameLength).put(60, name, 0, nameLength);
        int trackedMask = 0;
        for (int i = 0; i < legs.size(); i++) {
            trackedMask |= tracked[i] ? 1 << i : 0;
        }
        h.putInt(l.trackedAt, trackedMask);
        for (int i = 0; i < legs.size(); i++) {
            int at = l.legsAt + i * l.legRecord;
            Leg leg = legs.get(i);
            byte[] path = leg.path().getBytes(StandardCharsets.UTF_8);
            if (path.length > Mirror.MAX_LEG_PATH_BYTES) {
                throw new IOException("leg path " + leg.path() + " is " + path.length + " bytes long, at most "
                        + Mirror.MAX_LEG_PATH_BYTES);
            }
            h.putInt(at, states[i].ordinal()).putInt(at + 4, path.length).put(at + PATH_AT, path);
            byte[] identity = leg.identity().getBytes(StandardCharsets.UTF_8);
            h.putLong(at + l.sectorsAt, leg.sectors()).putInt(at + l.identityAt, identity.length)
                    .put(at + l.identityAt + 4, identity);
            if (fingerprints[i] != null) {
                h.putInt(at + l.fingerprintAt, 1).put(at + l.fingerprintAt + 4, fingerprints[i]);
            }
            if (failures[i] != null) {
                byte[] failure = failures[i].getBytes(StandardCharsets.UTF_8);
                int n = Math.min(failure.length, l.failureBytes());
                h.putInt(at + l.failureAt, n).put(at + l.failureAt + 4, failure, 0, n);
            }
        }
        h.putInt(CRC_AT, crc(h));
        writeSectors(0, h);
        writeSectors(HEADER_SECTORS, h);
    }

    /** The CRC-32C of a whole header copy, its own field counted as zero. */
    private static int crc(ByteBuffer header) {
        CRC32C crc = new CRC32C();
        ByteBuffer b = header.duplicate().clear();
        b.limit(CRC_AT);
        crc.update(b);
        crc.update(new byte[4]);
        b.limit(b.capacity()).position(CRC_AT + 4);
        crc.update(b);
        return (int) crc.getValue();
    }

    /** @return the log's identity */
    UUID id() {
        return id;
    }

    synchronized LegState state(int leg) {
        return states[leg];
    }

    synchronized String failure(int leg) {
        return failures[leg];
    }

    /** Records the leg's state, durably; a leg that leaves RESYNCING is no longer tracked. */
    synchronized void setState(int leg, LegState state, String failure) throws IOException {
        states[leg] = state;
        failures[leg] = failure;
        tracked[leg] &= state == LegState.RESYNCING;
        writeHeader();
    }

    /**
     * Records the legs' fingerprints, to be checked at the next open: only when nothing writes
     * the legs any more (the mirror closed, every write and resync copy drained).
     *
     * @param legFingerprints each leg's {@link LegFingerprint}, or null for a leg not to check (failed, unreadable)
     */
    synchronized void closedCleanly(byte[][] legFingerprints) throws IOException {
        System.arraycopy(legFingerprints, 0, fingerprints, 0, fingerprints.length);
        writeHeader();
    }

    /**
     * @return whether the region's resync copies to every leg not failed (its bit was set when the log was
     *         opened: a crash may have left its legs differing), not only to the legs being resynced
     */
    synchronized boolean toEveryLeg(long region) {
        return toEveryLeg.get((int) region);
    }

    synchronized List<Long> dirtyRegions() {
        List<Long> list = new ArrayList<>();
        for (int r = dirty.nextSetBit(0); r >= 0; r = dirty.nextSetBit(r + 1)) {
            list.add((long) r);
        }
        return list;
    }

    /**
     * A write to the region begins: sets its bit, durably, if it is not set yet, and counts the
     * write until {@link #writeDone}. Counted here, under the log's lock, so that a write that
     * begins as the region's last one ends is either counted before that one looks (which then
     * leaves the bit set) or finds the bit cleared and sets it again before it reaches the legs.
     * A region waiting for its bit to be cleared ({@link #takeBatch}) leaves that batch: the legs'
     * flush may come before this write reaches them, so only a later batch may clear it.
     */
    synchronized void markDirty(long region) throws IOException {
        int r = (int) region;
        cleanPending.clear(r);
        cleaning.clear(r);
        if (!dirty.get(r)) {
            dirty.set(r);
            try {
                writeBitmapSector(region);
                BlockIo.await(device.flush());
            } catch (IOException e) {
                // Not known to be set on disk: the next write must try again.
                dirty.clear(r);
                throw e;
            }
        }
        writers.merge(region, 1, Integer::sum);
    }

    /**
     * A write counted by {@link #markDirty} has completed on every leg. Nothing is written here:
     * the region's bit may be cleared only once that write is durable on every leg, which the
     * {@link RegionCleaner} ensures before it clears the bit ({@link #takeBatch}, {@link #clearBatch}).
     *
     * @param resyncFree the region is not waiting for a resync (which clears it when done): if no
     *                   other write is in the region, it waits for its bit to be cleared
     * @return true if the region now waits for its bit to be cleared
     */
    synchronized boolean writeDone(long region, boolean resyncFree) {
        if (writers.merge(region, -1, Integer::sum) == 0) {
            writers.remove(region);
            if (resyncFree && dirty.get((int) region)) {
                cleanPending.set((int) region);
                return true;
            }
        }
        return false;
    }

    /**
     * For the resync: the region is copied; its bit waits to be cleared by the next batch, unless
     * a write is in the region (its {@link #writeDone} lets it wait then).
     *
     * @return true if the region waits for its bit to be cleared
     */
    synchronized boolean cleanLater(long region) {
        if (dirty.get((int) region) && !writers.containsKey(region)) {
            cleanPending.set((int) region);
            return true;
        }
        return false;
    }

    /**
     * Takes the regions waiting for their bits to be cleared into a batch. Every write counted in
     * them has completed on the legs before this call; the caller flushes the legs after it, then
     * calls {@link #clearBatch} (or {@link #dropBatch} if a flush failed).
     *
     * @return true if the batch holds a region
     */
    synchronized boolean takeBatch() {
        cleaning.or(cleanPending);
        cleanPending.clear();
        return !cleaning.isEmpty();
    }

    /**
     * The legs were flushed after {@link #takeBatch}: clears the bits of the batch's regions that
     * no write entered since, writing each bitmap sector that changed once and flushing the log
     * once.
     *
     * @return the number of regions cleared
     * @throws IOException if the bitmap could not be written (the bits may still be set on disk,
     *                     which is safe: those regions are resynced after a crash)
     */
    synchronized int clearBatch() throws IOException {
        BitSet sectors = new BitSet();
        int cleared = 0;
        for (int r = cleaning.nextSetBit(0); r >= 0; r = cleaning.nextSetBit(r + 1)) {
            if (dirty.get(r) && !writers.containsKey((long) r)) {
                dirty.clear(r);
                sectors.set(r / (SECTOR * 8));
                cleared++;
            }
        }
        cleaning.clear();
        if (cleared == 0) {
            return 0;
        }
        for (int s = sectors.nextSetBit(0); s >= 0; s = sectors.nextSetBit(s + 1)) {
            BlockIo.await(device.write(BITMAP_START + s, bitmapSector(s)));
        }
        BlockIo.await(device.flush());
        return cleared;
    }

    /** A leg's flush failed after {@link #takeBatch}: the batch's regions stay dirty, resynced at the next start. */
    synchronized void dropBatch() {
        cleaning.clear();
    }

    /** @return the regions waiting for their bits to be cleared, in a batch or not yet (for tests and status) */
    synchronized int regionsToClean() {
        BitSet all = (BitSet) cleanPending.clone();
        all.or(cleaning);
        return all.cardinality();
    }

    private void writeBitmapSector(long region) throws IOException {
        int sectorIndex = (int) (region / (SECTOR * 8));
        BlockIo.await(device.write(BITMAP_START + sectorIndex, bitmapSector(sectorIndex)));
    }

    /** @return bitmap sector {@code sectorIndex} as {@link #dirty} holds it */
    private ByteBuffer bitmapSector(int sectorIndex) {
        ByteBuffer b = ByteBuffer.allocate(SECTOR);
        byte[] bits = dirty.get(sectorIndex * SECTOR * 8, (sectorIndex + 1) * SECTOR * 8).toByteArray();
        b.put(bits, 0, Math.min(bits.length, SECTOR));
        return b.clear();
    }

    /**
     * One leg as a header records it (a version 2 header records no identity nor size: null and
     * 0); its fingerprint is null unless the mirror closed cleanly; tracked if the bitmap tracks
     * its full resync.
     */
    private record LegRecord(String path, LegState state, String failure, String identity, long sectors,
            byte[] fingerprint, boolean tracked) {
        @Override
        public String toString() {
            return path + " " + state;
        }
    }

    /**
     * Where a header version keeps its fields: the copy's size and the offsets in a leg record
     * (-1: the version does not record it).
     */
    private record Layout(int version, int headerSectors, int trackedAt, int legsAt, int legRecord, int sectorsAt,
            int identityAt, int fingerprintAt, int failureAt) {
        int bytes() {
            return headerSectors * SECTOR;
        }

        int bitmapStart() {
            return 2 * headerSectors;
        }

        int failureBytes() {
            return legRecord - failureAt - 4;
        }
    }

    /** A header copy that is intact: its magic, version, checksum and fields are sound. */
    private record Header(int version, UUID id, String mirror, int regionSectors, long regions, long sectors,
            List<LegRecord> legs) {

        /** @return the record of the leg at {@code path}, or null if it records none */
        LegRecord record(String path) {
            return legs.stream().filter(r -> r.path.equals(path)).findFirst().orElse(null);
        }

        /** @return where else the header records a file, e.g. "; it is the file recorded as /b.img, RESYNCING" */
        String elsewhere(Leg now) {
            return legs.stream().filter(r -> !r.path.equals(now.path()) && now.is(r.identity))
                    .map(r -> "; it is the file recorded as " + r.path + ", " + r.state).findFirst().orElse("");
        }

        /** @return e.g. "regions of 1024 sectors, a mirror of 8192 sectors, legs [/a.img IN_SYNC, /b.img FAILED]" */
        String describe() {
            return "regions of " + regionSectors + " sectors, a mirror of " + sectors + " sectors, legs " + legs;
        }
    }

    /**
     * @param copy a header copy, as long as the longest version's, or shorter if the file is
     * @return the header, if the copy is intact
     * @throws BadHeader why it is not
     */
    private static Header parse(ByteBuffer copy) throws BadHeader {
        if (copy.getLong(0) != MAGIC) {
            throw new BadHeader("no region log header", false, true, -1);
        }
        int version = copy.getInt(8);
        if (version > VERSION) {
            // Its layout is unknown, so its checksum cannot be checked: a kcopyd magic number is no accident.
            throw new BadHeader("version " + version + ", newer than this kcopyd reads (version " + VERSION + ")",
                    true, false, version);
        }
        if (version < V2.version) {
            throw new BadHeader("version " + version + ", this kcopyd reads version " + VERSION, true, true, version);
        }
        Layout l = version == VERSION ? CURRENT : V2;
        if (copy.capacity() < l.bytes()) {
            throw new BadHeader("version " + version + " cut short at " + copy.capacity() + " bytes", true, true,
                    version);
        }
        ByteBuffer b = copy.slice(0, l.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(CRC_AT) != crc(b)) {
            throw new BadHeader("checksum mismatch", true, true, version);
        }
        UUID id = new UUID(b.getLong(32), b.getLong(40));
        int regionSectors = b.getInt(12);
        long regions = b.getLong(16);
        int legCount = b.getInt(24);
        long sectors = b.getLong(48);
        int nameLength = b.getInt(56);
        if (Integer.bitCount(regionSectors) != 1 || regionSectors < Mirror.MIN_REGION_SECTORS
                || regionSectors > Mirror.MAX_REGION_SECTORS || sectors < 1
                || regions != MirrorVolume.regionsOf(sectors, regionSectors) || legCount < 1
                || legCount > Mirror.MAX_LEGS || nameLength < 0 || nameLength > NAME_BYTES) {
            throw new BadHeader("inconsistent geometry under a correct checksum (" + regions + " regions of "
                    + regionSectors + " sectors, " + sectors + " sectors, " + legCount + " legs; "
                    + Mirror.CONFIG_REGION_LOG_ID + " " + id + ")", true, false, version);
        }
        int trackedMask = l.trackedAt >= 0 ? b.getInt(l.trackedAt) : 0;
        if ((trackedMask & ~((1 << legCount) - 1)) != 0) {
            throw new BadHeader("inconsistent mask of tracked resyncs " + Integer.toBinaryString(trackedMask)
                    + " for " + legCount + " legs under a correct checksum (" + Mirror.CONFIG_REGION_LOG_ID + " " + id
                    + ")", true, false, version);
        }
        List<LegRecord> legs = new ArrayList<>();
        for (int i = 0; i < legCount; i++) {
            int at = l.legsAt + i * l.legRecord;
            int state = b.getInt(at);
            int pathLength = b.getInt(at + 4);
            int failureLength = b.getInt(at + l.failureAt);
            boolean identities = l.identityAt >= 0;
            int identityLength = identities ? b.getInt(at + l.identityAt) : 1;
            long legSectors = identities ? b.getLong(at + l.sectorsAt) : sectors;
            int fingerprinted = l.fingerprintAt >= 0 ? b.getInt(at + l.fingerprintAt) : 0;
            boolean legTracked = (trackedMask & 1 << i) != 0;
            if (state < 0 || state >= LegState.values().length
                    || legTracked && state != LegState.RESYNCING.ordinal() || pathLength < 1
                    || pathLength > Mirror.MAX_LEG_PATH_BYTES || failureLength < 0 || failureLength > l.failureBytes()
                    || identityLength < 1 || identityLength > MAX_IDENTITY_BYTES || legSectors < sectors
                    || fingerprinted < 0 || fingerprinted > 1) {
                throw new BadHeader("inconsistent record of leg " + i + " under a correct checksum ("
                        + Mirror.CONFIG_REGION_LOG_ID + " " + id + ")", true, false, version);
            }
            legs.add(new LegRecord(string(b, at + PATH_AT, pathLength), LegState.values()[state],
                    failureLength == 0 ? null : string(b, at + l.failureAt + 4, failureLength),
                    identities ? string(b, at + l.identityAt + 4, identityLength) : null, identities ? legSectors : 0,
                    fingerprinted == 1 ? bytes(b, at + l.fingerprintAt + 4, LegFingerprint.BYTES) : null,
                    legTracked));
        }
        return new Header(version, id, string(b, 60, nameLength), regionSectors, regions, sectors, legs);
    }

    private static String string(ByteBuffer b, int at, int length) {
        return new String(bytes(b, at, length), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(ByteBuffer b, int at, int length) {
        byte[] bytes = new byte[length];
        b.get(at, bytes);
        return bytes;
    }

    /** Why a header copy cannot be used. */
    private static final class BadHeader extends Exception {
        private static final long serialVersionUID = 1L;
        /** The copy starts with kcopyd's region log magic number. */
        final boolean magic;
        /** The copy is no kcopyd region log this or a newer kcopyd wrote, so format may overwrite it. */
        final boolean formattable;
        /** The version the copy claims, or -1 without the magic number. */
        final int version;

        BadHeader(String reason, boolean magic, boolean formattable, int version) {
            super(reason);
            this.magic = magic;
            this.formattable = formattable;
            this.version = version;
        }
    }
}
