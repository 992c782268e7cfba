package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.BlockIo;
import org.kcopyd.device.DeviceIdentity;
import org.kcopyd.device.KcopydHeaders;

/**
 * The persistent exception store on a COW device: which origin chunk is held in which COW
 * chunk, as dm-snapshot's persistent store keeps it.
 *
 * <p>Layout, in chunks of {@code chunkSectors}: chunk 0 is the header (see {@link CowHeader});
 * then areas of one metadata chunk followed by E data chunks, E being the number of 16-byte
 * entries (old chunk, new chunk) a metadata chunk holds. Entry slot S always maps to the data
 * chunk {@link #dataChunk(long) dataChunk(S)}. An entry is written, in one sector, and the device
 * flushed, only after its data chunk is durable; a zero entry is a free slot. So a process killed
 * at any moment leaves a store whose entries all point at complete copies; slots that were
 * allocated but never committed are holes, skipped on load.
 *
 * <p>Only the first {@code areas} metadata areas (counted in the header) are in use: formatting
 * zeroes the first one, and an area is zeroed, then counted, when its first entry is committed.
 * So making a store costs the same whatever its size, and the entries of whatever the file held
 * before are never read.
 *
 * <p>The header also records the origin the store belongs to ({@linkplain OriginIdentity identity}
 * and path, from its making) and, while the store is closed, the origin's fingerprint as its last
 * snapshot left it: {@link CowStoreOpener} adopts the store only with that origin.
 *
 * <p>Opening checks every entry (it must map an origin chunk inside the origin to its own slot's
 * data chunk, each origin chunk once); an inconsistent store is loaded {@linkplain #isValid()
 * invalid} with the reason, and nothing is written to it.
 *
 * <p>Thread-safe: mutations are serialized; lookups are lock-free.
 */
final class CowStore {

    private static final int SECTOR = BlockDevice.SECTOR_SIZE;
    private static final int ENTRY = 16;

    private final BlockDevice device;
    private final int chunkSectors;
    private final int perArea;
    private final long totalChunks;
    private final long originSectors;
    private final UUID id;
    /** The origin's identity and path as recorded in the header. Guarded by this. */
    private String originId;
    private String originPath;
    /** The origin's fingerprint when the store was last closed; null while it is open. Guarded by this. */
    private byte[] originSeen;
    /**
     * The snapshot's view's fingerprint (its samples as the snapshot shows them, see
     * {@link OriginIdentity#viewSamples}), recorded when it opened; null if none, or once the snapshot
     * was written there. Written under this; read without it to skip a drop already made.
     */
    private volatile byte[] viewSeen;
    private final Map<Long, Long> chunks = new ConcurrentHashMap<>();
    private final Map<Long, Long> slots = new ConcurrentHashMap<>();
    private long nextSlot;
    /** Metadata areas in use (zeroed and counted in the header). Guarded by this. */
    private long areas;
    private volatile boolean valid = true;
    private volatile boolean merging;
    private volatile String invalidReason;

    /** @throws IllegalArgumentException if the device is too small for a store of that chunk size */
    private CowStore(BlockDevice device, int chunkSectors, long originSectors, UUID id) {
        this.device = device;
        this.chunkSectors = chunkSectors;
        this.perArea = chunkSectors * SECTOR / ENTRY;
        this.totalChunks = device.sizeInSectors() / chunkSectors;
        this.originSectors = originSectors;
        this.id = id;
        if (totalChunks < 3) {
            throw new IllegalArgumentException("COW store " + device.name() + " holds " + totalChunks + " chunks of "
                    + chunkSectors + " sectors; at least 3 are needed");
        }
    }

    /**
     * Makes a new, empty store on {@code device}, whatever it held: the header is cleared first,
     * then the first metadata area zeroed, then the new header written, each step flushed, so an
     * interrupted format leaves no header (a store nobody adopts), never a header over old entries.
     *
     * @param originId   the origin's {@linkplain OriginIdentity identity}
     * @param originPath the origin's path, for messages
     * @throws IllegalArgumentException if the device is too small (nothing is written then)
     * @throws IOException if the device cannot be written
     */
    static CowStore format(BlockDevice device, int chunkSectors, long originSectors, UUID id, String originId,
            String originPath) throws IOException {
        CowStore store = new CowStore(device, chunkSectors, originSectors, id);
        synchronized (store) {
            store.originId = originId;
            store.originPath = originPath;
            store.writeSector(0, ByteBuffer.allocate(SECTOR));
            store.zeroArea(0);
            store.areas = 1;
            store.writeHeader();
        }
        return store;
    }

