package org.kcopyd.impl.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;

/**
 * One device's last answer to {@link BlockDevice#extents} within one sparse job, so that the
 * job's chunks do not each ask again: a chunk inside the range the last answer covered uses it,
 * another asks from its own start to the end of the job's region (the device answers as much as
 * it likes, at least the first run). Asking a file where a hole ends walks the file system's
 * mapping up to it; asking per chunk would walk a large extent once per chunk.
 *
 * <p>Valid for the job: each chunk's range is written by that chunk alone, after it has used the
 * answer for that range, so the job's own writes never make an answer wrong where it is used;
 * writers outside the job make a copy of a changing device undefined anyway. Thread-safe: the
 * job's sub-jobs share it. Of a {@linkplain BlockDevice#isNonBlocking non-blocking} device (NBD), a
 * chunk that finds a question in flight from at or before its start waits for that answer, once,
 * rather than asking too: the sub-jobs start together, and each question of an NBD server walks its
 * file from there (nbdkit's {@code file} plugin seeks the next hole, to the end of a file without
 * any: eight walks of the whole file for one copy's start). Of other devices, whose answers are
 * made on the asking thread, two asking at once both ask (a waiter would run on the other's
 * thread), and either answer is kept.
 */
final class ExtentCache {

    /** A well-formed answer: contiguous runs covering {@code [from, to)}. */
    private record Answer(long from, long to, List<Extent> runs) {
    }

    /** A question in flight: from {@code from} to {@code limit}; its answer, null if it broke the rules. */
    private record Question(long from, long limit, CompletableFuture<Answer> answer) {
    }

    private volatile Answer last;
    private final AtomicReference<Question> asking = new AtomicReference<>();

    /**
     * @param device the device
     * @param start  the chunk's first sector on the device
     * @param end    the sector after the chunk
     * @param limit  the sector after the job's region on the device: asked up to there
     * @return contiguous runs covering {@code start} (possibly starting before it) as far as the
     *         device answered by the rules, none if its answer broke them, or a failed stage
     */
    CompletionStage<List<Extent>> lookup(BlockDevice device, long start, long end, long limit) {
        Answer a = last;
        if (a != null && a.from <= start && a.to >= end) {
            return CompletableFuture.completedStage(a.runs);
        }
        if (!device.isNonBlocking()) {
            return ask(device, start, limit, null);
        }
        Question q = asking.get();
        if (q != null && q.from <= start && q.limit >= end) {
            // Its answer, if it covers this chunk; else this chunk asks itself.
            return q.answer.thenCompose(answer -> answer != null && answer.from <= start && answer.to >= end
                    ? CompletableFuture.completedStage(answer.runs) : ask(device, start, limit, null));
        }
        Question mine = new Question(start, limit, new CompletableFuture<>());
        asking.set(mine);
        return ask(device, start, limit, mine);
    }

    /** Asks the device; completes {@code question} (if any) with the answer, null for none or a failure. */
    private CompletionStage<List<Extent>> ask(BlockDevice device, long start, long limit, Question question) {
        CompletionStage<List<Extent>> answer;
        try {
            answer = device.extents(start, limit - start);
        } catch (RuntimeException e) {
            answered(question, null);
            return CompletableFuture.failedStage(e);
        }
        return answer.handle((runs, failure) -> {
            Answer kept = failure == null ? wellFormed(start, limit, runs) : null;
            if (kept != null) {
                last = kept;
            }
            answered(question, kept);
            if (failure != null) {
                throw failure instanceof CompletionException c ? c : new CompletionException(failure);
            }
            return kept == null ? List.<Extent>of() : kept.runs;
        });
    }

    private void answered(Question question, Answer answer) {
        if (question != null) {
            asking.compareAndSet(question, null);
            question.answer.complete(answer);
        }
    }

    /** @return the answer's runs that follow the rules, from {@code start} on and not past {@code limit}, or null */
    private static Answer wellFormed(long start, long limit, List<Extent> runs) {
        if (runs == null) {
            return null;
        }
        List<Extent> good = new ArrayList<>(Math.min(runs.size(), 64));
        long pos = start;
        for (Extent run : runs) {
            if (run == null || run.sector() != pos || run.endSector() > limit) {
                break;
            }
            good.add(run);
            pos = run.endSector();
        }
        return good.isEmpty() ? null : new Answer(start, pos, List.copyOf(good));
    }
}
