package org.kcopyd.impl.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.IoRegion;

/**
 * The pages and io stages of a client's worker, as in dm-kcopyd. An accepted job is split among
 * up to {@code subJobsPerJob} sub-jobs, which queue for pages; {@link #dispatch()} gives the
 * sub-job at the head of the queue its job's next chunk and sends it to the I/O threads while
 * pages and the throttle allow. A sub-job that cannot get its pages stays at the head: pages only
 * return when chunks finish, and a chunk never needs more pages than the client has, so the
 * oldest job always progresses. A returning sub-job takes its job's next chunk or retires; the
 * last one out ends the job's I/O. Under WRITE_SEQ a chunk that has been read waits for its turn:
 * it writes once every earlier chunk of its job is written.
 *
 * <p>A chunk that every destination takes by offload ({@link Job#offloadDests()}) gets no pages
 * and is {@value #OFFLOAD_CHUNK} sectors long (where the source advised the offload, its share of
 * {@value #ADVISED_OFFLOAD_IN_FLIGHT}); one whose offload failed comes back to be copied
 * again at its offset with pages, ahead of the job's next chunks.
 *
 * <p><b>Merging.</b> As the block layer merges adjacent requests, a small job (one chunk, a plain
 * copy: no SPARSE, WRITE_SEQ, IGNORE_ERROR or offload, its source not among its destinations) at the
 * head of the queue takes the jobs queued right behind it whose regions continue its own on the
 * source and on every destination (the same devices), up to one chunk in all: one read and one
 * write per destination then copy them all ({@link SubJob#riders}), and each job still ends on its
 * own. If that I/O fails anywhere, each job is copied again alone, so that an error is reported by
 * the jobs whose sectors it concerns, never by a neighbour.
 *
 * <p>Only the client's worker thread calls it.
 */
final class ChunkScheduler {

    /** Sectors (1 GiB): the largest chunk of known zeros, written as one write-zeroes per destination. */
    static final long MAX_ZERO_CHUNK = 1L << 21;
    /**
     * Sectors (8 MiB): the size of a chunk offloaded to every destination, unless the sub-jobs
     * are larger. It needs no pages, so only the cost of a call and the steps of progress and
     * cancel (a chunk in flight always finishes) set it.
     */
    static final int OFFLOAD_CHUNK = 1 << 14;
    /**
     * Sectors (256 MiB): the most a job has in flight in chunks offloaded to every destination
     * where the source advised it ({@link Job#offloadAdvised}: a reflink shares blocks, a server
     * copies), shared among its sub-jobs: 32 MiB chunks with the default 8. A reflink of 8 MiB
     * costs about as much as a larger one (measured on XFS: 1 GiB in 16 ms as 8 MiB chunks, 3 ms for
     * {@code cp --reflink} in one call); such chunks take no pages, so without this bound every
     * sub-job would have one in flight, and a cancel waits for all of them.
     */
    static final int ADVISED_OFFLOAD_IN_FLIGHT = 1 << 19;

    private final PagePool pool;
    private final ZeroBuffer zeros;
    private final IoThrottle throttle;
    private final SubJob.Owner owner;
    private final Listener listener;
    private final int chunkSectors;
    private final int zeroChunkSectors;
    private final int offloadChunkSectors;
    private final int advisedOffloadChunkSectors;
    private final int subJobsPerJob;

    private final ArrayDeque<SubJob> pagesQueue = new ArrayDeque<>();
    private final ArrayDeque<SubJob> idleSubJobs = new ArrayDeque<>();
    private final List<SubJob> awaitingTurn = new ArrayList<>();
    /** The head's riders-to-be while {@link #dispatch()} gets its pages; empty otherwise. */
    private final List<SubJob> candidates = new ArrayList<>();

    ChunkScheduler(PagePool pool, ZeroBuffer zeros, IoThrottle throttle, SubJob.Owner owner, int subJobKiB,
            int subJobsPerJob, Listener listener) {
        this.pool = pool;
        this.zeros = zeros;
        this.throttle = throttle;
        this.owner = owner;
        this.listener = listener;
        // A client with fewer pages than one sub-job gets smaller sub-jobs rather than a refusal.
        int chunkPages = Math.min(subJobKiB / 4, pool.pages());
        this.chunkSectors = chunkPages * (PagePool.PAGE / BlockDevice.SECTOR_SIZE);
        this.zeroChunkSectors = Math.min(subJobKiB * 2, zeros.capacity() / BlockDevice.SECTOR_SIZE);
        this.offloadChunkSectors = Math.max(OFFLOAD_CHUNK, subJobKiB * 2);
        this.advisedOffloadChunkSectors = Math.max(offloadChunkSectors, ADVISED_OFFLOAD_IN_FLIGHT / subJobsPerJob);
        this.subJobsPerJob = subJobsPerJob;
    }

