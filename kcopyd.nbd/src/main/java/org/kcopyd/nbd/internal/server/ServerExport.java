package org.kcopyd.nbd.internal.server;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.nbd.internal.protocol.Nbd;

/**
 * One export of a server: a name, the device behind it, whether clients may write, and how many
 * clients it serves at once. Compared by identity of its device too: a withdrawn export and a new
 * one of the same name are different exports.
 *
 * @param name           the export's name ("" is the default export)
 * @param device         the device; the server never closes it
 * @param readOnly       true to refuse writes even when the device accepts them
 * @param maxConnections connections in transmission on this export at once, at least 1; a client
 *                       over it is disconnected once it has chosen the export (the server's own
 *                       limit applies to all connections before that)
 */
public record ServerExport(String name, BlockDevice device, boolean readOnly, int maxConnections) {

    /**
     * Checks the connection limit, and refuses a device with bytes past its last whole sector (an
     * odd-sized NBD export opened as a device): this server serves whole sectors, and its clients
     * would silently lose those bytes.
     */
    public ServerExport {
        if (maxConnections < 1) {
            throw new IllegalArgumentException("export '" + name + "': maximum connections " + maxConnections
                + " is below 1");
        }
        if (device.tailBytes() != 0) {
            throw new IllegalArgumentException("export '" + name + "': device " + device.name() + " has "
                + device.tailBytes() + " bytes past its last whole sector, which this server does not serve (its "
                + "clients would lose them); serve it with a server that serves any size, or copy it to a file first");
        }
    }

    /** An export limited only by the server's connection limit. */
    public ServerExport(String name, BlockDevice device, boolean readOnly) {
        this(name, device, readOnly, Integer.MAX_VALUE);
    }

    /** @return true if clients may not write: the export or the device is read-only */
    public boolean refusesWrites() {
        return readOnly || device.isReadOnly();
    }

    /**
     * @return the minimum block size advertised and enforced: the device's
     *         {@linkplain BlockDevice#minimumBlockBytes() minimum block}, at least one sector
     */
    public int minimumBlock() {
        return Math.max(ServerSettings.MIN_BLOCK_SIZE, device.minimumBlockBytes());
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
