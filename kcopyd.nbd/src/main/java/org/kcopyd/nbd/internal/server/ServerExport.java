package org.kcopyd.nbd.internal.server;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.nbd.internal.protocol.Nbd;

/**
 * One export of a server: a name, the device behind it, and whether clients may write.
 *
 * @param name     the export's name ("" is the default export)
 * @param device   the device; the server never closes it
 * @param readOnly true to refuse writes even when the device accepts them
 */
public record ServerExport(String name, BlockDevice device, boolean readOnly) {

    /** @return true if clients may not write: the export or the device is read-only */
    public boolean refusesWrites() {
        return readOnly || device.isReadOnly();
    }

    /** @return the export's size in bytes */
    public long sizeBytes() {
        return device.sizeInSectors() * BlockDevice.SECTOR_SIZE;
    }

    /**
     * The transmission flags a client is told. Every connection shares the one device, so a
     * flush on any connection covers the writes of all: CAN_MULTI_CONN.
     *
     * @param structured true if the client negotiated structured replies (then DF is offered:
     *                   this server always answers a read with one data chunk)
     */
    public int transmissionFlags(boolean structured) {
        int flags = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_CAN_MULTI_CONN;
        if (structured) {
            flags |= Nbd.FLAG_SEND_DF;
        }
        if (refusesWrites()) {
            return flags | Nbd.FLAG_READ_ONLY;
        }
        flags |= Nbd.FLAG_SEND_FUA | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_SEND_FAST_ZERO;
        if (device.supportsDiscard()) {
            flags |= Nbd.FLAG_SEND_TRIM;
        }
        return flags;
    }
}
