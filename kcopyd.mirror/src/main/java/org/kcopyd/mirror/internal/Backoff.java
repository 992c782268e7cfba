package org.kcopyd.mirror.internal;

import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.kcopyd.support.component.Delays;

/**
 * Retries of work that cannot run for a while (no kcopyd factory, a full or closing client, a leg
 * that cannot be reached) after growing, bounded {@link Delays}: the first retry after {@code first},
 * each next one after twice the last, never more than {@code max}; {@link #reset()} after a success.
 * Retries run on the given scheduler, never in the caller's thread. Thread-safe.
 */
final class Backoff {

    private final ScheduledExecutorService scheduler;
    private final Delays delays;

    /**
     * @param first the first delay, at least 1 ms
     * @param max   the longest delay, at least {@code first}
     * @throws IllegalArgumentException naming both if not
     */
    Backoff(ScheduledExecutorService scheduler, Duration first, Duration max) {
        this.delays = new Delays(first, max);
        this.scheduler = scheduler;
    }

    /**
     * Runs {@code task} after the current delay, and grows the delay.
     *
     * @return the delay in milliseconds, or -1 if the scheduler is shut down (the task will not run)
     */
    long retry(Runnable task) {
        long delay = delays.next();
        try {
            scheduler.schedule(task, delay, TimeUnit.MILLISECONDS);
            return delay;
        } catch (RejectedExecutionException e) {
            return -1;
        }
    }

    /** @return the delay the next {@link #retry} waits, in milliseconds */
    long peek() {
        return delays.peek();
    }

    /** After a success: the next retry waits the first delay again. */
    void reset() {
        delays.reset();
    }
}
