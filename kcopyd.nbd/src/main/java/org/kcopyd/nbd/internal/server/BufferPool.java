package org.kcopyd.nbd.internal.server;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Direct buffers for request payloads, reused: one free list per power-of-two size from 4 KiB up;
 * idle buffers are kept up to {@code maxIdleBytes} in all. Thread-safe.
 */
final class BufferPool {

    private static final int MIN_SHIFT = 12;

    private final long maxIdleBytes;
    private final List<ArrayDeque<ByteBuffer>> free = new ArrayList<>();
    private long idleBytes;

    BufferPool(long maxIdleBytes) {
        this.maxIdleBytes = maxIdleBytes;
        for (int shift = MIN_SHIFT; shift < 32; shift++) {
            free.add(new ArrayDeque<>());
        }
    }

    /** @return a buffer with position 0 and limit {@code length} (capacity may be larger) */
    ByteBuffer take(int length) {
        int shift = Math.max(MIN_SHIFT, 32 - Integer.numberOfLeadingZeros(Math.max(1, length) - 1));
        ByteBuffer buffer;
        synchronized (this) {
            buffer = free.get(shift - MIN_SHIFT).poll();
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
                free.get(shift - MIN_SHIFT).push(buffer);
                idleBytes += buffer.capacity();
            }
        }
    }
}
