package org.kcopyd.nbd.internal.server;

import java.nio.ByteBuffer;
import java.util.List;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;
import org.kcopyd.nbd.internal.protocol.Nbd;

/**
 * The payload of an {@code NBD_REPLY_TYPE_BLOCK_STATUS} chunk for {@code base:allocation}, from the
 * device's {@linkplain BlockDevice#extents extents}: data is status 0, zeros
 * {@code NBD_STATE_ZERO}, holes {@code NBD_STATE_HOLE|NBD_STATE_ZERO}. The extents the device got
 * right are sent, merged where two in a row have the same status; from the first one that breaks
 * the rules on (or when the device failed), the rest of the range is one data extent (the answer
 * is a hint; "data" is always true). A device answering a prefix of the range gets a reply of that
 * prefix (the client asks again for the rest). With {@code NBD_CMD_FLAG_REQ_ONE} only the first extent is
 * sent; beyond {@value #MAX_EXTENTS} extents the reply covers a prefix of the range, as the
 * protocol allows. Stateless.
 */
final class BlockStatusReplies {

    /** Most extents in one reply (32 KiB of payload). */
    static final int MAX_EXTENTS = 4096;

    private BlockStatusReplies() {
    }

    /**
     * @param contextId the id the handshake gave {@code base:allocation}
     * @param sector    the request's first sector
     * @param count     the request's sectors (at most 2^32 - 1 bytes)
     * @param runs      the device's answer, or null when it failed
     * @param one       {@code NBD_CMD_FLAG_REQ_ONE}: a single extent
     * @return the payload, flipped (at most {@code 4 + 8 * (runs + 1)} bytes)
     */
    static ByteBuffer encode(int contextId, long sector, long count, List<Extent> runs, boolean one) {
        int size = runs == null ? 1 : Math.min(runs.size(), MAX_EXTENTS) + 1;
        ByteBuffer out = ByteBuffer.allocate(4 + 8 * size).putInt(contextId);
        long pos = sector;
        long end = sector + count;
        int lastStatus = -1;
        int extents = 0;
        boolean truncated = false;
        boolean broken = false;
        if (runs != null) {
            for (Extent run : runs) {
                if (run == null || run.sector() != pos || run.endSector() > end) {
                    broken = true;
                    break;
                }
                int status = status(run.type());
                if (status == lastStatus) {
                    // Same status as the extent before: it grows (a length of at most 2^32 - 1 bytes).
                    int at = out.position() - 8;
                    out.putInt(at, (int) (Integer.toUnsignedLong(out.getInt(at)) + run.count() * BlockDevice.SECTOR_SIZE));
                } else {
                    if ((one && lastStatus != -1) || extents == MAX_EXTENTS) {
                        truncated = true;
                        break;
                    }
                    extents++;
                    out.putInt((int) (run.count() * BlockDevice.SECTOR_SIZE)).putInt(status);
                    lastStatus = status;
                }
                pos = run.endSector();
                if (pos == end) {
                    break;
                }
            }
        }
        if (pos == sector) {
            out.putInt((int) (count * BlockDevice.SECTOR_SIZE)).putInt(0);
        } else if (broken && pos < end && !one && !truncated) {
            if (lastStatus == 0) {
                int at = out.position() - 8;
                out.putInt(at, (int) (Integer.toUnsignedLong(out.getInt(at)) + (end - pos) * BlockDevice.SECTOR_SIZE));
            } else {
                out.putInt((int) ((end - pos) * BlockDevice.SECTOR_SIZE)).putInt(0);
            }
        }
        return out.flip();
    }

    private static int status(Extent.Type type) {
        return switch (type) {
            case DATA -> 0;
            case ZERO -> Nbd.STATE_ZERO;
            case HOLE -> Nbd.STATE_HOLE | Nbd.STATE_ZERO;
        };
    }
}
