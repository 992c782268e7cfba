package org.kcopyd.impl.engine;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.IoRegion;

/**
 * One chunk of a job in flight: read the source into pages once, then write those pages to
 * every destination in parallel (the first destination on the reading thread, the others on
 * further I/O threads). When the last write completes the sub-job goes back to its client's
 * worker, which frees its pages and gives it the job's next chunk. Of its client it sees only
 * an {@link Owner}.
 *
 * <p>Sub-jobs are pooled by their client and reused, together with their buffer views, so a
 * steady stream of jobs allocates no buffers and few objects. Posted to the worker, it is the
 * event "my chunk's I/O ended" (or, with {@link #readDoneAwaitingTurn}, "read, waiting to write").
 */
final class SubJob implements Runnable, BiConsumer<Void, Throwable>, WorkerEvent {

    private final Owner owner;
    private final PagePool pool;
    private final ZeroBuffer zeros;
    private final ByteBuffer readView;
    private DestinationWrite[] writes = new DestinationWrite[0];
    private final AtomicInteger pendingWrites = new AtomicInteger();

    Job job;
    long offset;
    int sectors;
    int firstPage = -1;
    int pageCount;
    Throwable readFailure;
    Throwable[] writeFailures = new Throwable[0];
    /** Set by an I/O thread when a WRITE_SEQ read completed: the worker schedules the writes. */
    volatile boolean readDoneAwaitingTurn;

    SubJob(Owner owner, PagePool pool, ZeroBuffer zeros) {
        this.owner = owner;
        this.pool = pool;
        this.zeros = zeros;
        this.readView = pool.view();
    }

    void assign(Job owner) {
        this.job = owner;
        int n = owner.dests.length;
        if (writes.length < n) {
            DestinationWrite[] grown = new DestinationWrite[n];
            System.arraycopy(writes, 0, grown, 0, writes.length);
            for (int i = writes.length; i < n; i++) {
                grown[i] = new DestinationWrite(i);
            }
            writes = grown;
            writeFailures = new Throwable[n];
        }
    }

    void clear() {
        job = null;
        firstPage = -1;
        pageCount = 0;
        readFailure = null;
        java.util.Arrays.fill(writeFailures, null);
        readDoneAwaitingTurn = false;
    }

    int bytes() {
        return sectors * BlockDevice.SECTOR_SIZE;
    }

    private int bufferStart() {
        return firstPage * PagePool.PAGE;
    }

    /** Runs on an I/O thread: starts the read, or for a zero job the writes (under WRITE_SEQ, in turn). */
    @Override
    public void run() {
        if (job.isZero()) {
            if (job.writeSeq) {
                // Nothing to read: the chunk waits for its turn to write like a copied one.
                readDoneAwaitingTurn = true;
                owner.done(this);
            } else {
                startWrites();
            }
            return;
        }
        IoRegion source = job.source;
        int start = bufferStart();
        readView.limit(start + bytes()).position(start);
        CompletionStage<Void> stage;
        try {
            stage = source.device().read(source.sector() + offset, readView);
        } catch (RuntimeException | Error e) {
            accept(null, e);
            return;
        }
        stage.whenComplete(this);
    }

    /** Read completion, on whatever thread completed the device's stage. */
    @Override
    public void accept(Void ignored, Throwable failure) {
        if (failure != null) {
            readFailure = unwrap(failure);
            if (!job.ignoreError) {
                owner.done(this);
                return;
            }
            // IGNORE_ERROR: the destinations still get this chunk, as zeros.
            ByteBuffer chunk = readView.duplicate();
            chunk.limit(bufferStart() + bytes()).position(bufferStart());
            zeros.fill(chunk);
        } else {
            owner.countRead(bytes());
        }
        if (job.writeSeq) {
            readDoneAwaitingTurn = true;
            owner.done(this);
        } else {
            startWrites();
        }
    }

    /** Issues the writes to every destination: destination 0 on this thread, the rest in parallel. */
    void startWrites() {
        readDoneAwaitingTurn = false;
        int n = job.dests.length;
        pendingWrites.set(n);
        for (int i = 1; i < n; i++) {
            owner.execute(writes[i]);
        }
        writes[0].run();
    }

    private void writeDone(int dest, Throwable failure) {
        if (failure != null) {
            writeFailures[dest] = unwrap(failure);
        } else {
            owner.countWritten(bytes());
        }
        if (pendingWrites.decrementAndGet() == 0) {
            owner.done(this);
        }
    }

    static Throwable unwrap(Throwable t) {
        Throwable cause = t;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    /** What a sub-job needs of the client that owns it; called on I/O threads (execute also on the worker). */
    interface Owner {

        /** Runs a task on an I/O thread (on this thread when the I/O threads are shutting down). */
        void execute(Runnable task);

        /** Hands the sub-job back to its client's worker. */
        void done(SubJob subJob);

        void countRead(int bytes);

        void countWritten(int bytes);
    }

    /** The write of this sub-job's chunk to one destination; reused for every chunk. */
    private final class DestinationWrite implements Runnable, BiConsumer<Void, Throwable> {
        private final int dest;
        private ByteBuffer view;

        DestinationWrite(int dest) {
            this.dest = dest;
        }

        @Override
        public void run() {
            IoRegion region = job.dests[dest];
            BlockDevice device = region.device();
            long sector = region.sector() + offset;
            CompletionStage<Void> stage;
            try {
                if (job.isZero()) {
                    stage = device.supportsWriteZeroes() ? device.writeZeroes(sector, sectors)
                            : device.write(sector, zeros.slice(bytes()));
                } else {
                    if (view == null) {
                        view = pool.view();
                    }
                    int start = bufferStart();
                    view.limit(start + bytes()).position(start);
                    stage = device.write(sector, view);
                }
            } catch (RuntimeException | Error e) {
                accept(null, e);
                return;
            }
            stage.whenComplete(this);
        }

        @Override
        public void accept(Void ignored, Throwable failure) {
            writeDone(dest, failure);
        }
    }
}
