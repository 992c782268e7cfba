package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import org.kcopyd.api.ClientBinding;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.IoRegion;

/**
 * Merges a snapshot back into its origin: in batches, each held chunk is copied back once the
 * other snapshots have their own copy of the origin chunk it overwrites, then forgotten. The
 * chunk state it changes is guarded by the origin's lock, like the origin's own.
 */
final class SnapshotMerge {

    private static final int MERGE_BATCH = 16;

    private final Origin origin;
    private final Object lock;
    private final ClientBinding kcopyd;
    private final Duration wait;

    SnapshotMerge(Origin origin, Object lock, ClientBinding kcopyd, Duration wait) {
        this.origin = origin;
        this.lock = lock;
        this.kcopyd = kcopyd;
        this.wait = wait;
    }

    /** Starts merging {@code s} into the origin, or returns the merge already running. */
    CompletableFuture<Void> merge(SnapshotVolume s) {
        CompletableFuture<Void> started;
        synchronized (lock) {
            if (s.isClosing()) {
                return CompletableFuture.failedFuture(origin.closedError());
            }
            if (!s.store.isValid()) {
                throw new IllegalStateException("snapshot '" + s.name() + "' is invalid and cannot be merged: "
                        + s.store.invalidReason());
            }
            if (s.merge != null) {
                return s.merge;
            }
            SnapshotVolume other = origin.merging();
            if (other != null && other != s) {
                throw new IllegalStateException("snapshot '" + other.name() + "' of " + origin.name()
                        + " is already merging");
            }
            try {
                s.store.setMerging(true);
            } catch (IOException e) {
                throw new IllegalStateException("cannot start merging snapshot '" + s.name() + "': " + e.getMessage(), e);
            }
            s.merge = new CompletableFuture<>();
            started = s.merge;
        }
        // A store holding no chunks finishes here and clears s.merge: the stage is the local one.
        mergeNextBatch(s);
        return started;
    }

    private void mergeNextBatch(SnapshotVolume s) {
        List<Long> held = s.store.heldChunks();
        if (held.isEmpty()) {
            CompletableFuture<Void> finished;
            synchronized (lock) {
                finished = s.merge;
                s.merge = null;
                try {
                    s.store.reset();
                    s.store.setMerging(false);
                } catch (IOException e) {
                    s.invalidate("ending the merge failed: " + e.getMessage());
                    finished.completeExceptionally(e);
                    return;
                }
            }
            finished.complete(null);
            return;
        }
        List<CompletableFuture<Void>> batch = new ArrayList<>();
        synchronized (lock) {
            for (Long chunk : held.subList(0, Math.min(MERGE_BATCH, held.size()))) {
                batch.add(mergeChunk(s, chunk));
            }
        }
        CompletableFuture.allOf(batch.toArray(new CompletableFuture<?>[0])).whenComplete((v, error) -> {
            if (error != null) {
                CompletableFuture<Void> failed;
                synchronized (lock) {
                    failed = s.merge;
                    s.merge = null;
                }
                if (!s.isClosing()) {
                    s.invalidate("merging into the origin failed: " + error.getMessage());
                }
                // Else the store stays merging and the merge resumes when the snapshot is attached again.
                failed.completeExceptionally(error);
            } else {
                mergeNextBatch(s);
            }
        });
    }

    /**
     * Copies one held chunk back to the origin (after other snapshots copied it), then forgets it.
     * Under the origin's lock.
     */
    CompletableFuture<Void> mergeChunk(SnapshotVolume s, long chunk) {
        CompletableFuture<Void> running = s.merges.get(chunk);
        if (running != null) {
            return running;
        }
        Long cowChunk = s.store.lookup(chunk);
        if (cowChunk == null) {
            return CompletableFuture.completedFuture(null);
        }
        if (s.isClosing()) {
            return CompletableFuture.failedFuture(origin.closedError());
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        s.merges.put(chunk, done);
        long start = chunk * s.chunkSectors();
        int length = s.chunkLength(chunk);
        IoRegion from = IoRegion.of(s.store.device(), cowChunk * s.chunkSectors(), length);
        // Started outside the caller's lock, on a pool thread.
        CompletableFuture.supplyAsync(() -> origin.prepareOriginWrite(start, length, s)).thenCompose(others ->
            CompletableFuture.allOf(others.toArray(new CompletableFuture<?>[0]))
        ).thenCompose(v -> {
            origin.barrier(start, length);
            return kcopyd.submit(wait, client -> client.copy(from, List.of(IoRegion.of(origin.device(), start, length)),
                    EnumSet.of(CopyFlag.FLUSH)));
        }).thenAccept(result -> {
            if (!result.isSuccess()) {
                throw new CompletionException(new IOException("merging chunk " + chunk + " of snapshot '" + s.name()
                        + "' failed: " + result));
            }
            try {
                s.store.remove(chunk);
            } catch (IOException e) {
                throw new CompletionException(e);
            }
        }).whenComplete((v, error) -> {
            synchronized (lock) {
                s.merges.remove(chunk);
                lock.notifyAll();
            }
            if (error != null) {
                done.completeExceptionally(error);
            } else {
                done.complete(null);
            }
        });
        return done;
    }

}
