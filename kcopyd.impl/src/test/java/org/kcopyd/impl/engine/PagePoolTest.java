package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class PagePoolTest {

    @Test
    void handsOutContiguousRunsAllOrNothing() {
        PagePool pool = new PagePool(8);
        int a = pool.allocate(3);
        int b = pool.allocate(3);
        assertThat(a).isZero();
        assertThat(b).isEqualTo(3);
        assertThat(pool.allocate(3)).as("only 2 left").isEqualTo(-1);
        assertThat(pool.inUse()).isEqualTo(6);
        assertThat(pool.allocate(2)).isEqualTo(6);
        assertThat(pool.inUse()).isEqualTo(8);
    }

    @Test
    void freedRunsAreReusedFirstFit() {
        PagePool pool = new PagePool(8);
        int a = pool.allocate(2);
        pool.allocate(2);
        pool.free(a, 2);
        assertThat(pool.allocate(3)).as("the 2-page hole is too small").isEqualTo(4);
        assertThat(pool.allocate(2)).isEqualTo(a);
    }

    @Test
    void viewsAreAlignedToThePageSoODirectCanUseThem() {
        // Many pools: the memory under some of them happens to start on a page boundary already (about
        // one in 256), and their views too are their pages, no more.
        // All held at once, so that each is new memory, not the last one's again.
        List<PagePool> pools = new ArrayList<>();
        try {
            for (int i = 0; i < 2000; i++) {
                PagePool pool = new PagePool(4);
                pools.add(pool);
                assertThat(pool.view().isDirect()).isTrue();
                assertThat(pool.view().alignmentOffset(0, PagePool.PAGE)).isZero();
                assertThat(pool.view().capacity()).as("pool %d", i).isEqualTo(4 * PagePool.PAGE);
            }
        } finally {
            pools.forEach(PagePool::release);
        }
    }

    @Test
    void releaseIsRefusedWhilePagesAreInUse() {
        PagePool pool = new PagePool(4);
        pool.allocate(1);
        assertThatThrownBy(pool::release).hasMessage("1 pages still in use");
    }
}
