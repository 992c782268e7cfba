package org.kcopyd.nbd.internal.server;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The requests and bytes a connection has in flight, bounded: the reader waits in
 * {@link #acquire} while the bounds are reached (one request is always admitted when nothing is
 * in flight), so a client cannot make the server buffer more than the bounds.
 */
final class Budget {

    private final long maxBytes;
    private final int maxRequests;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private long bytes;
    private int requests;

    Budget(long maxBytes, int maxRequests) {
        this.maxBytes = maxBytes;
        this.maxRequests = maxRequests;
    }

    /** Waits until a request of {@code cost} bytes fits, then counts it. */
    void acquire(long cost) throws InterruptedException {
        lock.lock();
        try {
            while (requests > 0 && (requests >= maxRequests || bytes + cost > maxBytes)) {
                changed.await();
            }
            requests++;
            bytes += cost;
        } finally {
            lock.unlock();
        }
    }

    /** Counts a request of {@code cost} bytes as finished. */
    void release(long cost) {
        lock.lock();
        try {
            requests--;
            bytes -= cost;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until nothing is in flight.
     *
     * @return true if nothing is, false if the time ran out first
     */
    boolean awaitIdle(long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout);
        lock.lock();
        try {
            while (requests > 0) {
                if (nanos <= 0) {
                    return false;
                }
                nanos = changed.awaitNanos(nanos);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** @return requests in flight */
    int requests() {
        lock.lock();
        try {
            return requests;
        } finally {
            lock.unlock();
        }
    }
}