    /** Splits an accepted copy or zero job among its sub-jobs and queues them for pages. */
    void add(Job job) {
        long chunk = job.isZero() ? zeroChunkSectors : chunkSectors;
        long chunks = (job.count + chunk - 1) / chunk;
        int n = (int) Math.min(subJobsPerJob, chunks);
        job.subJobs = n;
        for (int i = 0; i < n; i++) {
            SubJob subJob = idleSubJobs.isEmpty() ? new SubJob(owner, pool, zeros) : idleSubJobs.poll();
            subJob.assign(job);
            pagesQueue.add(subJob);
        }
    }

    /** A sub-job came back from the I/O threads: its chunk is done, or (WRITE_SEQ) read and awaiting its turn. */
    void returned(SubJob subJob) {
        Job job = subJob.job;
        if (subJob.redo) {
            // An offload failed in a chunk without pages: the same chunk again, with pages, before the next.
            throttle.ioFinished(System.nanoTime());
            subJob.redo = false;
            subJob.readFailure = null;
            Arrays.fill(subJob.writeFailures, null);
            // Copied again in chunks that fit the pages, from its start to its end.
            subJob.retryEnd = subJob.offset + subJob.sectors;
            subJob.retry = true;
            pagesQueue.addFirst(subJob);
            return;
        }
        if (!subJob.riders.isEmpty()) {
            returnedMerged(subJob);
            return;
        }
        if (subJob.readDoneAwaitingTurn) {
            // WRITE_SEQ: the chunk is read; it writes when every earlier chunk has been written.
            awaitingTurn.add(subJob);
            releaseTurns(job);
            return;
        }
        throttle.ioFinished(System.nanoTime());
        releasePages(subJob);
        chunkDone(subJob);
    }

    /**
     * A merged chunk came back: each of its jobs ends its chunk as if copied alone; or, if the I/O
     * failed, each goes back to the head of the queue, in order, to be copied again alone (as a
     * retry, which is never merged).
     */
    private void returnedMerged(SubJob leader) {
        throttle.ioFinished(System.nanoTime());
        releasePages(leader);
        boolean failed = leader.readFailure != null;
        for (Throwable t : leader.writeFailures) {
            failed |= t != null;
        }
        List<SubJob> members = new ArrayList<>(leader.riders.size() + 1);
        members.add(leader);
        members.addAll(leader.riders);
        leader.riders.clear();
        int bytes = leader.bytes();
        leader.sectors = leader.ownSectors;
        if (!failed) {
            // Counted here, not by the sub-job: a failed merged chunk counts only its copies job by job.
            owner.countRead(bytes);
            for (int i = 0; i < leader.job.dests.length; i++) {
                owner.countWritten(bytes);
            }
            for (SubJob member : members) {
                chunkDone(member);
            }
            return;
        }
        for (int i = members.size() - 1; i >= 0; i--) {
            SubJob member = members.get(i);
            member.readFailure = null;
            Arrays.fill(member.writeFailures, null);
            member.retryEnd = member.offset + member.sectors;
            member.retry = true;
            member.split = true;
            pagesQueue.addFirst(member);
        }
    }

    /** The sub-job's chunk ended (its pages are free): records it in its job and gives it the next or retires it. */
    private void chunkDone(SubJob subJob) {
        Job job = subJob.job;
        job.recordRead(subJob.readFailure);
        if (subJob.zerosUntil > job.zerosUntil) {
            // The source reported zeros past this chunk: the rest of them goes out unread, in large chunks.
            job.zerosUntil = subJob.zerosUntil;
        }
        boolean failed = subJob.readFailure != null;
        for (int i = 0; i < job.dests.length; i++) {
            Throwable t = subJob.writeFailures[i];
            if (t != null) {
                job.recordWrite(i, t);
                failed = true;
            }
        }
        job.chunkEnded(subJob.sectors, !failed);
        subJob.readFailure = null;
        Arrays.fill(subJob.writeFailures, null);
        if (failed && !job.ignoreError) {
            job.stopped = true;
        }
        if (job.writeSeq) {
            job.nextWriteOffset = subJob.offset + subJob.sectors;
            releaseTurns(job);
        }
        long next = subJob.offset + subJob.sectors;
        if (subJob.retryEnd > next && !job.stopped) {
            // The rest of a chunk to copy again after a failed offload.
            subJob.offset = next;
            subJob.retry = true;
            pagesQueue.addFirst(subJob);
            return;
        }
        subJob.retryEnd = 0;
        if (job.hasMoreChunks()) {
            pagesQueue.add(subJob);
        } else {
            retire(subJob);
        }
    }

