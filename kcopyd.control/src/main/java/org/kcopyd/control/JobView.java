package org.kcopyd.control;

import java.time.Instant;
import java.util.List;

/**
 * One job as the API shows it ({@code JOB} in CONTROL-API.md): a copy or zero the control API runs,
 * a snapshot's merge, or a mirror's resync.
 *
 * @param id             the job's identity: a number for copies, zeroes and merges, {@code resync-NAME} for
 *                       mirror NAME's resync
 * @param kind           {@code copy}, {@code zero}, {@code merge} or {@code resync}
 * @param description    what it does, in words ({@code /srv/a.img -> /srv/b.img})
 * @param state          {@code running}, {@code cancelling}, {@code completed}, {@code failed} or {@code cancelled}
 * @param bytesTotal     bytes the job covers
 * @param bytesDone      bytes done so far, 0..{@code bytesTotal}
 * @param bytesPerSecond the recent rate in bytes per second, null until known (or once ended)
 * @param secondsLeft    the time left at that rate, null until known, while every byte is done but the job has
 *                       not ended (its last writes in flight), and once ended: never 0 for a job still running
 * @param startedAt      when it started; null for a resync (the mirror does not say)
 * @param endedAt        when it ended, null while it runs
 * @param error          why the job as a whole failed (beyond what {@code result} says), else null
 * @param result         once ended, what each destination holds; null while it runs
 */
public record JobView(String id, String kind, String description, String state, long bytesTotal, long bytesDone,
        Double bytesPerSecond, Double secondsLeft, Instant startedAt, Instant endedAt, String error, Result result) {

    /**
     * An ended job's result.
     *
     * @param readError    the first read error, else null
     * @param destinations each destination, in the order of the request
     */
    public record Result(String readError, List<Destination> destinations) {
    }

    /**
     * One destination of an ended job.
     *
     * @param device   as the request named it
     * @param complete whether it holds the whole source (or zeros)
     * @param error    its first write error, else null
     */
    public record Destination(String device, boolean complete, String error) {
    }

    /** @return true once the job has ended (completed, failed or cancelled) */
    public boolean ended() {
        return endedAt != null;
    }
}
