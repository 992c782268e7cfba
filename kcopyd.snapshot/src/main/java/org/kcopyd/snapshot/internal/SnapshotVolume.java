package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.snapshot.Snapshot;
import org.kcopyd.snapshot.SnapshotState;

/**
 * One snapshot: its COW store, its in-flight exceptions and merges, and its device view. The
 * copy-on-write logic shared by all snapshots of an origin lives in {@link Origin}.
 */
final class SnapshotVolume implements Snapshot {

    private static final System.Logger LOG = System.getLogger(SnapshotVolume.class.getName());

    private final String name;
    final Origin origin;
    final CowStore store;
    final int chunkSectors;
    /** Exceptions being made, by origin chunk: waiters see the chunk mapped once it completes. Guarded by origin. */
    final Map<Long, CompletableFuture<Void>> pending = new HashMap<>();
    /** Chunks being merged back, by origin chunk. Guarded by origin. */
    final Map<Long, CompletableFuture<Void>> merges = new HashMap<>();
    /** Set when the snapshot is detached: it takes no writes or merge steps any more. Guarded by origin. */
    boolean closed;
    /** Snapshot writes begun and not finished. Guarded by origin. */
    int writes;
    /** The running merge, if any. Guarded by origin. */
    CompletableFuture<Void> merge;
    private final View view = new View();

    SnapshotVolume(String name, Origin origin, CowStore store) {
        this.name = name;
        this.origin = origin;
        this.store = store;
        this.chunkSectors = store.chunkSectors();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public BlockDevice device() {
        return view;
    }

    @Override
    public int chunkSectors() {
        return chunkSectors;
    }

    @Override
    public UUID cowStoreId() {
        return store.id();
    }

    @Override
    public SnapshotState state() {
        if (!store.isValid()) {
            return SnapshotState.INVALID;
        }
        return store.isMerging() ? SnapshotState.MERGING : SnapshotState.ACTIVE;
    }

    @Override
    public Optional<String> invalidReason() {
        return store.isValid() ? Optional.empty() : Optional.ofNullable(store.invalidReason());
    }

    @Override
    public long chunksUsed() {
        return store.used();
    }

    @Override
    public long chunksCapacity() {
        return store.capacity();
    }

    @Override
    public CompletionStage<Void> merge() {
        return origin.merge(this);
    }

    /** @return sectors in origin chunk {@code chunk} (the last chunk may be short) */
    int chunkLength(long chunk) {
        return (int) Math.min(chunkSectors, origin.sizeInSectors() - chunk * chunkSectors);
    }

    void invalidate(String reason) {
        if (store.isValid()) {
            store.invalidate(reason);
            LOG.log(System.Logger.Level.ERROR, "snapshot '" + name + "' of " + origin.name() + " is now invalid: "
                    + reason + "; the origin keeps working");
        }
    }

    IOException invalidError() {
        return new IOException("snapshot '" + name + "' is invalid: " + store.invalidReason());
    }

    @Override
    public String toString() {
        return "Snapshot[" + name + " of " + origin.name() + ", " + state() + ", " + store.used() + "/"
                + store.capacity() + " chunks]";
    }

    /** The snapshot as a block device: the origin as it was, plus what was written to the snapshot. */
    private final class View implements BlockDevice {

        @Override
        public String name() {
            return "snapshot " + name;
        }

        @Override
        public long sizeInSectors() {
            return origin.sizeInSectors();
        }

        @Override
        public boolean isReadOnly() {
            return false;
        }

        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            if (!store.isValid()) {
                return CompletableFuture.failedStage(invalidError());
            }
            return origin.readSnapshot(SnapshotVolume.this, sector, dst);
        }

        @Override
        public CompletionStage<Void> write(long sector, ByteBuffer src) {
            if (!store.isValid()) {
                return CompletableFuture.failedStage(invalidError());
            }
            if (store.isMerging()) {
                return CompletableFuture.failedStage(new IOException("snapshot '" + name
                        + "' is merging into its origin and takes no writes"));
            }
            return origin.writeSnapshot(SnapshotVolume.this, sector, src);
        }

        @Override
        public CompletionStage<Void> flush() {
            return store.device().flush();
        }
    }
}