    /**
     * The job was stopped from outside (an abort): its sub-jobs waiting for their turn to write
     * retire now; those still doing I/O retire when they return.
     */
    void stopped(Job job) {
        releaseTurns(job);
    }

    /**
     * The job was cancelled ({@link Job#stopped} already set): its sub-jobs waiting for pages
     * (which hold none) and those waiting for their turn to write (whose pages go back) retire
     * now; those doing I/O retire when they return, and so do those copying again alone a chunk of
     * a failed merge (it was handed out). The last one out ends the job's I/O.
     */
    void cancel(Job job) {
        int queued = pagesQueue.size();
        for (int i = 0; i < queued; i++) {
            SubJob subJob = pagesQueue.pollFirst();
            if (subJob.job == job && !subJob.split) {
                releasePages(subJob);
                retire(subJob);
            } else {
                pagesQueue.addLast(subJob);
            }
        }
        releaseTurns(job);
    }

    private void releaseTurns(Job job) {
        for (int i = 0; i < awaitingTurn.size(); i++) {
            SubJob waitingSubJob = awaitingTurn.get(i);
            if (waitingSubJob.job != job) {
                continue;
            }
            if (job.stopped) {
                awaitingTurn.remove(i--);
                throttle.ioFinished(System.nanoTime());
                releasePages(waitingSubJob);
                retire(waitingSubJob);
            } else if (waitingSubJob.offset == job.nextWriteOffset) {
                awaitingTurn.remove(i);
                owner.execute(waitingSubJob::startWrites);
                return;
            }
        }
    }

    private void releasePages(SubJob subJob) {
        if (subJob.firstPage >= 0) {
            pool.free(subJob.firstPage, subJob.pageCount);
            subJob.firstPage = -1;
            subJob.pageCount = 0;
        }
    }

    /** A sub-job with no further chunk leaves its job; the last one out ends the job's I/O. */
    private void retire(SubJob subJob) {
        Job job = subJob.job;
        subJob.clear();
        idleSubJobs.add(subJob);
        if (--job.subJobs == 0 && !job.finished) {
            started(job);
            listener.ioDone(job);
        }
    }

    private void started(Job job) {
        if (!job.started) {
            job.started = true;
            listener.started(job);
        }
    }

    /**
     * Sends queued sub-jobs to the I/O threads, each with its job's next chunk, until one cannot
     * get its pages or the throttle asks to wait; that one stays at the head of the queue.
     *
     * @return the {@link System#nanoTime()} at which the throttle lets the head go, or 0 when
     *         only a returning chunk can let it go (or the queue is empty)
     */
    long dispatch() {
        boolean limiting = throttle.isLimiting();
        while (!pagesQueue.isEmpty()) {
            SubJob subJob = pagesQueue.peekFirst();
            Job job = subJob.job;
            // A chunk of a failed merge was handed out: only an abort (which decides the job) drops it.
            boolean dropped = subJob.retry ? job.stopped && !(subJob.split && !job.finished) : !job.hasMoreChunks();
            if (dropped) {
                pagesQueue.pollFirst();
                retire(subJob);
                continue;
            }
            long chunk = job.isZero() ? zeroChunkSectors : chunkSectors;
            boolean knownZeros = !subJob.retry && job.sparse && job.zerosUntil > job.nextOffset;
            long offloadMask = job.isZero() || knownZeros ? 0 : job.offloadDests();
            boolean offloadOnly = !subJob.retry && offloadMask != 0 && offloadMask == job.allDests;
            if (knownZeros) {
                // Zeros need no pages; a destination without write-zeroes gets them from the zero buffer.
                chunk = job.zeroCommands ? MAX_ZERO_CHUNK : zeroChunkSectors;
                chunk = Math.min(chunk, job.zerosUntil - job.nextOffset);
            } else if (offloadOnly) {
                chunk = job.offloadAdvised ? advisedOffloadChunkSectors : offloadChunkSectors;
            }
            int sectors = (int) (subJob.retry ? Math.min(chunkSectors, subJob.retryEnd - subJob.offset)
                    : Math.min(chunk, job.count - job.nextOffset));
            int bytes = sectors * BlockDevice.SECTOR_SIZE;
            subJob.knownZeros = knownZeros;
            subJob.offloadMask = offloadMask;
            subJob.offloadOnly = offloadOnly;
            int merged = 0;
            if (!job.isZero() && !knownZeros && !offloadOnly) {
                merged = mergeable(subJob, offloadMask, sectors) ? gatherRiders(job, sectors) : 0;
                int pages = (bytes + merged * BlockDevice.SECTOR_SIZE + PagePool.PAGE - 1) / PagePool.PAGE;
                int first = pool.allocate(pages);
                if (first < 0 && merged > 0) {
                    // Not enough pages for them all: this job alone, the others wait their turn.
                    merged = 0;
                    candidates.clear();
                    pages = (bytes + PagePool.PAGE - 1) / PagePool.PAGE;
                    first = pool.allocate(pages);
                }
                if (first < 0) {
                    candidates.clear();
                    return 0;
                }
                subJob.firstPage = first;
                subJob.pageCount = pages;
            }
            long now = System.nanoTime();
            if (limiting) {
                long delay = throttle.delayNanos(knownZeros ? 0 : bytes + merged * BlockDevice.SECTOR_SIZE, now);
                if (delay > 0) {
                    releasePages(subJob);
                    candidates.clear();
                    return now + delay;
                }
            }
            pagesQueue.pollFirst();
            if (subJob.retry) {
                subJob.retry = false;
                subJob.sectors = sectors;
            } else {
                subJob.offset = job.nextOffset;
                subJob.sectors = sectors;
                job.nextOffset += sectors;
            }
            started(job);
            if (merged > 0) {
                ride(subJob, sectors);
                subJob.sectors = sectors + merged;
            }
            throttle.ioStarted(now);
            if (job.sourceNonBlocking) {
                // Its read only starts the I/O: started here, without waking an I/O thread for it.
                subJob.run();
            } else {
                owner.execute(subJob);
            }
        }
        return 0;
    }

