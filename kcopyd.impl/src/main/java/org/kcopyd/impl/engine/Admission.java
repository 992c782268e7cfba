package org.kcopyd.impl.engine;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Bounds the jobs a client holds: a counting gate whose limit can change at any time. The
 * uncontended path is one compare-and-set; only submitters that must wait take the lock.
 */
final class Admission {

    private final String client;
    private final AtomicInteger outstanding = new AtomicInteger();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = lock.newCondition();
    private volatile int limit;
    private volatile int waiters;

    Admission(String client, int limit) {
        this.client = client;
        this.limit = limit;
    }

    int outstanding() {
        return outstanding.get();
    }

    void setLimit(int newLimit) {
        limit = newLimit;
        lock.lock();
        try {
            released.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private boolean tryAcquire() {
        while (true) {
            int current = outstanding.get();
            if (current >= limit) {
                return false;
            }
            if (outstanding.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    /**
     * Takes one slot.
     *
     * @param mayWait false to fail at once when the limit is reached
     * @throws RejectedExecutionException when the limit is reached and waiting is not allowed,
     *                                    or the waiting thread is interrupted
     */
    void acquire(boolean mayWait) {
        if (tryAcquire()) {
            return;
        }
        lock.lock();
        try {
            waiters++;
            while (!tryAcquire()) {
                if (!mayWait) {
                    throw new RejectedExecutionException("kcopyd client '" + client + "' has " + outstanding.get()
                            + " jobs outstanding, the admission limit is " + limit);
                }
                try {
                    released.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new RejectedExecutionException("interrupted while waiting for admission to kcopyd client '"
                            + client + "' (limit " + limit + ")", e);
                }
            }
        } finally {
            waiters--;
            lock.unlock();
        }
    }

    void release() {
        outstanding.decrementAndGet();
        if (waiters > 0) {
            lock.lock();
            try {
                released.signal();
            } finally {
                lock.unlock();
            }
        }
    }
}
