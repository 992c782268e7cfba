package org.kcopyd.nbd.internal.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.Extent;
import org.kcopyd.api.Extent.Type;

/** base:allocation replies from a device's extents: statuses, merging, broken answers, REQ_ONE, the cap. */
class BlockStatusRepliesTest {

    /** @return the payload's context id, then (length, status) pairs */
    private static List<Long> decode(ByteBuffer payload) {
        List<Long> out = new ArrayList<>();
        out.add((long) payload.getInt());
        while (payload.hasRemaining()) {
            out.add(Integer.toUnsignedLong(payload.getInt()));
            out.add((long) payload.getInt());
        }
        return out;
    }

    @Test
    void dataZerosAndHolesMapToTheirStatusesAndRunsOfOneStatusMerge() {
        List<Extent> runs = List.of(new Extent(10, 8, Type.DATA), new Extent(18, 8, Type.DATA),
            new Extent(26, 16, Type.ZERO), new Extent(42, 8, Type.HOLE), new Extent(50, 10, Type.DATA));

        assertThat(decode(BlockStatusReplies.encode(7, 10, 50, runs, false)))
            .containsExactly(7L, 8192L, 0L, 8192L, 2L, 4096L, 3L, 5120L, 0L);
    }

    @Test
    void aFailedAnswerIsOneDataExtentOfTheWholeRange() {
        assertThat(decode(BlockStatusReplies.encode(1, 0, 2048, null, false))).containsExactly(1L, 1048576L, 0L);
    }

    @Test
    void fromTheFirstRunBreakingTheRulesTheRestIsData() {
        List<Extent> gap = List.of(new Extent(0, 8, Type.HOLE), new Extent(9, 8, Type.HOLE));
        assertThat(decode(BlockStatusReplies.encode(1, 0, 32, gap, false))).containsExactly(1L, 4096L, 3L, 12288L, 0L);
        List<Extent> past = List.of(new Extent(0, 8, Type.DATA), new Extent(8, 100, Type.HOLE));
        assertThat(decode(BlockStatusReplies.encode(1, 0, 32, past, false))).containsExactly(1L, 16384L, 0L);
        List<Extent> elsewhere = List.of(new Extent(5, 8, Type.HOLE));
        assertThat(decode(BlockStatusReplies.encode(1, 0, 32, elsewhere, false))).containsExactly(1L, 16384L, 0L);
    }

    @Test
    void aPrefixAnswerIsAPrefixReply() {
        List<Extent> prefix = List.of(new Extent(0, 8, Type.HOLE), new Extent(8, 8, Type.DATA));
        // The client asks again for the rest.
        assertThat(decode(BlockStatusReplies.encode(1, 0, 32, prefix, false))).containsExactly(1L, 4096L, 3L, 4096L, 0L);
    }

    @Test
    void reqOneSendsOnlyTheFirstExtent() {
        List<Extent> runs = List.of(new Extent(0, 8, Type.HOLE), new Extent(8, 8, Type.HOLE), new Extent(16, 8, Type.DATA));
        assertThat(decode(BlockStatusReplies.encode(1, 0, 24, runs, true))).containsExactly(1L, 8192L, 3L);
    }

    @Test
    void atMostMaxExtentsAreSent() {
        List<Extent> runs = new ArrayList<>();
        for (int i = 0; i < BlockStatusReplies.MAX_EXTENTS + 10; i++) {
            runs.add(new Extent(i, 1, i % 2 == 0 ? Type.DATA : Type.HOLE));
        }
        List<Long> reply = decode(BlockStatusReplies.encode(1, 0, runs.size(), runs, false));
        assertThat((reply.size() - 1) / 2).isEqualTo(BlockStatusReplies.MAX_EXTENTS);
    }
}