    /**
     * @return true if the head sub-job's chunk may carry later jobs: its whole job is this one chunk
     *         of a plain copy (see the class comment), not a retry, and the chunk has room left
     */
    private boolean mergeable(SubJob subJob, long offloadMask, int sectors) {
        Job job = subJob.job;
        return !subJob.retry && offloadMask == 0 && plain(job) && job.nextOffset == 0 && job.count == sectors
                && sectors < chunkSectors;
    }

    /**
     * A copy without flags that change how its chunks are read or written, from a device it does not
     * write (not even opened twice: equal devices are one file): merged, a job's read could otherwise
     * cover sectors another merged job writes, read before that write where alone it might have come
     * after. Jobs in flight together have no order among them anyway (as in dm-kcopyd); this keeps
     * merging from making one certain where it is visible.
     */
    private static boolean plain(Job job) {
        if (job.kind != Job.Kind.COPY || job.sparse || job.writeSeq || job.ignoreError || job.stopped) {
            return false;
        }
        for (IoRegion dest : job.dests) {
            if (dest.device() == job.source.device() || dest.device().equals(job.source.device())
                    || job.source.device().equals(dest.device())) {
                return false;
            }
        }
        return true;
    }

    /**
     * Finds, right behind the head, the sub-jobs of whole small jobs whose regions continue the
     * head job's on the same devices ({@link #candidates}), within one chunk; takes none of them.
     *
     * @return the sectors they add to the head's chunk
     */
    private int gatherRiders(Job leader, int sectors) {
        int total = sectors;
        Iterator<SubJob> queued = pagesQueue.iterator();
        queued.next();
        while (queued.hasNext()) {
            SubJob next = queued.next();
            Job job = next.job;
            if (next.retry || !plain(job) || job.nextOffset != 0 || job.count > chunkSectors - total
                    || job.offloadDests() != 0 || !continues(leader, job, total)) {
                break;
            }
            candidates.add(next);
            total += (int) job.count;
        }
        return total - sectors;
    }

    /** @return true if {@code job}'s regions start {@code at} sectors after {@code leader}'s, device by device */
    private static boolean continues(Job leader, Job job, long at) {
        if (job.source.device() != leader.source.device() || job.source.sector() != leader.source.sector() + at
                || job.dests.length != leader.dests.length) {
            return false;
        }
        for (int i = 0; i < job.dests.length; i++) {
            if (job.dests[i].device() != leader.dests[i].device()
                    || job.dests[i].sector() != leader.dests[i].sector() + at) {
                return false;
            }
        }
        return true;
    }

    /** Takes the {@link #candidates}, now right behind the dispatched head, as its riders. */
    private void ride(SubJob leader, int sectors) {
        leader.ownSectors = sectors;
        for (SubJob rider : candidates) {
            SubJob polled = pagesQueue.pollFirst();
            assert polled == rider : "the queue changed under the merge";
            Job job = rider.job;
            rider.offset = 0;
            rider.sectors = (int) job.count;
            job.nextOffset = job.count;
            started(job);
            leader.riders.add(rider);
        }
        candidates.clear();
    }

    /** What the scheduler tells its client's worker, on the worker thread. */
    interface Listener {

        /** The job's first chunk went to I/O, or its I/O ended before any did; once per job. */
        void started(Job job);

        /** The job's last sub-job retired: none of its I/O is left (it may have stopped early). */
        void ioDone(Job job);
    }
}
