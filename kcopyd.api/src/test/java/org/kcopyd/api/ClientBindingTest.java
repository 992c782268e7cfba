package org.kcopyd.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/** {@link ClientBinding#close()} fails work waiting for a factory at once, and all work after it. */
class ClientBindingTest {

    /** Far longer than any assertion waits: a failure within it did not come from the wait running out. */
    private static final Duration LONG_WAIT = Duration.ofMinutes(10);

    private final AtomicInteger clientsClosed = new AtomicInteger();

    private KcopydClient client() {
        return (KcopydClient) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {KcopydClient.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("close")) {
                        clientsClosed.incrementAndGet();
                        return null;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }

    private static KcopydClientFactory factory() {
        return (KcopydClientFactory) Proxy.newProxyInstance(ClientBindingTest.class.getClassLoader(),
                new Class<?>[] {KcopydClientFactory.class}, (proxy, method, args) -> {
                    if (method.getName().equals("toString")) {
                        return "factory";
                    }
                    if (method.getName().equals("hashCode")) {
                        return System.identityHashCode(proxy);
                    }
                    if (method.getName().equals("equals")) {
                        return proxy == args[0];
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }

    private static void assertFailsWithClosed(CompletableFuture<?> work) {
        assertThatThrownBy(() -> work.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(IOException.class).hasMessageContaining("client binding is closed");
    }

    @Test
    void closeFailsWorkWaitingForAFactoryAtOnce() {
        ClientBinding binding = new ClientBinding(f -> client());
        CompletableFuture<KcopydClient> waiting = binding.client(LONG_WAIT);
        CompletableFuture<String> submitted = binding.submit(LONG_WAIT, c -> CompletableFuture.completedFuture("ran"));
        assertThat(waiting).isNotDone();

        binding.close();

        assertFailsWithClosed(waiting);
        assertFailsWithClosed(submitted);
    }

    @Test
    void workAskedForAfterCloseFailsAtOnce() {
        ClientBinding binding = new ClientBinding(f -> client());
        binding.bind(factory());
        binding.close();

        assertThat(clientsClosed).hasValue(1);
        assertFailsWithClosed(binding.client(LONG_WAIT));
        assertFailsWithClosed(binding.submit(LONG_WAIT, c -> CompletableFuture.completedFuture("ran")));
    }

    @Test
    void aFactoryBoundAfterCloseIsNotUsedAndItsClientIsClosed() {
        ClientBinding binding = new ClientBinding(f -> client());
        binding.close();

        binding.bind(factory());

        assertThat(binding.isBound()).isFalse();
        assertThat(clientsClosed).hasValue(1);
        assertFailsWithClosed(binding.client(LONG_WAIT));
    }

    @Test
    void workWaitingForAFactoryStillRunsWhenOneIsBound() throws Exception {
        ClientBinding binding = new ClientBinding(f -> client());
        CompletableFuture<String> submitted = binding.submit(LONG_WAIT, c -> CompletableFuture.completedFuture("ran"));

        binding.bind(factory());

        assertThat(submitted.get(5, TimeUnit.SECONDS)).isEqualTo("ran");
        binding.close();
    }
}
