package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.Extent;

/**
 * {@link SparseChunk}'s plans: a zero run shorter than {@link CopyFlag#SPARSE_MIN_RUN} between
 * data in the chunk is read and written with the data (the {@code --sparse=auto} trade-off), but
 * one at either edge of the chunk stays zeros: it may be the cut end of a long hole or zero run
 * that goes on in the next chunk (issue 13: such pieces were written as data and allocated pages a
 * copy to a new file did not need). Chunks of 1024 sectors (512 KiB, the default).
 */
class SparseChunkTest {

    private static final int CHUNK = 1024;
    /** {@link CopyFlag#SPARSE_MIN_RUN} in sectors: 128. */
    private static final int MIN_RUN = CopyFlag.SPARSE_MIN_RUN / 512;
    private static final long AT = 1L << 20;

    /** A segment of a plan: start and length in sectors from the chunk's start. */
    record Segment(int start, int length, boolean zero) {
    }

    private static List<Segment> segments(SparseChunk plan) {
        List<Segment> out = new ArrayList<>();
        for (int i = 0; i < plan.count(); i++) {
            out.add(new Segment(plan.start(i), plan.length(i), plan.isZero(i)));
        }
        return out;
    }

    private static Extent data(long sector, long count) {
        return new Extent(sector, count, Extent.Type.DATA);
    }

    private static Extent hole(long sector, long count) {
        return new Extent(sector, count, Extent.Type.HOLE);
    }

    @Test
    void theShortPieceOfALongHoleAtTheChunksEndStaysZerosAndTheRestIsHandedOut() {
        SparseChunk plan = new SparseChunk();
        // Data up to 16 sectors (8 KiB) before the chunk's end, then a hole of 1 MiB.
        long beyond = plan.plan(List.of(data(AT, CHUNK - 16), hole(AT + CHUNK - 16, 2048)), AT, CHUNK, false);

        assertThat(segments(plan)).containsExactly(new Segment(0, CHUNK - 16, false), new Segment(CHUNK - 16, 16, true));
        assertThat(beyond).isEqualTo(AT + CHUNK - 16 + 2048);
    }

    @Test
    void theShortPieceOfALongHoleAtTheChunksStartStaysZeros() {
        SparseChunk plan = new SparseChunk();
        // A hole that began a MiB before the chunk ends 24 sectors into it.
        plan.plan(List.of(hole(AT - 2048, 2048 + 24), data(AT + 24, 4096)), AT, CHUNK, false);

        assertThat(segments(plan)).containsExactly(new Segment(0, 24, true), new Segment(24, CHUNK - 24, false));
    }

    @Test
    void aShortHoleBetweenDataInTheChunkIsStillReadAndWrittenAsDataUnlessAlways() {
        List<Extent> runs = List.of(data(AT, 300), hole(AT + 300, MIN_RUN - 8), data(AT + 300 + MIN_RUN - 8, 4096));
        SparseChunk auto = new SparseChunk();
        SparseChunk always = new SparseChunk();

        auto.plan(runs, AT, CHUNK, false);
        always.plan(runs, AT, CHUNK, true);

        assertThat(segments(auto)).containsExactly(new Segment(0, CHUNK, false));
        assertThat(segments(always)).containsExactly(new Segment(0, 300, false),
                new Segment(300, MIN_RUN - 8, true), new Segment(300 + MIN_RUN - 8, CHUNK - 300 - MIN_RUN + 8, false));
    }

    @Test
    void aHoleOfTheMinimumRunBetweenDataStaysZeros() {
        SparseChunk plan = new SparseChunk();

        plan.plan(List.of(data(AT, 300), hole(AT + 300, MIN_RUN), data(AT + 300 + MIN_RUN, 4096)), AT, CHUNK, false);

        assertThat(segments(plan)).containsExactly(new Segment(0, 300, false), new Segment(300, MIN_RUN, true),
                new Segment(300 + MIN_RUN, CHUNK - 300 - MIN_RUN, false));
    }

    @Test
    void zerosReadAtTheChunksEdgesStayZerosAndShortOnesBetweenDataAreWrittenAsData() {
        SparseChunk plan = new SparseChunk();
        plan.plan(List.of(data(AT, 4096)), AT, CHUNK, false);
        ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK * 512);
        // Zeros in sectors [0, 8) and [1000, 1024) (edges, one and three 4 KiB blocks), and in
        // [400, 416) (two blocks between data); data everywhere else.
        for (int s = 8; s < 1000; s++) {
            if (s < 400 || s >= 416) {
                chunk.put(s * 512, (byte) 7);
            }
        }
        ByteBuffer zeros = ByteBuffer.allocateDirect(CHUNK * 512);

        plan.findZeros(chunk, zeros, false);

        assertThat(segments(plan)).containsExactly(new Segment(0, 8, true), new Segment(8, 992, false),
                new Segment(1000, 24, true));
    }

    @Test
    void aChunkOfDataWithNoZerosIsOneSegment() {
        SparseChunk plan = new SparseChunk();

        long beyond = plan.plan(List.of(data(AT - 8, CHUNK + 16)), AT, CHUNK, false);

        assertThat(segments(plan)).containsExactly(new Segment(0, CHUNK, false));
        assertThat(beyond).isEqualTo(-1);
    }
}
