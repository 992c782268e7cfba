package org.kcopyd.snapshot.internal;

import java.time.Duration;

/**
 * Growing, bounded delays between attempts at something that cannot be done for a while (an
 * origin named by URI whose server cannot be reached): the first after {@code first}, each next
 * one after twice the last, never more than {@code max}. The same sequence as kcopyd.mirror's
 * {@code Backoff}, kept here because bundles share exported API packages only and that one is
 * internal to kcopyd.mirror; it only counts, the caller waits (it schedules nothing).
 * Not thread-safe: one user, or the user's lock.
 */
final class Backoff {

    private final long firstMillis;
    private final long maxMillis;
    private long nextMillis;

    /**
     * @param first the first delay, at least 1 ms
     * @param max   the longest delay, at least {@code first}
     * @throws IllegalArgumentException naming both if not
     */
    Backoff(Duration first, Duration max) {
        if (first.toMillis() < 1 || max.compareTo(first) < 0) {
            throw new IllegalArgumentException("backoff from " + first + " to " + max + ": first must be at least 1 ms"
                    + " and at most max");
        }
        this.firstMillis = first.toMillis();
        this.maxMillis = max.toMillis();
        this.nextMillis = firstMillis;
    }

    /** @return the delay to wait now, in milliseconds; the next call answers twice as much, up to the maximum */
    long next() {
        long delay = nextMillis;
        nextMillis = Math.min(maxMillis, nextMillis * 2);
        return delay;
    }

    /** @return the delay the next call of {@link #next()} answers, in milliseconds */
    long peek() {
        return nextMillis;
    }
}
