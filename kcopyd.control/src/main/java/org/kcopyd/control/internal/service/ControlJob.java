package org.kcopyd.control.internal.service;

import java.time.Instant;
import java.util.function.LongSupplier;

import org.kcopyd.control.JobView;

/**
 * A job the control API started and keeps track of: a copy, a zero or a merge. It knows its
 * progress (read from what runs it), its rate ({@link RateWindow}), whether it may be cancelled,
 * and, once ended, its outcome, which does not change afterwards. Thread-safe: the outcome is set
 * once, by whichever thread ends the job; views are made by any thread.
 */
abstract class ControlJob {

    /** An ended job's outcome. */
    record Outcome(String state, String error, JobView.Result result) {
    }

    private final String id;
    private final String kind;
    private final String description;
    private final Instant startedAt;
    private final LongSupplier nanoTime;
    private final RateWindow rate = new RateWindow();
    private volatile boolean cancelRequested;
    private volatile Outcome outcome;
    private volatile Instant endedAt;
    private volatile long bytesDoneAtEnd;

    /**
     * @param nanoTime  the clock of rates, {@link System#nanoTime()} but in tests
     * @param startedAt when it started
     */
    ControlJob(String id, String kind, String description, Instant startedAt, LongSupplier nanoTime) {
        this.id = id;
        this.kind = kind;
        this.description = description;
        this.startedAt = startedAt;
        this.nanoTime = nanoTime;
    }

    final String id() {
        return id;
    }

    final String kind() {
        return kind;
    }

    /** @return the bytes the job covers */
    abstract long bytesTotal();

    /** @return the bytes done now, 0..{@link #bytesTotal()}, monotonic */
    abstract long bytesDone();

    /**
     * Asks the job to stop; returns at once.
     *
     * @throws org.kcopyd.control.ControlException CONFLICT when this kind of job cannot be cancelled
     */
    abstract void requestCancel();

    /** Asks it to stop, once; the state is then {@code cancelling} until it ends. */
    final void cancel() {
        if (outcome != null) {
            return;
        }
        requestCancel();
        cancelRequested = true;
    }

    /** Takes the first sample of the rate. */
    final void started() {
        rate.record(nanoTime.getAsLong(), 0);
    }

    /**
     * Ends the job with its outcome; later calls change nothing.
     *
     * @param at when it ended
     * @return true if this call ended it
     */
    final synchronized boolean end(Outcome ended, Instant at) {
        if (outcome != null) {
            return false;
        }
        bytesDoneAtEnd = Math.min(bytesTotal(), bytesDone());
        endedAt = at;
        outcome = ended;
        return true;
    }

    /** @return when it ended, or null while it runs */
    final Instant endedAt() {
        return endedAt;
    }

    /** @return the job as the API shows it now */
    final JobView view() {
        Outcome o = outcome;
        long total = bytesTotal();
        if (o != null) {
            return new JobView(id, kind, description, o.state(), total, bytesDoneAtEnd, null, null, startedAt, endedAt,
                    o.error(), o.result());
        }
        long done = Math.min(total, bytesDone());
        rate.record(nanoTime.getAsLong(), done);
        return new JobView(id, kind, description, cancelRequested ? "cancelling" : "running", total, done,
                rate.bytesPerSecond(), rate.secondsLeft(total - done), startedAt, null, null, null);
    }
}