    /**
     * Reads the header of whatever is on {@code device}, writing nothing.
     *
     * @throws IOException if the device cannot be read
     */
    static CowHeader readHeader(BlockDevice device) throws IOException {
        if (device.sizeInSectors() < 1) {
            // Not "empty": a store truncated to its first bytes is not empty, and the user should know it.
            return CowHeader.unusable("it is shorter than one sector of " + SECTOR + " bytes, so it holds no COW store "
                    + "header");
        }
        ByteBuffer b = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
        BlockIo.await(device.read(0, b));
        return CowHeader.parse(b.clear());
    }

    /**
     * Opens the existing store whose header is {@code header}, which the caller has matched
     * ({@link CowHeader#mismatch}) against the identity, chunk size and origin size it expects.
     * Writes nothing; an inconsistent store comes back invalid with the reason.
     *
     * @throws IllegalArgumentException if the device is too small
     * @throws IOException if the device cannot be read
     */
    static CowStore adopt(BlockDevice device, CowHeader header) throws IOException {
        CowStore store = new CowStore(device, header.chunkSectors(), header.originSectors(), header.id());
        store.load(header);
        return store;
    }

    /**
     * Opens the existing store whose header is {@code header}, which the caller has matched
     * against everything it expects, including the origin, to be used now: if it is valid, its
     * header from now on records {@code originId} and {@code originPath} (when the user confirmed
     * another identity, or the store was made by a version that recorded none) and no fingerprint
     * (the origin is about to change), in one header write. An invalid or inconsistent store is
     * left exactly as it was found.
     *
     * @throws IllegalArgumentException if the device is too small
     * @throws IOException if the device cannot be read or written
     */
    static CowStore adopt(BlockDevice device, CowHeader header, String originId, String originPath)
            throws IOException {
        CowStore store = adopt(device, header);
        synchronized (store) {
            if (store.valid && (!originId.equals(store.originId) || store.originSeen != null)) {
                if (!originId.equals(store.originId)) {
                    store.originId = originId;
                    store.originPath = originPath;
                }
                store.originSeen = null;
                store.writeHeader();
            }
        }
        return store;
    }

    private void load(CowHeader header) throws IOException {
        originId = header.originId();
        originPath = header.originPath();
        originSeen = header.originSeen();
        viewSeen = header.viewSeen();
        valid = header.valid();
        merging = header.merging();
        invalidReason = header.invalidReason();
        long inDevice = (totalChunks - 1 + perArea) / (perArea + 1L);
        String problem = null;
        if (header.areas() < 1 || header.areas() > inDevice) {
            problem = "its header counts " + header.areas() + " metadata areas in use, the store has room for "
                    + inDevice;
        }
        Map<Long, Long> slotOf = new java.util.HashMap<>();
        for (long area = 0; problem == null && area < header.areas(); area++) {
            ByteBuffer meta = readSectors(metadataChunk(area) * chunkSectors, chunkSectors);
            for (int i = 0; problem == null && i < perArea; i++) {
                long slot = area * perArea + i;
                long oldChunk = meta.getLong(i * ENTRY);
                long newChunk = meta.getLong(i * ENTRY + 8);
                if (oldChunk == 0 && newChunk == 0) {
                    continue;
                }
                problem = checkEntry(slot, oldChunk, newChunk, slotOf);
                if (problem == null) {
                    slotOf.put(oldChunk, slot);
                    chunks.put(oldChunk, newChunk);
                    slots.put(oldChunk, slot);
                    nextSlot = slot + 1;
                }
            }
        }
        areas = header.areas();
        if (problem != null) {
            chunks.clear();
            slots.clear();
            nextSlot = 0;
            if (valid) {
                // Not written to the header: an inconsistent store is left exactly as it was found.
                valid = false;
                invalidReason = "COW store " + device.name() + " is inconsistent: " + problem;
            }
        }
    }

