package org.kcopyd.testbundle;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydClientFactory;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * Binds to the factory dynamically and greedily, as the snapshot and mirror bundles do: on bind
 * it creates a client, on unbind it closes that client (its jobs finish and report first). Its
 * {@linkplain #startLoad load} keeps copying through whichever client it holds at the moment.
 */
@Component(service = ConsumerProbe.class, immediate = true)
public final class ProbeConsumer implements ConsumerProbe {

    private final List<String> events = new CopyOnWriteArrayList<>();
    private final Map<Integer, Integer> deliveries = new ConcurrentHashMap<>();
    private final Map<KcopydClientFactory, KcopydClient> clients = new ConcurrentHashMap<>();
    private final Object bound = new Object();
    private volatile KcopydClient current;
    private volatile Load load;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindFactory(KcopydClientFactory factory, Map<String, Object> properties) {
        KcopydClient client = factory.createClient();
        clients.put(factory, client);
        events.add("bind " + properties.get("service.id"));
        synchronized (bound) {
            current = client;
            bound.notifyAll();
        }
    }

    void unbindFactory(KcopydClientFactory factory, Map<String, Object> properties) {
        KcopydClient client = clients.remove(factory);
        if (client != null) {
            if (current == client) {
                current = null;
            }
            client.close();
        }
        events.add("unbind " + properties.get("service.id"));
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        Load l = load;
        if (l != null) {
            l.stop(30_000);
        }
    }

    @Override
    public List<String> events() {
        return List.copyOf(events);
    }

    @Override
    public boolean isBound() {
        return current != null;
    }

    @Override
    public int clientPages() {
        return client().pages();
    }

    private KcopydClient client() {
        KcopydClient client = current;
        if (client == null) {
            throw new IllegalStateException("no KcopydClientFactory bound");
        }
        return client;
    }

    @Override
    public CompletionStage<CopyResult> copy(IoRegion from, IoRegion to, int jobId) {
        return client().copy(from, List.of(to), Set.of(),
                (readError, writeErrors, id) -> deliveries.merge(id, 1, Integer::sum), jobId);
    }

    @Override
    public Map<Integer, Integer> deliveries() {
        return Map.copyOf(deliveries);
    }

    @Override
    public synchronized void startLoad(BlockDevice source, BlockDevice target, int inFlight, int maxSectors,
            long seed) {
        if (load != null) {
            throw new IllegalStateException("a load is running already");
        }
        load = new Load(source, target, inFlight, maxSectors, seed, this::awaitClient);
    }

    /** @return the current client, waiting up to 50 ms for a bind while there is none */
    private KcopydClient awaitClient() {
        synchronized (bound) {
            if (current == null) {
                try {
                    bound.wait(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return current;
        }
    }

    @Override
    public LoadReport loadProgress() {
        return running().report();
    }

    @Override
    public int loadCompleted() {
        return running().completed();
    }

    private Load running() {
        Load l = load;
        if (l == null) {
            throw new IllegalStateException("no load is running");
        }
        return l;
    }

    @Override
    public synchronized LoadReport stopLoad(long timeoutMillis) throws InterruptedException {
        Load l = load;
        if (l == null) {
            throw new IllegalStateException("no load is running");
        }
        load = null;
        return l.stop(timeoutMillis);
    }
}
