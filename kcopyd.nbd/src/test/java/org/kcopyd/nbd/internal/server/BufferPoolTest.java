package org.kcopyd.nbd.internal.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** The listener-wide bound on payload buffers lent at once (hostile clients that never read replies). */
class BufferPoolTest {

    @Test
    void aTakeOverTheLentBoundWaitsUntilABufferComesBack() throws Exception {
        BufferPool pool = new BufferPool(1 << 20, 1 << 20);
        ByteBuffer first = pool.take(512 << 10);
        ByteBuffer second = pool.take(512 << 10);
        assertThat(pool.lentBytes()).isEqualTo(1 << 20);

        CompletableFuture<ByteBuffer> third = CompletableFuture.supplyAsync(() -> {
            try {
                return pool.take(4096);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        // It stays waiting while the bound is reached: checked over a while, not at one instant.
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).until(() -> !third.isDone());

        pool.give(first);
        ByteBuffer got = third.get(10, TimeUnit.SECONDS);
        assertThat(got.limit()).isEqualTo(4096);
        assertThat(pool.lentBytes()).isEqualTo((512 << 10) + 4096);
        pool.give(second);
        pool.give(got);
        assertThat(pool.lentBytes()).isZero();
    }

    @Test
    void oneBufferLargerThanTheBoundIsLentWhenNoneIsOut() throws Exception {
        BufferPool pool = new BufferPool(0, 64 << 10);
        ByteBuffer big = pool.take(1 << 20);
        assertThat(big.capacity()).isEqualTo(1 << 20);
        pool.give(big);
        assertThat(pool.lentBytes()).isZero();
    }
}
