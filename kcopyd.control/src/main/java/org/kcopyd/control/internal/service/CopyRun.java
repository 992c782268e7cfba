package org.kcopyd.control.internal.service;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.IntFunction;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import org.kcopyd.api.CopyJob;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.control.JobView;

/**
 * A copy or zero job of whole devices: one or more engine {@link CopyJob}s of one client (a zero
 * of devices of different sizes is one engine job per size), shown as one. Its progress is the
 * engine jobs' bytes done; cancelling cancels them all; when the last has completed, its outcome
 * is made from their results, in the request's destination order, and then, on {@code cleanup},
 * the client is closed and the devices closed and released (whatever the outcome). A destination
 * file removed, or replaced by another file, while it was written is failed then: what was
 * written is not at its name, so it does not hold the source (or zeros) there.
 */
final class CopyRun extends ControlJob {

    /**
     * One engine job and which of the request's destinations it writes.
     *
     * @param job          the engine's handle
     * @param destinations for each of its destinations, the index in the request
     */
    record Part(CopyJob job, int[] destinations) {
    }

    private final List<Part> parts;
    private final List<String> destinations;
    private final IntFunction<String> lostName;
    private final List<JobDevices.Named> read;
    private final List<JobDevices.Named> written;
    private final long total;

    /**
     * @param parts        the engine jobs, started
     * @param destinations the destination names, in the request's order
     * @param lostName     for a destination's index in the request, asked once it is complete: null if
     *                     its name still names what was written, else why not (it is failed for that)
     * @param read         the device it reads (its source), none for a zero job
     * @param written      the devices it writes (a destination it created named with the file made)
     */
    CopyRun(String id, String kind, String description, Instant startedAt, LongSupplier nanoTime, List<Part> parts,
            List<String> destinations, IntFunction<String> lostName, List<JobDevices.Named> read,
            List<JobDevices.Named> written) {
        super(id, kind, description, startedAt, nanoTime);
        this.parts = List.copyOf(parts);
        this.destinations = List.copyOf(destinations);
        this.lostName = lostName;
        this.read = List.copyOf(read);
        this.written = List.copyOf(written);
        this.total = parts.stream().mapToLong(p -> p.job().bytesTotal()).sum();
        started();
    }

    /**
     * Ends the job when every engine job has completed, then runs {@code cleanup} on {@code executor}
     * (closing the client and devices), whatever the outcome.
     *
     * @param clock    the time now
     * @param cleanup  closes the client and the devices
     * @param executor where the end is handled: not the engine's completion thread
     */
    void whenDone(Supplier<Instant> clock, Runnable cleanup, Executor executor) {
        CompletableFuture<?>[] results = parts.stream().map(p -> p.job().result().toCompletableFuture())
                .toArray(CompletableFuture<?>[]::new);
        CompletableFuture.allOf(results).whenCompleteAsync((v, error) -> {
            try {
                end(outcome(error), clock.get());
            } finally {
                cleanup.run();
            }
        }, executor);
    }

    private Outcome outcome(Throwable error) {
        if (error != null) {
            return new Outcome("failed", "the engine did not complete the job: " + message(error), null);
        }
        String readError = null;
        boolean cancelled = false;
        boolean failed = false;
        JobView.Destination[] each = new JobView.Destination[destinations.size()];
        for (Part p : parts) {
            CopyResult r = p.job().result().toCompletableFuture().join();
            cancelled |= r.cancelled();
            if (r.readError() && readError == null) {
                readError = r.readFailure().map(CopyRun::message).orElse("read error");
            }
            failed |= r.readError() || r.writeErrors() != 0;
            for (int i = 0; i < p.destinations().length; i++) {
                int at = p.destinations()[i];
                String writeError = r.writeFailure(i).map(CopyRun::message).orElse(null);
                boolean complete = !r.destinationIncomplete(i);
                String lost = complete ? lostName.apply(at) : null;
                if (lost != null) {
                    complete = false;
                    writeError = lost + "; what was written is not at that name";
                    failed = true;
                }
                each[at] = new JobView.Destination(destinations.get(at), complete, writeError);
            }
        }
        String state = failed ? "failed" : cancelled ? "cancelled" : "completed";
        return new Outcome(state, null, new JobView.Result(readError, List.of(each)));
    }

    static String message(Throwable t) {
        Throwable c = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        return c.getMessage() == null ? c.getClass().getName() : c.getMessage();
    }

    /** @return true if this job writes {@code device}, or one sharing bytes with it ({@link JobDevices.Named#touches}) */
    boolean writes(JobDevices.Named device) {
        return written.stream().anyMatch(device::touches);
    }

    /** @return true if this job reads {@code device} (its source), or a device sharing bytes with it */
    boolean reads(JobDevices.Named device) {
        return read.stream().anyMatch(device::touches);
    }

    @Override
    long bytesTotal() {
        return total;
    }

    @Override
    long bytesDone() {
        long done = 0;
        for (Part p : parts) {
            done += p.job().bytesDone();
        }
        return done;
    }

    @Override
    void requestCancel() {
        for (Part p : parts) {
            p.job().cancel();
        }
    }

    /** Closes {@code client}, for the cleanup. */
    static void closeQuietly(KcopydClient client) {
        try {
            client.close();
        } catch (RuntimeException e) {
            // Its jobs have completed: nothing is lost by a failure to close.
        }
    }
}
