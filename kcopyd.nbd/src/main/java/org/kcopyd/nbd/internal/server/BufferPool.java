package org.kcopyd.nbd.internal.server;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Direct buffers for request payloads, reused: one free list per power-of-two size from 4 KiB up;
 * idle buffers are kept up to {@code maxIdleBytes} in all. Thread-safe.
 */
final class BufferPool {

    private static final int MIN_SHIFT = 12;

    private final long maxIdleBytes;
    private final ArrayDeque<ByteBuffer>[] free;
    private long idleBytes;

    @SuppressWarnings("unchecked")
    BufferPool(long maxIdleBytes) {
        this.maxIdleBytes = maxIdleBytes;
        this.free = new ArrayDeque[32 - MIN_SHIFT];
        for (int i = 0; i < free.length; i++) {
            free[i] = new ArrayDeque<>();
        }
    }

    /** @return a buffer with position 0 and limit {@code length} (capacity may be larger) */
    ByteBuffer take(int length) {
        int shift = Math.max(MIN_SHIFT, 32 - Integer.numberOfLeadingZeros(Math.max(1, length) - 1));
        ByteBuffer buffer;
        synchronized (this) {
            buffer = free[shift - MIN_SHIFT].poll();
            if (buffer != null) {
                idleBytes -= buffer.capacity();
            }
        }
        if (buffer == null) {
            buffer = ByteBuffer.allocateDirect(1 << shift);
        }
        return buffer.clear().limit(length);
    }

    /** Gives a buffer from {@link #take} back. */
    void give(ByteBuffer buffer) {
        int shift = Integer.numberOfTrailingZeros(buffer.capacity());
        synchronized (this) {
            if (idleBytes + buffer.capacity() <= maxIdleBytes) {
                free[shift - MIN_SHIFT].push(buffer);
                idleBytes += buffer.capacity();
            }
        }
    }
}
