package org.kcopyd.impl.engine;

import java.util.List;

import org.kcopyd.api.IoRegion;

/**
 * Checks a request at the API boundary, before anything is read or written. Every refusal
 * names the bad value and the limit it broke.
 */
final class JobValidator {

    private JobValidator() {
    }

    /**
     * @param dests          the destinations as given
     * @param max            the client's maximum number of destinations
     * @param requiredCount  the sector count every destination must have, or -1 for "all equal"
     * @return the destinations as an array
     */
    static IoRegion[] destinations(List<IoRegion> dests, int max, long requiredCount) {
        if (dests == null) {
            throw new IllegalArgumentException("dests is null: a job needs 1 to " + max + " destinations");
        }
        int n = dests.size();
        if (n == 0) {
            throw new IllegalArgumentException("dests is empty: a job needs 1 to " + max + " destinations");
        }
        if (n > max) {
            throw new IllegalArgumentException(n + " destinations given, the limit is " + max);
        }
        IoRegion[] regions = dests.toArray(new IoRegion[0]);
        long count = requiredCount >= 0 ? requiredCount : regions[0] == null ? -1 : regions[0].count();
        for (int i = 0; i < n; i++) {
            IoRegion r = regions[i];
            if (r == null) {
                throw new IllegalArgumentException("dest[" + i + "] is null");
            }
            if (r.count() != count) {
                throw new IllegalArgumentException("dest[" + i + "] has " + r.count() + " sectors but "
                        + (requiredCount >= 0 ? "the source has " : "dest[0] has ") + count);
            }
        }
        return regions;
    }

    /** Checks device ends, writability and overlaps. */
    static void check(IoRegion source, IoRegion[] dests) {
        if (source != null) {
            checkEnd("source", source);
        }
        for (int i = 0; i < dests.length; i++) {
            IoRegion d = dests[i];
            String label = "dest[" + i + "]";
            checkEnd(label, d);
            if (d.device().isReadOnly()) {
                throw new IllegalArgumentException(label + " device '" + d.device().name() + "' is read-only");
            }
            if (source != null && d.overlaps(source)) {
                throw new IllegalArgumentException(label + " sectors [" + d.sector() + ", " + d.endSector()
                        + ") overlap the source sectors [" + source.sector() + ", " + source.endSector()
                        + ") on device '" + d.device().name() + "'");
            }
            for (int j = 0; j < i; j++) {
                if (d.overlaps(dests[j])) {
                    throw new IllegalArgumentException(label + " sectors [" + d.sector() + ", " + d.endSector()
                            + ") overlap dest[" + j + "] sectors [" + dests[j].sector() + ", "
                            + dests[j].endSector() + ") on device '" + d.device().name() + "'");
                }
            }
        }
    }

    private static void checkEnd(String label, IoRegion r) {
        long size = r.device().sizeInSectors();
        if (r.endSector() > size) {
            throw new IllegalArgumentException(label + " ends at sector " + r.endSector() + " past the device end "
                    + size + " of '" + r.device().name() + "'");
        }
    }
}
