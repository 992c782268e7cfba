package org.kcopyd.nbd.internal.server;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Direct buffers for request payloads, reused: one free list per power-of-two size from 4 KiB up;
 * idle buffers are kept up to {@code maxIdleBytes} in all. The buffers lent at once are bounded
 * too, for the whole listener ({@code maxLentBytes}): a connection reader asking for more waits
 * until buffers come back (one buffer is always lent when none is out), so many clients together
 * cannot make the server hold more than that, whatever each connection's own bound.
 * Thread-safe.
 */
final class BufferPool {

    private static final int MIN_SHIFT = 12;

    private final long maxIdleBytes;
    private final long maxLentBytes;
    private final List<ArrayDeque<ByteBuffer>> free = new ArrayList<>();
    private long idleBytes;
    private long lentBytes;

    BufferPool(long maxIdleBytes, long maxLentBytes) {
        this.maxIdleBytes = maxIdleBytes;
        this.maxLentBytes = maxLentBytes;
        for (int shift = MIN_SHIFT; shift < 32; shift++) {
            free.add(new ArrayDeque<>());
        }
    }

    /**
     * @return a buffer with position 0 and limit {@code length} (capacity may be larger), once it
     *         fits within the lent bound
     * @throws InterruptedException if interrupted while waiting for buffers to come back
     */
    ByteBuffer take(int length) throws InterruptedException {
        int shift = Math.max(MIN_SHIFT, 32 - Integer.numberOfLeadingZeros(Math.max(1, length) - 1));
        ByteBuffer buffer;
        synchronized (this) {
            while (lentBytes > 0 && lentBytes + (1L << shift) > maxLentBytes) {
                wait();
            }
            lentBytes += 1L << shift;
            buffer = free.get(shift - MIN_SHIFT).poll();
            if (buffer != null) {
                idleBytes -= buffer.capacity();
            }
        }
        if (buffer == null) {
            try {
                buffer = ByteBuffer.allocateDirect(1 << shift);
            } catch (OutOfMemoryError e) {
                give(1L << shift, null);
                throw e;
            }
        }
        return buffer.clear().limit(length);
    }

    /** Gives a buffer from {@link #take} back. */
    void give(ByteBuffer buffer) {
        give(buffer.capacity(), buffer);
    }

    private synchronized void give(long capacity, ByteBuffer buffer) {
        lentBytes -= capacity;
        notifyAll();
        if (buffer != null && idleBytes + capacity <= maxIdleBytes) {
            free.get(Integer.numberOfTrailingZeros(buffer.capacity()) - MIN_SHIFT).push(buffer);
            idleBytes += capacity;
        }
    }

    /** @return the bytes of the buffers lent now */
    synchronized long lentBytes() {
        return lentBytes;
    }
}
