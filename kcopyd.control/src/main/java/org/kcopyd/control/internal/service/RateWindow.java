package org.kcopyd.control.internal.service;

import java.util.ArrayDeque;

/**
 * A job's recent rate: samples of (time, bytes done) over a moving window of {@link #WINDOW_NANOS},
 * at most {@link #MAX_SAMPLES} of them, so memory is bounded however often it is asked. The rate is
 * the bytes done between the oldest kept sample and the newest over the time between them; it is
 * unknown (null) until the samples span {@link #MIN_SPAN_NANOS}. Samples are taken when a job is
 * looked at (and when it starts): a job nobody looks at costs nothing. Thread-safe.
 */
final class RateWindow {

    /** The window: samples older than this (except the newest such, the window's start) are dropped. */
    static final long WINDOW_NANOS = 5_000_000_000L;
    /** The least span of the samples before a rate is given. */
    static final long MIN_SPAN_NANOS = 500_000_000L;
    /** The most samples kept. */
    static final int MAX_SAMPLES = 64;

    private record Sample(long nanos, long bytes) {
    }

    private final ArrayDeque<Sample> samples = new ArrayDeque<>();

    /**
     * Records the bytes done at a time.
     *
     * @param nanos a {@link System#nanoTime()} reading, not before the previous one
     * @param bytes bytes done then, not fewer than before
     */
    synchronized void record(long nanos, long bytes) {
        Sample last = samples.peekLast();
        if (last != null && nanos - last.nanos() < 0) {
            return;
        }
        if (last != null && samples.size() >= 2 && nanos - last.nanos() < MIN_SPAN_NANOS / 10) {
            // Asked again within 50 ms: the newest sample is replaced, not added.
            samples.pollLast();
        }
        samples.addLast(new Sample(nanos, bytes));
        while (samples.size() > 2) {
            Sample second = second();
            if (nanos - second.nanos() >= WINDOW_NANOS || samples.size() > MAX_SAMPLES) {
                samples.pollFirst();
            } else {
                break;
            }
        }
    }

    private Sample second() {
        var it = samples.iterator();
        it.next();
        return it.next();
    }

    /** @return bytes per second over the window, or null while the samples span less than {@link #MIN_SPAN_NANOS} */
    synchronized Double bytesPerSecond() {
        if (samples.size() < 2) {
            return null;
        }
        Sample first = samples.peekFirst();
        Sample last = samples.peekLast();
        long span = last.nanos() - first.nanos();
        if (span < MIN_SPAN_NANOS) {
            return null;
        }
        return Math.max(0, last.bytes() - first.bytes()) * 1e9 / span;
    }

    /**
     * @param bytesLeft bytes still to do
     * @return seconds left at the window's rate; null while the rate is unknown or 0, and when no bytes
     *         are left: a running job with every byte done still has its last writes in flight and its
     *         destinations to flush and close, which the rate cannot tell the time of (0 would say it has
     *         ended)
     */
    synchronized Double secondsLeft(long bytesLeft) {
        if (bytesLeft <= 0) {
            return null;
        }
        Double rate = bytesPerSecond();
        return rate == null || rate <= 0 ? null : bytesLeft / rate;
    }
}
