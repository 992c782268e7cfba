package org.kcopyd.mirror.internal;

import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Growing, bounded delays between retries of work that cannot run for a while (no kcopyd
 * factory, a full or closing client): the first retry after {@code first}, each next one after
 * twice the last, never more than {@code max}; {@link #reset()} after a success. Retries run on
 * the given scheduler, never in the caller's thread. Thread-safe.
 */
final class Backoff {

    private final ScheduledExecutorService scheduler;
    private final long firstMillis;
    private final long maxMillis;
    private long nextMillis;

    Backoff(ScheduledExecutorService scheduler, Duration first, Duration max) {
        if (first.toMillis() < 1 || max.compareTo(first) < 0) {
            throw new IllegalArgumentException("backoff from " + first + " to " + max + ": first must be at least 1 ms"
                    + " and at most max");
        }
        this.scheduler = scheduler;
        this.firstMillis = first.toMillis();
        this.maxMillis = max.toMillis();
        this.nextMillis = firstMillis;
    }

    /**
     * Runs {@code task} after the current delay, and grows the delay.
     *
     * @return the delay in milliseconds, or -1 if the scheduler is shut down (the task will not run)
     */
    long retry(Runnable task) {
        long delay;
        synchronized (this) {
            delay = nextMillis;
            nextMillis = Math.min(maxMillis, nextMillis * 2);
        }
        try {
            scheduler.schedule(task, delay, TimeUnit.MILLISECONDS);
            return delay;
        } catch (RejectedExecutionException e) {
            return -1;
        }
    }

    /** @return the delay the next {@link #retry} waits, in milliseconds */
    synchronized long peek() {
        return nextMillis;
    }

    /** After a success: the next retry waits the first delay again. */
    synchronized void reset() {
        nextMillis = firstMillis;
    }
}
