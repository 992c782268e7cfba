package org.kcopyd.impl.engine;

import java.nio.ByteBuffer;

/**
 * One read-only direct buffer of zeros shared by every client of an engine: the source of
 * zero jobs (which therefore need no pages) and of zero-filled chunks after an ignored read error.
 */
final class ZeroBuffer {

    private final ByteBuffer zeros;

    ZeroBuffer(int bytes) {
        this.zeros = ByteBuffer.allocateDirect(bytes).asReadOnlyBuffer();
    }

    int capacity() {
        return zeros.capacity();
    }

    /** @return a read-only view of {@code bytes} zeros (at most {@link #capacity()}) */
    ByteBuffer slice(int bytes) {
        return zeros.slice(0, bytes);
    }

    /** Overwrites {@code target}'s remaining bytes with zeros, leaving its position unchanged. */
    void fill(ByteBuffer target) {
        int pos = target.position();
        while (target.hasRemaining()) {
            target.put(slice(Math.min(target.remaining(), zeros.capacity())));
        }
        target.position(pos);
    }
}
