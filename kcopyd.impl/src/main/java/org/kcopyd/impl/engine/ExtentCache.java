package org.kcopyd.impl.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

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
 * job's sub-jobs share it; two asking at once both ask, and either answer is kept.
 */
final class ExtentCache {

    /** A well-formed answer: contiguous runs covering {@code [from, to)}. */
    private record Answer(long from, long to, List<Extent> runs) {
    }

    private volatile Answer last;

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
        CompletionStage<List<Extent>> answer;
        try {
            answer = device.extents(start, limit - start);
        } catch (RuntimeException e) {
            return CompletableFuture.failedStage(e);
        }
        return answer.thenApply(runs -> {
            Answer kept = wellFormed(start, limit, runs);
            if (kept == null) {
                return List.<Extent>of();
            }
            last = kept;
            return kept.runs;
        });
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
