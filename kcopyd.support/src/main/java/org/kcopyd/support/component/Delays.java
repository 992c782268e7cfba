package org.kcopyd.support.component;

import java.time.Duration;

/**
 * Growing, bounded delays between attempts at something that cannot be done for a while (a server
 * that cannot be reached, a resync that cannot run): the first after {@code first}, each next one after
 * twice the last, never more than {@code max}; {@link #reset()} after a success starts again from the
 * first. It only counts: the caller waits or schedules. Thread-safe.
 */
public final class Delays {

    private final long firstMillis;
    private final long maxMillis;
    private long nextMillis;

    /**
     * @param first the first delay, at least 1 ms
     * @param max   the longest delay, at least {@code first}
     * @throws IllegalArgumentException naming both if not
     */
    public Delays(Duration first, Duration max) {
        if (first.toMillis() < 1 || max.compareTo(first) < 0) {
            throw new IllegalArgumentException("backoff from " + first + " to " + max + ": first must be at least 1 ms"
                    + " and at most max");
        }
        this.firstMillis = first.toMillis();
        this.maxMillis = max.toMillis();
        this.nextMillis = firstMillis;
    }

    /** @return the delay to wait now, in milliseconds; the next call answers twice as much, up to the maximum */
    public synchronized long next() {
        long delay = nextMillis;
        nextMillis = Math.min(maxMillis, nextMillis * 2);
        return delay;
    }

    /** @return the delay the next call of {@link #next()} answers, in milliseconds */
    public synchronized long peek() {
        return nextMillis;
    }

    /** After a success: the next delay is the first again. */
    public synchronized void reset() {
        nextMillis = firstMillis;
    }

    /** @return {@code ms} as a person reads a wait: milliseconds below a second, else whole seconds, rounded up */
    public static String say(long ms) {
        return ms < 1000 ? ms + " ms" : (ms + 999) / 1000 + " s";
    }
}
