package org.kcopyd.nbd.internal.client;

import org.kcopyd.nbd.internal.protocol.Nbd;

/**
 * What the handshake learnt about an export.
 *
 * @param size              bytes (a multiple of 512 but for a tail that {@code tailBlock} divides)
 * @param flags             transmission flags
 * @param minimumBlock      minimum block size in bytes (512 when the server gave less or none)
 * @param tailBlock         the server's own minimum block size (1 when it gave none), which the
 *                          reads and writes of the bytes past the last whole sector go by
 * @param preferredBlock    preferred block size in bytes
 * @param maximumBlock      the largest read or write this client sends, in bytes
 * @param structured        true if structured replies were negotiated
 * @param metaContextId     the id of {@code base:allocation}, or -1 if not negotiated
 */
public record ExportInfo(long size, int flags, int minimumBlock, int tailBlock, int preferredBlock, int maximumBlock,
                         boolean structured, long metaContextId) {

    /** @return true if the flag ({@code Nbd.FLAG_*}) is set */
    public boolean has(int flag) {
        return (flags & flag) != 0;
    }

    /** @return true if the server refuses writes */
    public boolean readOnly() {
        return has(Nbd.FLAG_READ_ONLY);
    }
}
