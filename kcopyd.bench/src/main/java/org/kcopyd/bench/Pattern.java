package org.kcopyd.bench;

import java.nio.ByteBuffer;

/**
 * Position-dependent test data: each 8-byte word is a mix of its byte offset, so any
 * misplaced, missing or duplicated sector shows. Fast enough (GB/s) not to dominate set-up.
 */
final class Pattern {

    private Pattern() {
    }

    static long word(long byteOffset) {
        long z = byteOffset + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Fills {@code buf} from its position to its limit with the pattern for {@code byteOffset}. */
    static void fill(ByteBuffer buf, long byteOffset) {
        long off = byteOffset;
        while (buf.remaining() >= 8) {
            buf.putLong(word(off));
            off += 8;
        }
    }

    /** @return true if {@code buf}'s remaining bytes hold the pattern for {@code byteOffset} */
    static boolean matches(ByteBuffer buf, long byteOffset) {
        long off = byteOffset;
        while (buf.remaining() >= 8) {
            if (buf.getLong() != word(off)) {
                return false;
            }
            off += 8;
        }
        return true;
    }
}
