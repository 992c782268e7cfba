package org.kcopyd.impl.engine;

import java.util.concurrent.TimeUnit;

import org.kcopyd.api.EngineSettings.Setting;
import org.kcopyd.api.Throttle;

/**
 * A throttle shared by clients: a bandwidth cap (virtual scheduling: each chunk books its
 * transfer time; the next one waits until the booked time has passed) and dm-kcopyd's time
 * share (the fraction of wall time with copy I/O outstanding, measured over a window that
 * halves its history every second).
 *
 * <p>Thread-safe. Clients ask {@link #delayNanos} before dispatching a chunk and never sleep:
 * their worker parks until the delay has passed, still delivering completions meanwhile.
 */
final class IoThrottle implements Throttle {

    /** Longest single delay, as the kernel's 100 ms sleep: keeps the worker responsive. */
    static final long MAX_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final String name;
    private volatile int ioPercent = 100;
    private volatile long bytesPerSecond;

    private long nextFree;
    private int outstanding;
    private long lastEvent;
    private long ioNanos;
    private long totalNanos;

    IoThrottle(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int ioPercent() {
        return ioPercent;
    }

    @Override
    public void setIoPercent(int percent) {
        if (!Setting.THROTTLE_IO_PERCENT.allows(percent)) {
            throw new IllegalArgumentException("throttle '" + name + "' ioPercent " + percent
                    + " is outside the allowed range " + Setting.THROTTLE_IO_PERCENT.range());
        }
        ioPercent = percent;
    }

    @Override
    public long bytesPerSecond() {
        return bytesPerSecond;
    }

    @Override
    public void setBytesPerSecond(long rate) {
        if (!Setting.THROTTLE_BYTES_PER_SECOND.allows(rate)) {
            throw new IllegalArgumentException("throttle '" + name + "' bytesPerSecond " + rate
                    + " is outside the allowed range " + Setting.THROTTLE_BYTES_PER_SECOND.range());
        }
        synchronized (this) {
            bytesPerSecond = rate;
            nextFree = 0;
        }
    }

    boolean isLimiting() {
        return ioPercent < 100 || bytesPerSecond > 0;
    }

    /**
     * @param bytes the chunk about to be dispatched
     * @param now   {@link System#nanoTime()}
     * @return 0 if the chunk may go now (its bandwidth is then booked), else nanoseconds to wait
     */
    synchronized long delayNanos(long bytes, long now) {
        long delay = 0;
        long rate = bytesPerSecond;
        if (rate > 0 && now - nextFree < 0) {
            delay = nextFree - now;
        }
        int percent = ioPercent;
        if (percent < 100) {
            account(now);
            // Idle time needed so that io / (total + idle) <= percent / 100.
            long idleNeeded = ioNanos * 100 / percent - totalNanos;
            delay = Math.max(delay, idleNeeded);
        }
        if (delay > 0) {
            return Math.min(delay, MAX_DELAY_NANOS);
        }
        if (rate > 0) {
            long start = now - nextFree > 0 ? now : nextFree;
            nextFree = start + (long) (bytes * 1e9 / rate);
        }
        return 0;
    }

    synchronized void ioStarted(long now) {
        account(now);
        outstanding++;
    }

    synchronized void ioFinished(long now) {
        account(now);
        outstanding--;
    }

    private void account(long now) {
        if (lastEvent != 0) {
            long elapsed = now - lastEvent;
            totalNanos += elapsed;
            if (outstanding > 0) {
                ioNanos += elapsed;
            }
            if (totalNanos > WINDOW_NANOS) {
                totalNanos /= 2;
                ioNanos /= 2;
            }
        }
        lastEvent = now;
    }

    @Override
    public String toString() {
        return "Throttle[" + name + ", ioPercent=" + ioPercent + ", bytesPerSecond=" + bytesPerSecond + "]";
    }
}
