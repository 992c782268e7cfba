package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.BlockIo;

/**
 * A hash of a leg's first and last {@value #SAMPLE_SECTORS} sectors, recorded in the region log
 * when the mirror closes cleanly and compared when it opens next: a leg whose ends changed in
 * between was written outside the mirror, or is another file or disk (a reused inode number,
 * another disk behind the same device node). A disk's first sectors hold its partition table or
 * file system superblock, so unrelated contents almost never agree there. The sectors between
 * are not read: a change there only is not seen.
 */
final class LegFingerprint {

    /** Sectors hashed at each end of a leg. */
    static final int SAMPLE_SECTORS = 128;
    /** Bytes of a fingerprint. */
    static final int BYTES = 16;

    private LegFingerprint() {
    }

    /**
     * @param leg a leg's own device
     * @return the hash of its first and last {@value #SAMPLE_SECTORS} sectors, {@value #BYTES} bytes
     * @throws IOException if they cannot be read
     */
    static byte[] of(BlockDevice leg) throws IOException {
        long size = leg.sizeInSectors();
        int head = (int) Math.min(SAMPLE_SECTORS, size);
        int tail = (int) Math.min(SAMPLE_SECTORS, size - head);
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
        for (long[] range : new long[][] {{0, head}, {size - tail, tail}}) {
            if (range[1] > 0) {
                ByteBuffer b = ByteBuffer.allocate((int) range[1] * BlockDevice.SECTOR_SIZE);
                BlockIo.await(leg.read(range[0], b));
                sha.update(b.flip());
            }
        }
        return Arrays.copyOf(sha.digest(), BYTES);
    }
}