    /** @return why the entry in {@code slot} cannot be right, or null */
    private String checkEntry(long slot, long oldChunk, long newChunk, Map<Long, Long> slotOf) {
        String entry = "entry " + slot + " (origin chunk " + oldChunk + " -> COW chunk " + newChunk + ")";
        long originChunks = (originSectors + chunkSectors - 1) / chunkSectors;
        if (newChunk == 0) {
            return entry + " has no COW chunk";
        }
        if (newChunk < 0 || newChunk >= totalChunks) {
            return entry + " points past the store's " + totalChunks + " chunks";
        }
        if ((newChunk - 1) % (perArea + 1L) == 0) {
            return entry + " points at a metadata chunk";
        }
        if (newChunk != dataChunk(slot)) {
            return entry + " points at another slot's chunk (its own is " + dataChunk(slot) + ")";
        }
        if (oldChunk < 0 || oldChunk >= originChunks) {
            return entry + " names an origin chunk past the origin's " + originChunks + " chunks";
        }
        Long other = slotOf.get(oldChunk);
        if (other != null) {
            return entry + " holds origin chunk " + oldChunk + " again (entry " + other + " holds it too)";
        }
        return null;
    }

    private long metadataChunk(long area) {
        return 1 + area * (perArea + 1L);
    }

    /** @return the COW chunk of entry slot {@code slot} */
    long dataChunk(long slot) {
        return metadataChunk(slot / perArea) + 1 + slot % perArea;
    }

