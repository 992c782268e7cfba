package org.kcopyd.snapshot.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

import org.kcopyd.api.KcopydClient;

/**
 * Where copies get their kcopyd client: in OSGi, the client of the currently bound factory,
 * waited for (bounded) while there is none; in tests, a fixed client.
 */
@FunctionalInterface
interface ClientSource {

    /**
     * @return a stage completed with a usable client, or exceptionally (with a message saying
     *         why) when none became available in time
     */
    CompletableFuture<KcopydClient> client();

    /**
     * Runs {@code job} with a client, from a pool thread (never a client's completion thread,
     * which must not wait for admission). If the client was closed in between (its factory went
     * away), tries once more with the next one.
     */
    default <T> CompletableFuture<T> submit(Function<KcopydClient, CompletionStage<T>> job) {
        return client().thenComposeAsync(c -> {
            try {
                return job.apply(c);
            } catch (IllegalStateException closed) {
                return client().thenCompose(job);
            }
        });
    }
}
