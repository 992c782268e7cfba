package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.BlockIo;
import org.kcopyd.mirror.LegState;

/**
 * The mirror's persistent log (dm-raid1's disk log): a header recording each leg's path and
 * state, then one bit per region, set (durably) before the first write to a region and cleared
 * when its writes have completed on every leg. After a crash, only set regions need a resync;
 * a leg whose path is not in the header (added or replaced) needs a full one.
 *
 * <p>Header (16 sectors): magic, version, region size, region count, leg count, then per leg a
 * 256-byte record: state, path, failure reason. Bitmap from sector 16.
 */
final class RegionLog {

    static final long MAGIC = 0x4b4350594d49524cL;
    static final int MAX_LEGS = 16;
    private static final int VERSION = 1;
    private static final int SECTOR = BlockDevice.SECTOR_SIZE;
    private static final int HEADER_SECTORS = 16;
    private static final int LEG_RECORD = 256;

    private final BlockDevice device;
    private final int regionSectors;
    private final long regions;
    private final List<String> paths;
    private final LegState[] states;
    private final String[] failures;
    private final BitSet dirty = new BitSet();
    private final boolean recovered;

    private RegionLog(BlockDevice device, int regionSectors, long regions, List<String> paths, boolean recovered) {
        this.device = device;
        this.regionSectors = regionSectors;
        this.regions = regions;
        this.paths = List.copyOf(paths);
        this.states = new LegState[paths.size()];
        this.failures = new String[paths.size()];
        this.recovered = recovered;
    }

    /** @return the sectors a log for {@code regions} regions needs */
    static long sizeInSectors(long regions) {
        return HEADER_SECTORS + (regions + SECTOR * 8 - 1) / (SECTOR * 8);
    }

    /**
     * Opens the log: a new one makes leg 0 the in-sync default leg and every other leg resync
     * fully; an existing one keeps the states of legs it knows and its dirty regions.
     */
    static RegionLog open(BlockDevice device, List<String> legPaths, int regionSectors, long regions)
            throws IOException {
        if (legPaths.size() > MAX_LEGS) {
            throw new IOException(legPaths.size() + " legs given, a mirror has at most " + MAX_LEGS);
        }
        if (device.sizeInSectors() < sizeInSectors(regions)) {
            throw new IOException("region log " + device.name() + " has " + device.sizeInSectors()
                    + " sectors, " + sizeInSectors(regions) + " are needed for " + regions + " regions");
        }
        ByteBuffer header = read(device, 0, HEADER_SECTORS);
        boolean existing = header.getLong(0) == MAGIC;
        RegionLog log = new RegionLog(device, regionSectors, regions, legPaths, existing);
        if (existing) {
            log.load(header);
        } else {
            for (int i = 0; i < legPaths.size(); i++) {
                log.states[i] = i == 0 ? LegState.IN_SYNC : LegState.RESYNCING;
            }
        }
        log.writeHeader();
        return log;
    }

    private void load(ByteBuffer header) throws IOException {
        if (header.getInt(8) != VERSION) {
            throw new IOException(device.name() + " has region log version " + header.getInt(8));
        }
        int storedRegionSectors = header.getInt(12);
        long storedRegions = header.getLong(16);
        if (storedRegionSectors != regionSectors || storedRegions != regions) {
            throw new IOException("region log " + device.name() + " describes " + storedRegions + " regions of "
                    + storedRegionSectors + " sectors, not " + regions + " of " + regionSectors);
        }
        int storedLegs = header.getInt(24);
        for (int i = 0; i < paths.size(); i++) {
            states[i] = LegState.RESYNCING;
            for (int j = 0; j < storedLegs; j++) {
                int at = 64 + j * LEG_RECORD;
                int pathLength = header.getInt(at + 4);
                byte[] path = new byte[pathLength];
                header.get(at + 8, path);
                if (paths.get(i).equals(new String(path, StandardCharsets.UTF_8))) {
                    states[i] = LegState.values()[header.getInt(at)];
                    int failureLength = header.getInt(at + 200);
                    if (failureLength > 0) {
                        byte[] failure = new byte[failureLength];
                        header.get(at + 204, failure);
                        failures[i] = new String(failure, StandardCharsets.UTF_8);
                    }
                }
            }
        }
        ByteBuffer bitmap = read(device, HEADER_SECTORS, (int) (sizeInSectors(regions) - HEADER_SECTORS));
        dirty.or(BitSet.valueOf(bitmap));
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
        ByteBuffer h = ByteBuffer.allocate(HEADER_SECTORS * SECTOR).order(ByteOrder.LITTLE_ENDIAN);
        h.putLong(0, MAGIC).putInt(8, VERSION).putInt(12, regionSectors).putLong(16, regions).putInt(24, paths.size());
        for (int i = 0; i < paths.size(); i++) {
            int at = 64 + i * LEG_RECORD;
            byte[] path = paths.get(i).getBytes(StandardCharsets.UTF_8);
            if (path.length > 190) {
                throw new IOException("leg path " + paths.get(i) + " is longer than 190 bytes");
            }
            h.putInt(at, states[i].ordinal()).putInt(at + 4, path.length).put(at + 8, path);
            if (failures[i] != null) {
                byte[] failure = failures[i].getBytes(StandardCharsets.UTF_8);
                int n = Math.min(failure.length, LEG_RECORD - 204);
                h.putInt(at + 200, n).put(at + 204, failure, 0, n);
            }
        }
        writeSectors(0, h);
    }

    /** @return true if the log existed before (so its dirty regions need a resync) */
    boolean recovered() {
        return recovered;
    }

    synchronized LegState state(int leg) {
        return states[leg];
    }

    synchronized String failure(int leg) {
        return failures[leg];
    }

    synchronized void setState(int leg, LegState state, String failure) throws IOException {
        states[leg] = state;
        failures[leg] = failure;
        writeHeader();
    }

    synchronized List<Long> dirtyRegions() {
        List<Long> list = new ArrayList<>();
        for (int r = dirty.nextSetBit(0); r >= 0; r = dirty.nextSetBit(r + 1)) {
            list.add((long) r);
        }
        return list;
    }

    /** Sets the region's bit, durably, if it is not set yet. */
    synchronized void markDirty(long region) throws IOException {
        if (!dirty.get((int) region)) {
            dirty.set((int) region);
            writeBitmapSector(region);
        }
    }

    /** Clears the region's bit, durably. */
    synchronized void markClean(long region) throws IOException {
        if (dirty.get((int) region)) {
            dirty.clear((int) region);
            writeBitmapSector(region);
        }
    }

    private void writeBitmapSector(long region) throws IOException {
        long sectorIndex = region / (SECTOR * 8);
        ByteBuffer b = ByteBuffer.allocate(SECTOR);
        byte[] bits = dirty.get((int) (sectorIndex * SECTOR * 8), (int) ((sectorIndex + 1) * SECTOR * 8)).toByteArray();
        b.put(bits, 0, Math.min(bits.length, SECTOR));
        writeSectors(HEADER_SECTORS + sectorIndex, b);
    }
}
