package org.kcopyd.nbd.internal.client;

import java.util.ArrayList;
import java.util.List;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;
import org.kcopyd.nbd.internal.protocol.ChunkPayloads;
import org.kcopyd.nbd.internal.protocol.Nbd;

/**
 * A server's {@code base:allocation} extents as the {@link BlockDevice#extents} answer: a run
 * reads as zeros only where the server says {@code NBD_STATE_ZERO} ({@link Extent.Type#HOLE} with
 * {@code NBD_STATE_HOLE} too, {@link Extent.Type#ZERO} without); {@code NBD_STATE_HOLE} alone is
 * unallocated but of unknown content, so data. Extents in bytes become sectors rounded the safe
 * way: data grows to whole sectors, zeros shrink. The answer covers a prefix of the range asked,
 * never past it. Stateless.
 */
final class ExtentRuns {

    private ExtentRuns() {
    }

    /**
     * @param startByte where the server's extents start (the request's offset, at or before the sector)
     * @param extents   the server's extents, in order from {@code startByte}
     * @param sector    the first sector asked about
     * @param count     the sectors asked about
     * @return the runs from {@code sector} on; one data run if the extents do not reach past its first sector
     */
    static List<Extent> of(long startByte, List<ChunkPayloads.Extent> extents, long sector, long count) {
        long first = sector * BlockDevice.SECTOR_SIZE;
        long end = (sector + count) * BlockDevice.SECTOR_SIZE;
        List<Extent> runs = new ArrayList<>();
        long pos = startByte;
        for (ChunkPayloads.Extent e : extents) {
            long from = Math.max(pos, first);
            long to = Math.min(pos + e.length(), end);
            pos += e.length();
            if (to <= from) {
                if (pos >= end) {
                    break;
                }
                continue;
            }
            boolean zero = (e.status() & Nbd.STATE_ZERO) != 0;
            Extent.Type type = !zero ? Extent.Type.DATA
                : (e.status() & Nbd.STATE_HOLE) != 0 ? Extent.Type.HOLE : Extent.Type.ZERO;
            add(runs, from, to, type);
            if (pos >= end) {
                break;
            }
        }
        if (runs.isEmpty()) {
            runs.add(new Extent(sector, count, Extent.Type.DATA));
        }
        return runs;
    }

    /** Adds {@code [from, to)} bytes: data rounded out to sectors, zeros rounded in; merges a run of the same type. */
    private static void add(List<Extent> runs, long from, long to, Extent.Type type) {
        long a;
        long b;
        if (type == Extent.Type.DATA) {
            a = from / BlockDevice.SECTOR_SIZE;
            b = (to + BlockDevice.SECTOR_SIZE - 1) / BlockDevice.SECTOR_SIZE;
        } else {
            a = (from + BlockDevice.SECTOR_SIZE - 1) / BlockDevice.SECTOR_SIZE;
            b = to / BlockDevice.SECTOR_SIZE;
        }
        if (!runs.isEmpty()) {
            Extent prev = runs.get(runs.size() - 1);
            if (a > prev.endSector()) {
                // Zeros that lost a partial sector at their start: that sector is data.
                if (prev.type() == Extent.Type.DATA) {
                    runs.set(runs.size() - 1, new Extent(prev.sector(), a - prev.sector(), Extent.Type.DATA));
                } else {
                    runs.add(new Extent(prev.endSector(), a - prev.endSector(), Extent.Type.DATA));
                }
                prev = runs.get(runs.size() - 1);
            }
            a = Math.max(a, prev.endSector());
            if (b > a && prev.type() == type) {
                runs.set(runs.size() - 1, new Extent(prev.sector(), b - prev.sector(), type));
                return;
            }
        } else if (a > from / BlockDevice.SECTOR_SIZE) {
            // The first run is zeros starting inside a sector: that sector is data.
            long s = from / BlockDevice.SECTOR_SIZE;
            runs.add(new Extent(s, a - s, Extent.Type.DATA));
        }
        if (b > a) {
            runs.add(new Extent(a, b - a, type));
        }
    }
}
