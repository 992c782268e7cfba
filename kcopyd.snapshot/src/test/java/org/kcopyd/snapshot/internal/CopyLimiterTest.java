package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

class CopyLimiterTest {

    @Test
    void copiesBeyondTheCapWaitInOrderForAReleasedPermit() {
        CopyLimiter limiter = new CopyLimiter(2);
        CompletableFuture<Void> a = limiter.acquire();
        CompletableFuture<Void> b = limiter.acquire();
        CompletableFuture<Void> c = limiter.acquire();
        CompletableFuture<Void> d = limiter.acquire();

        assertThat(a).isDone();
        assertThat(b).isDone();
        assertThat(c).isNotDone();
        assertThat(limiter.inUseOrWaiting(2)).isEqualTo(4);

        limiter.release();
        assertThat(c).isDone();
        assertThat(d).isNotDone();
        limiter.release();
        limiter.release();
        limiter.release();
        assertThat(d).isDone();
        assertThat(limiter.inUseOrWaiting(2)).isZero();
    }
}
