package org.kcopyd.impl.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
        PagePool pool = new PagePool(4);
        assertThat(pool.view().isDirect()).isTrue();
        assertThat(pool.view().alignmentOffset(0, PagePool.PAGE)).isZero();
        assertThat(pool.view().capacity()).isEqualTo(4 * PagePool.PAGE);
    }

    @Test
    void releaseIsRefusedWhilePagesAreInUse() {
        PagePool pool = new PagePool(4);
        pool.allocate(1);
        assertThatThrownBy(pool::release).hasMessage("1 pages still in use");
    }
}
