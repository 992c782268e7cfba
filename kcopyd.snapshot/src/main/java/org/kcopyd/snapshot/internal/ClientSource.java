package org.kcopyd.snapshot.internal;

import java.util.concurrent.CompletableFuture;

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
}
