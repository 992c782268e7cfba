package org.kcopyd.control.internal.service;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import org.kcopyd.control.ControlException;

/**
 * The control API's jobs by identity: identities are numbers counted from 1, never given twice
 * while the bundle runs. Running jobs are kept (at most {@code maxRunning}: more are refused);
 * ended jobs are kept for {@code keep} after they ended and at most {@code maxEnded} of them, the
 * oldest ended forgotten first. Forgetting happens whenever the registry is used, so its memory is
 * bounded without a timer. Thread-safe (one lock; nothing slow is done under it).
 */
final class JobRegistry {

    private final Map<String, ControlJob> jobs = new LinkedHashMap<>();
    private final Duration keep;
    private final int maxEnded;
    private final int maxRunning;
    private final Supplier<Instant> clock;
    private long next = 1;

    /**
     * @param keep       how long an ended job stays
     * @param maxEnded   the most ended jobs kept
     * @param maxRunning the most running jobs
     * @param clock      the time now
     */
    JobRegistry(Duration keep, int maxEnded, int maxRunning, Supplier<Instant> clock) {
        this.keep = keep;
        this.maxEnded = maxEnded;
        this.maxRunning = maxRunning;
        this.clock = clock;
    }

    /**
     * Reserves an identity for a job made outside the lock (opening devices takes time), and keeps
     * it once made.
     *
     * @return the identity
     * @throws ControlException CONFLICT when {@code maxRunning} jobs run already
     */
    synchronized String reserve() {
        forget();
        long running = jobs.values().stream().filter(j -> j.endedAt() == null).count();
        if (running >= maxRunning) {
            throw ControlException.conflict(running + " jobs are running, the most the control API runs at once is "
                    + maxRunning + "; wait for one to end or cancel one");
        }
        return Long.toString(next++);
    }

    /** Keeps a job made with a {@link #reserve() reserved} identity. */
    synchronized void put(ControlJob job) {
        jobs.put(job.id(), job);
        forget();
    }

    /** @return the job, or null */
    synchronized ControlJob get(String id) {
        forget();
        return jobs.get(id);
    }

    /** @return the jobs kept, in the order they were added */
    synchronized List<ControlJob> all() {
        forget();
        return new ArrayList<>(jobs.values());
    }

    /** @return the jobs running now */
    synchronized List<ControlJob> running() {
        return jobs.values().stream().filter(j -> j.endedAt() == null).toList();
    }

    private void forget() {
        Instant oldest = clock.get().minus(keep);
        int ended = 0;
        for (Iterator<ControlJob> it = jobs.values().iterator(); it.hasNext();) {
            Instant at = it.next().endedAt();
            if (at != null && at.isBefore(oldest)) {
                it.remove();
            } else if (at != null) {
                ended++;
            }
        }
        if (ended <= maxEnded) {
            return;
        }
        List<ControlJob> byEnd = jobs.values().stream().filter(j -> j.endedAt() != null)
                .sorted((a, b) -> a.endedAt().compareTo(b.endedAt())).toList();
        for (ControlJob j : byEnd.subList(0, ended - maxEnded)) {
            jobs.remove(j.id());
        }
    }
}