    private ByteBuffer readSectors(long sector, int count) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(count * SECTOR).order(ByteOrder.LITTLE_ENDIAN);
        BlockIo.await(device.read(sector, b));
        return b.clear();
    }

    private void writeSector(long sector, ByteBuffer b) throws IOException {
        BlockIo.await(device.write(sector, b.clear()));
        BlockIo.await(device.flush());
    }

    /** Zeroes a metadata area's entries, durably. */
    private void zeroArea(long area) throws IOException {
        BlockIo.await(device.write(metadataChunk(area) * chunkSectors, ByteBuffer.allocate(chunkSectors * SECTOR)));
        BlockIo.await(device.flush());
    }

    private synchronized void writeHeader() throws IOException {
        writeSector(0, new CowHeader(valid, merging, chunkSectors, originSectors, id, areas, invalidReason, originId,
                originPath, originSeen, null, false, viewSeen).encode());
    }

    /**
     * Records the origin's fingerprint as the snapshot closes its store, so that the next
     * adoption can tell whether the origin is still as this store left it. Only a valid store
     * that is not merging records one (an interrupted merge may still have copies landing on the
     * origin); the others are left as they are.
     *
     * @param fingerprint {@link OriginIdentity#fingerprint} of the origin, read after the snapshot
     *                    stopped taking its copies
     * @throws IOException if the header cannot be written (the store then records no fingerprint)
     */
    synchronized void close(byte[] fingerprint) throws IOException {
        if (valid && !merging) {
            originSeen = fingerprint.clone();
            writeHeader();
        }
    }

    synchronized String originId() {
        return originId;
    }

    /** @return the snapshot's view's fingerprint as recorded when it last opened, or null */
    synchronized byte[] viewSeen() {
        return viewSeen == null ? null : viewSeen.clone();
    }

    /**
     * Records the snapshot's view's fingerprint, durably: whatever happens to the process, the
     * next adoption can tell whether the origin still gives the snapshot its content there.
     *
     * @param fingerprint {@link OriginIdentity#fingerprint} of the snapshot's device, or null to
     *                    drop it before the snapshot is written there (the view changes)
     * @throws IOException if the header cannot be written
     */
    void recordView(byte[] fingerprint) throws IOException {
        if (fingerprint == null && viewSeen == null) {
            // Dropped already: every later write to the snapshot's samples comes here, without the store's lock.
            return;
        }
        synchronized (this) {
            if (!valid || java.util.Arrays.equals(viewSeen, fingerprint)) {
                return;
            }
            viewSeen = fingerprint == null ? null : fingerprint.clone();
            writeHeader();
            BlockIo.await(device.flush());
        }
    }

    synchronized String originPath() {
        return originPath;
    }

    int chunkSectors() {
        return chunkSectors;
    }

    UUID id() {
        return id;
    }

    BlockDevice device() {
        return device;
    }

    /** @return the COW chunk holding origin chunk {@code chunk}, or null if it was never copied */
    Long lookup(long chunk) {
        return chunks.get(chunk);
    }

    long used() {
        return chunks.size();
    }

    long capacity() {
        long full = (totalChunks - 1) / (perArea + 1L);
        long rest = (totalChunks - 1) % (perArea + 1L);
        return full * perArea + Math.max(0, rest - 1);
    }

    boolean isValid() {
        return valid;
    }

    boolean isMerging() {
        return merging;
    }

    String invalidReason() {
        return invalidReason;
    }

    /** @return origin chunks held, in no particular order */
    List<Long> heldChunks() {
        return new ArrayList<>(chunks.keySet());
    }

    /** @return a free slot, or -1 when the store is full */
    synchronized long allocate() {
        if (nextSlot >= capacity()) {
            return -1;
        }
        return nextSlot++;
    }

    /** Records that origin chunk {@code chunk} is held in slot {@code slot}'s data chunk, durably. */
    synchronized void commit(long chunk, long slot) throws IOException {
        while (areas <= slot / perArea) {
            // The area is zeroed before it is counted: whatever the file held there is never read as entries.
            zeroArea(areas);
            areas++;
            writeHeader();
        }
        writeEntry(slot, chunk, dataChunk(slot));
        chunks.put(chunk, dataChunk(slot));
        slots.put(chunk, slot);
    }

    /** Forgets origin chunk {@code chunk} (merged back), durably. */
    synchronized void remove(long chunk) throws IOException {
        Long slot = slots.get(chunk);
        if (slot == null) {
            return;
        }
        writeEntry(slot, 0, 0);
        chunks.remove(chunk);
        slots.remove(chunk);
    }

    private void writeEntry(long slot, long oldChunk, long newChunk) throws IOException {
        long byteInArea = (slot % perArea) * ENTRY;
        long sector = metadataChunk(slot / perArea) * chunkSectors + byteInArea / SECTOR;
        ByteBuffer b = readSectors(sector, 1);
        int at = (int) (byteInArea % SECTOR);
        b.putLong(at, oldChunk).putLong(at + 8, newChunk);
        writeSector(sector, b);
    }

    synchronized void setMerging(boolean on) throws IOException {
        merging = on;
        writeHeader();
    }

    /** Empties the store after a merge: every slot is free again. */
    synchronized void reset() throws IOException {
        for (long slot : new ArrayList<>(slots.values())) {
            writeEntry(slot, 0, 0);
        }
        chunks.clear();
        slots.clear();
        nextSlot = 0;
    }

    /** Marks the store invalid, durably if the device still takes writes. */
    synchronized void invalidate(String reason) {
        if (!valid) {
            return;
        }
        valid = false;
        invalidReason = reason;
        try {
            writeHeader();
        } catch (IOException e) {
            invalidReason = reason + " (and the COW header could not be written: " + e.getMessage() + ")";
        }
    }

    /**
     * The header sector of a COW store, little-endian: magic (8 bytes), version (4), valid (4),
     * chunk sectors (4), merging (4), origin sectors (8), identity (16: a UUID), metadata areas in
     * use (8), then the lengths (4 each) of the invalidity reason, the origin's identity and the
     * origin's path, whether an origin fingerprint follows (4), the fingerprint (16), and from
     * byte {@value #STRINGS_AT} the origin's identity, its path and the reason, in UTF-8; at the
     * end of the sector a CRC-32C of everything before it. Version 2, which knew nothing of the
     * origin, had the reason at byte 60; it is read (its origin is unknown) and rewritten as
     * version 3 when a user confirms its origin.
     *
     * <p>A header read from a file is one of three kinds: a store this bundle reads ({@link #usable()});
     * a kcopyd COW store it cannot read (a newer version, or fields that make no sense under a
     * correct checksum), which is no more formatted than a usable one; or no store at all (no magic
     * number, a version older than 2, a checksum mismatch), the only kind {@link #formattable()}.
     *
     * @param originId    the origin's {@linkplain OriginIdentity identity}, or null if the store
     *                    was made by a version that did not record it
     * @param originPath  the origin's path when its identity was recorded, for messages; null with originId
     * @param originSeen  the origin's {@linkplain OriginIdentity#fingerprint fingerprint} when the
     *                    store was last closed, or null if it is open or was not closed cleanly
     * @param problem     why the header is not a usable store, or null if it is
     * @param formattable whether format=true may overwrite the file: it holds no kcopyd COW store
     */
    record CowHeader(boolean valid, boolean merging, int chunkSectors, long originSectors, UUID id, long areas,
            String invalidReason, String originId, String originPath, byte[] originSeen, String problem,
            boolean formattable, byte[] viewSeen) {

        static final long MAGIC = KcopydHeaders.COW_STORE_MAGIC;
        static final int VERSION = 3;
        /** The oldest version read: the first with a checksum and an identity. */
        static final int OLDEST = 2;
        static final int STRINGS_AT = 88;
        /** Bytes kept of the origin's path: its end, which says the most. */
        static final int MAX_PATH = 160;
        private static final int V2_REASON_AT = 60;
        private static final int CRC_AT = SECTOR - 4;
        /**
         * Where the snapshot's view fingerprint is kept, after a mark saying it is there: the last 20
         * bytes before the checksum, which version 3's texts leave alone when it writes them (a
         * kcopyd that knows nothing of it reads the header as before, and drops it when it writes).
         */
        private static final int VIEW_AT = CRC_AT - 4 - OriginIdentity.FINGERPRINT_BYTES;
        private static final int VIEW_MARK = 0x5ee7c0de;

        CowHeader(boolean valid, boolean merging, int chunkSectors, long originSectors, UUID id, long areas,
                String invalidReason, String originId, String originPath, byte[] originSeen, String problem,
                boolean formattable) {
            this(valid, merging, chunkSectors, originSectors, id, areas, invalidReason, originId, originPath,
                    originSeen, problem, formattable, null);
        }

        CowHeader(boolean valid, boolean merging, int chunkSectors, long originSectors, UUID id, long areas,
                String invalidReason, String originId, String originPath, byte[] originSeen) {
            this(valid, merging, chunkSectors, originSectors, id, areas, invalidReason, originId, originPath,
                    originSeen, null, false);
        }

        /** @return the header of a file that holds no kcopyd COW store, for the reason given */
        static CowHeader unusable(String problem) {
            return new CowHeader(false, false, 0, 0, null, 0, null, null, null, null, problem, true);
        }

        /** @return the header of a kcopyd COW store that this bundle cannot read, for the reason given */
        private static CowHeader unreadable(String problem) {
            return new CowHeader(false, false, 0, 0, null, 0, null, null, null, null, problem, false);
        }

        static CowHeader parse(ByteBuffer h) {
            long magic = h.getLong(0);
            if (magic != MAGIC) {
                boolean zeros = true;
                for (int i = 0; i < SECTOR && zeros; i++) {
                    zeros = h.get(i) == 0;
                }
                return unusable(zeros ? "it holds no kcopyd COW store header (its first sector is zeros)"
                        : "it holds no kcopyd COW store header (no kcopyd magic number)");
            }
            int version = h.getInt(8);
            if (version > VERSION) {
                // Its layout is unknown, so its checksum cannot be checked: a kcopyd magic number is no accident.
                return unreadable("it holds a kcopyd COW store of version " + version + ", newer than this bundle "
                        + "reads (versions " + OLDEST + " to " + VERSION + ")");
            }
            if (version < OLDEST) {
                return unusable("it holds a kcopyd COW store of version " + version + "; this bundle reads versions "
                        + OLDEST + " to " + VERSION);
            }
            if (h.getInt(CRC_AT) != crc(h)) {
                return unusable("its kcopyd COW store header is damaged (checksum mismatch)");
            }
            UUID id = new UUID(h.getLong(32), h.getLong(40));
            int reasonLength = h.getInt(56);
            int idLength = version == 2 ? 0 : h.getInt(60);
            int pathLength = version == 2 ? 0 : h.getInt(64);
            int at = version == 2 ? V2_REASON_AT : STRINGS_AT;
            int seen = version == 2 ? 0 : h.getInt(68);
            String bad = null;
            if (reasonLength < 0 || reasonLength > CRC_AT - at) {
                bad = "a reason length of " + reasonLength;
            } else if (version > 2 && (idLength < 1 || idLength > DeviceIdentity.MAX_LENGTH)) {
                bad = "an origin identity length of " + idLength;
            } else if (version > 2 && (pathLength < 0 || pathLength > MAX_PATH)) {
                bad = "an origin path length of " + pathLength;
            } else if ((long) idLength + pathLength + reasonLength > CRC_AT - at) {
                bad = "texts of " + ((long) idLength + pathLength + reasonLength) + " bytes, more than its "
                        + (CRC_AT - at);
            } else if (seen != 0 && seen != 1) {
                bad = "an origin fingerprint flag of " + seen;
            }
            if (bad != null) {
                return unreadable("its kcopyd COW store header (identity " + id + ") has a correct checksum but "
                        + bad);
            }
            String originId = idLength == 0 ? null : string(h, at, idLength);
            String originPath = version == 2 ? null : string(h, at + idLength, pathLength);
            String reason = reasonLength == 0 ? null : string(h, at + idLength + pathLength, reasonLength);
            byte[] fingerprint = null;
            if (seen == 1) {
                fingerprint = new byte[OriginIdentity.FINGERPRINT_BYTES];
                h.get(72, fingerprint);
            }
            byte[] view = null;
            if (version > 2 && at + idLength + pathLength + reasonLength <= VIEW_AT && h.getInt(VIEW_AT) == VIEW_MARK) {
                view = new byte[OriginIdentity.FINGERPRINT_BYTES];
                h.get(VIEW_AT + 4, view);
            }
            return new CowHeader(h.getInt(12) == 1, h.getInt(20) == 1, h.getInt(16), h.getLong(24), id, h.getLong(48),
                    reason, originId, originPath, fingerprint, null, false, view);
        }

        private static String string(ByteBuffer h, int at, int length) {
            byte[] b = new byte[length];
            h.get(at, b);
            return new String(b, StandardCharsets.UTF_8);
        }

        /** @return the sector: version 3, or version 2 for a store of version 2 whose origin nobody confirmed */
        ByteBuffer encode() {
            ByteBuffer h = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
            h.putLong(0, MAGIC).putInt(8, originId == null ? OLDEST : VERSION).putInt(12, valid ? 1 : 0)
                    .putInt(16, chunkSectors).putInt(20, merging ? 1 : 0).putLong(24, originSectors)
                    .putLong(32, id.getMostSignificantBits()).putLong(40, id.getLeastSignificantBits())
                    .putLong(48, areas);
            if (originId == null) {
                byte[] reason = fit(invalidReason, CRC_AT - V2_REASON_AT, false);
                h.putInt(56, reason.length).put(V2_REASON_AT, reason);
                h.putInt(CRC_AT, crc(h));
                return h;
            }
            byte[] identity = originId.getBytes(StandardCharsets.UTF_8);
            byte[] path = fit(originPath, MAX_PATH, true);
            byte[] reason = fit(invalidReason, VIEW_AT - STRINGS_AT - identity.length - path.length, false);
            h.putInt(56, reason.length).putInt(60, identity.length).putInt(64, path.length);
            if (originSeen != null) {
                h.putInt(68, 1).put(72, originSeen);
            }
            h.put(STRINGS_AT, identity).put(STRINGS_AT + identity.length, path)
                    .put(STRINGS_AT + identity.length + path.length, reason);
            if (viewSeen != null) {
                h.putInt(VIEW_AT, VIEW_MARK).put(VIEW_AT + 4, viewSeen);
            }
            h.putInt(CRC_AT, crc(h));
            return h;
        }

        /**
         * @return {@code text} in UTF-8, cut to at most {@code max} bytes at a character boundary:
         *         its end kept behind "..." if {@code keepEnd}, else its start
         */
        static byte[] fit(String text, int max, boolean keepEnd) {
            if (text == null) {
                return new byte[0];
            }
            String cut = text;
            while (cut.getBytes(StandardCharsets.UTF_8).length > max) {
                cut = keepEnd ? "..." + cut.substring(Math.min(cut.length(), cut.startsWith("...") ? 4 : 1))
                        : cut.substring(0, cut.length() - 1);
            }
            return cut.getBytes(StandardCharsets.UTF_8);
        }

        private static int crc(ByteBuffer h) {
            CRC32C crc = new CRC32C();
            crc.update(h.duplicate().position(0).limit(CRC_AT));
            return (int) crc.getValue();
        }

        /** @return whether this is a kcopyd COW store header this bundle reads */
        boolean usable() {
            return problem == null;
        }

        /**
         * @return why this store is not the one expected, or null if it is: the identity, chunk size
         *         and origin size must all match
         */
        String mismatch(UUID expectedId, int expectedChunkSectors, long expectedOriginSectors) {
            if (problem != null) {
                return problem;
            }
            if (!id.equals(expectedId)) {
                return "it is another COW store, " + describe();
            }
            if (chunkSectors != expectedChunkSectors) {
                return "it was made with chunks of " + chunkSectors + " sectors, not the configured "
                        + expectedChunkSectors;
            }
            if (originSectors != expectedOriginSectors) {
                return "it belongs to an origin of " + originSectors + " sectors, not " + expectedOriginSectors;
            }
            return null;
        }

        /** @return e.g. "kcopyd COW store 0f8f...: origin of 8192 sectors, chunks of 16 sectors" */
        String describe() {
            return problem != null ? problem : "kcopyd COW store " + id + " (origin of " + originSectors
                    + " sectors, chunks of " + chunkSectors + " sectors)";
        }
    }
}
