package org.kcopyd.control.internal.service;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import org.kcopyd.control.ControlException;
import org.kcopyd.control.JobView;
import org.kcopyd.snapshot.Snapshot;

/**
 * A snapshot's merge into its origin, as a job. Its progress is the snapshot's chunks merged: the
 * chunks it held when the merge started less those it holds now ({@link Snapshot#chunksUsed()}
 * falls as chunks are copied back and forgotten), in bytes of its chunk size. It cannot be
 * cancelled: the origin already shows the snapshot's content. When the merge completes the
 * snapshot's configuration is removed ({@code remove}, serialized with the other changes); if that
 * is refused (an export of it was made meanwhile) the job fails saying so, the merge itself done.
 */
final class MergeRun extends ControlJob {

    private final String snapshot;
    private final Services.Held<Snapshot> held;
    private final long chunksAtStart;
    private final long chunkBytes;

    /**
     * @param held the snapshot's service, got for the merge's time (released when it ends)
     */
    MergeRun(String id, String snapshot, Instant startedAt, LongSupplier nanoTime, Services.Held<Snapshot> held) {
        super(id, "merge", "snapshot:" + snapshot + " -> origin:" + snapshot, startedAt, nanoTime);
        this.snapshot = snapshot;
        this.held = held;
        Snapshot s = held.service();
        this.chunksAtStart = s.chunksUsed();
        this.chunkBytes = (long) s.chunkSectors() * 512;
    }

    /**
     * Starts the merge, and ends the job when it completes: the configuration removed on success.
     *
     * @param remove   removes the snapshot's configuration (serialized with other changes); throws a
     *                 ControlException if refused
     * @param clock    the time now
     * @param executor where the end is handled: not the thread completing the merge
     * @throws ControlException CONFLICT when the snapshot refuses to merge (invalid, another snapshot merging)
     */
    void start(Runnable remove, Supplier<Instant> clock, Executor executor) {
        CompletionStage<Void> merged;
        try {
            merged = held.service().merge();
        } catch (IllegalStateException e) {
            held.close();
            throw ControlException.conflict("cannot merge snapshot " + snapshot + ": " + e.getMessage());
        }
        started();
        merged.whenCompleteAsync((v, error) -> {
            try {
                if (error != null) {
                    String why = CopyRun.message(error);
                    end(new Outcome("failed", "merging snapshot " + snapshot + " failed: " + why, result(false, why)),
                            clock.get());
                    return;
                }
                held.close();
                try {
                    remove.run();
                } catch (RuntimeException e) {
                    end(new Outcome("failed", "snapshot " + snapshot + " is merged into its origin, but its "
                            + "configuration was not removed: " + CopyRun.message(e), result(true, null)), clock.get());
                    return;
                }
                end(new Outcome("completed", null, result(true, null)), clock.get());
            } finally {
                held.close();
            }
        }, executor);
    }

    private JobView.Result result(boolean complete, String error) {
        return new JobView.Result(null, List.of(new JobView.Destination("origin:" + snapshot, complete, error)));
    }

    /** @return the snapshot's name */
    String snapshot() {
        return snapshot;
    }

    @Override
    long bytesTotal() {
        return chunksAtStart * chunkBytes;
    }

    @Override
    long bytesDone() {
        if (endedAt() != null) {
            return bytesTotal();
        }
        long left;
        try {
            left = held.service().chunksUsed();
        } catch (RuntimeException closed) {
            return 0;
        }
        return Math.max(0, chunksAtStart - left) * chunkBytes;
    }

    @Override
    void requestCancel() {
        throw ControlException.conflict("job " + id() + " merges snapshot " + snapshot + " into its origin, which "
                + "cannot be cancelled: the origin already shows the snapshot's content; wait for the merge to end");
    }
}
