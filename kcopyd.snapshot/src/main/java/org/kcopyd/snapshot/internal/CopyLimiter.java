package org.kcopyd.snapshot.internal;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;

/**
 * Caps the COW copies in flight for one origin (dm-snapshot caps them too, at 2048): a copy
 * beyond the cap waits, asynchronously, for one to finish. Never blocks a thread.
 */
final class CopyLimiter {

    private final ArrayDeque<CompletableFuture<Void>> waiting = new ArrayDeque<>();
    private int available;

    CopyLimiter(int permits) {
        this.available = permits;
    }

    /** @return a stage completed when a permit is held */
    synchronized CompletableFuture<Void> acquire() {
        if (available > 0) {
            available--;
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        waiting.add(f);
        return f;
    }

    void release() {
        CompletableFuture<Void> next;
        synchronized (this) {
            next = waiting.poll();
            if (next == null) {
                available++;
                return;
            }
        }
        next.complete(null);
    }

    synchronized int inUseOrWaiting(int permits) {
        return permits - available + waiting.size();
    }
}
