package org.kcopyd.nbd.internal.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.Extent;
import org.kcopyd.api.Extent.Type;
import org.kcopyd.nbd.internal.protocol.ChunkPayloads;
import org.kcopyd.nbd.internal.protocol.Nbd;

/** A server's base:allocation extents as the device's answer: zeros only where NBD_STATE_ZERO says so. */
class ExtentRunsTest {

    private static ChunkPayloads.Extent e(long length, int status) {
        return new ChunkPayloads.Extent(length, status);
    }

    @Test
    void zeroBitMakesZerosHoleAloneIsData() {
        List<Extent> runs = ExtentRuns.of(0, List.of(e(4096, 0), e(4096, Nbd.STATE_HOLE | Nbd.STATE_ZERO),
            e(4096, Nbd.STATE_ZERO), e(4096, Nbd.STATE_HOLE)), 0, 32);

        assertThat(runs).containsExactly(new Extent(0, 8, Type.DATA), new Extent(8, 8, Type.HOLE),
            new Extent(16, 8, Type.ZERO), new Extent(24, 8, Type.DATA));
    }

    @Test
    void extentsStartingBeforeTheSectorAndReachingPastTheRangeAreClipped() {
        List<Extent> runs = ExtentRuns.of(0, List.of(e(1 << 20, Nbd.STATE_HOLE | Nbd.STATE_ZERO), e(1 << 20, 0)), 100,
            2000);

        assertThat(runs).containsExactly(new Extent(100, 1948, Type.HOLE), new Extent(2048, 52, Type.DATA));
    }

    @Test
    void unalignedExtentsRoundZerosInAndDataOut() {
        // A server with a minimum block of 1 byte: 700 bytes of data, 2000 of zeros, 400 of data.
        List<Extent> runs = ExtentRuns.of(0, List.of(e(700, 0), e(2000, Nbd.STATE_ZERO | Nbd.STATE_HOLE), e(400, 0)),
            0, 6);

        assertThat(runs).containsExactly(new Extent(0, 2, Type.DATA), new Extent(2, 3, Type.HOLE),
            new Extent(5, 1, Type.DATA));
    }

    @Test
    void anAnswerShorterThanTheRangeIsAPrefixAndAnEmptyOneData() {
        assertThat(ExtentRuns.of(0, List.of(e(4096, Nbd.STATE_ZERO)), 0, 100)).containsExactly(new Extent(0, 8, Type.ZERO));
        assertThat(ExtentRuns.of(0, List.of(e(100, Nbd.STATE_ZERO)), 0, 100)).containsExactly(new Extent(0, 100, Type.DATA));
    }
}
