package org.kcopyd.api;

import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * A consumer's client from a dynamically bound {@link KcopydClientFactory}: call {@link #bind}
 * and {@link #unbind} from a dynamic (usually greedy) service reference, and ask
 * {@link #client(Duration)} or {@link #submit} for work. While no factory is bound, work waits
 * for one, up to the given time, then fails with an {@link IOException} that says so; when a
 * factory is unbound, its client is closed after its jobs finish and report; when another is
 * bound, waiting work continues with it. Once {@link #close() closed}, work waiting for a
 * factory and work asked for later fail at once.
 *
 * <pre>{@code
 * private final ClientBinding kcopyd = new ClientBinding(f -> f.createClient());
 *
 * @Reference(policy = DYNAMIC, policyOption = GREEDY, cardinality = OPTIONAL)
 * void bind(KcopydClientFactory f) { kcopyd.bind(f); }
 * void unbind(KcopydClientFactory f) { kcopyd.unbind(f); }
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class ClientBinding implements AutoCloseable {

    private final Function<KcopydClientFactory, KcopydClient> clientMaker;
    private final Map<KcopydClientFactory, KcopydClient> clients = new LinkedHashMap<>();
    private KcopydClient current;
    private CompletableFuture<KcopydClient> next = new CompletableFuture<>();
    private boolean closed;

    /**
     * @param clientMaker makes the client for a newly bound factory (choose pages, throttle, name)
     */
    public ClientBinding(Function<KcopydClientFactory, KcopydClient> clientMaker) {
        this.clientMaker = Objects.requireNonNull(clientMaker, "clientMaker");
    }

    /**
     * A factory appeared: makes its client, which becomes the current one.
     *
     * @param factory the bound factory
     */
    public void bind(KcopydClientFactory factory) {
        KcopydClient client = clientMaker.apply(factory);
        CompletableFuture<KcopydClient> waiting;
        synchronized (this) {
            if (closed) {
                client.close();
                return;
            }
            clients.put(factory, client);
            current = client;
            waiting = next;
            next = new CompletableFuture<>();
        }
        waiting.complete(client);
    }

    /**
     * A factory went away: closes its client, which first finishes its accepted jobs. Blocks until then.
     *
     * @param factory the unbound factory
     */
    public void unbind(KcopydClientFactory factory) {
        KcopydClient client;
        synchronized (this) {
            client = clients.remove(factory);
            if (current == client) {
                current = null;
                for (KcopydClient other : clients.values()) {
                    current = other;
                }
            }
        }
        if (client != null) {
            client.close();
        }
    }

    /** @return true while a factory is bound */
    public synchronized boolean isBound() {
        return current != null;
    }

    /**
     * @param maxWait how long to wait for a factory when none is bound
     * @return a stage completed with the current client, or exceptionally with an
     *         {@link IOException} when no factory was bound in time or the binding is (or gets)
     *         closed
     */
    public CompletableFuture<KcopydClient> client(Duration maxWait) {
        CompletableFuture<KcopydClient> waiting;
        synchronized (this) {
            if (closed) {
                return CompletableFuture.failedFuture(closedError());
            }
            if (current != null) {
                return CompletableFuture.completedFuture(current);
            }
            waiting = next;
        }
        return waiting.copy().orTimeout(maxWait.toMillis(), TimeUnit.MILLISECONDS).exceptionallyCompose(e ->
                CompletableFuture.failedFuture(e instanceof TimeoutException
                        ? new IOException("no KcopydClientFactory service became available within " + maxWait.toMillis()
                                + " ms")
                        : e instanceof CompletionException && e.getCause() != null ? e.getCause()
                        : e));
    }

    private static IOException closedError() {
        return new IOException("the kcopyd client binding is closed: its consumer is stopping");
    }

    /**
     * Runs {@code job} with the current client, on a pool thread (never a client's completion
     * thread, where a submission at the admission bound would be refused rather than wait). If
     * that client is closed meanwhile (its factory went away), runs it once more with the next.
     *
     * @param <T>     the job's result type
     * @param maxWait how long to wait for a factory
     * @param job     submits work to the client
     * @return the job's stage
     */
    public <T> CompletableFuture<T> submit(Duration maxWait, Function<KcopydClient, CompletionStage<T>> job) {
        return client(maxWait).thenComposeAsync(c -> {
            try {
                return job.apply(c);
            } catch (IllegalStateException closed) {
                return client(maxWait).thenCompose(job);
            }
        });
    }

    /**
     * Closes every client still held (their accepted jobs finish first). Work waiting for a
     * factory fails at once with an {@link IOException}, rather than after its wait; so does
     * every {@link #client} or {@link #submit} call after this one, and a factory bound later is
     * not used.
     */
    @Override
    public void close() {
        Map<KcopydClientFactory, KcopydClient> all;
        CompletableFuture<KcopydClient> waiting;
        synchronized (this) {
            closed = true;
            all = new LinkedHashMap<>(clients);
            clients.clear();
            current = null;
            waiting = next;
        }
        waiting.completeExceptionally(closedError());
        all.values().forEach(KcopydClient::close);
    }
}
