package org.kcopyd.impl.osgi;

import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.kcopyd.api.ClientOptions;
import org.kcopyd.api.ClientSummary;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.api.Throttle;
import org.kcopyd.impl.engine.Engine;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceFactory;
import org.osgi.framework.ServiceRegistration;

/**
 * Gives each bundle its own {@link KcopydClientFactory} over the shared engine, remembering the
 * clients it created: when the bundle lets go of the service (it stops, or its reference
 * unbinds), the clients it left open are closed, each finishing its accepted jobs.
 */
final class ClientFactoryService implements ServiceFactory<KcopydClientFactory> {

    private final Engine engine;

    ClientFactoryService(Engine engine) {
        this.engine = engine;
    }

    @Override
    public KcopydClientFactory getService(Bundle bundle, ServiceRegistration<KcopydClientFactory> registration) {
        return new BundleFactory(engine, bundle.getSymbolicName());
    }

    @Override
    public void ungetService(Bundle bundle, ServiceRegistration<KcopydClientFactory> registration,
            KcopydClientFactory service) {
        ((BundleFactory) service).closeClients();
    }

    /** One bundle's view of the factory. */
    static final class BundleFactory implements KcopydClientFactory {
        private final Engine engine;
        private final String owner;
        private final Set<KcopydClient> clients = ConcurrentHashMap.newKeySet();
        private final AtomicInteger numbers = new AtomicInteger();

        BundleFactory(Engine engine, String owner) {
            this.engine = engine;
            this.owner = owner;
        }

        @Override
        public KcopydClient createClient(ClientOptions options) {
            ClientOptions named = options;
            if (options.name() == null) {
                ClientOptions.Builder b = ClientOptions.builder().name(owner + "-" + numbers.incrementAndGet());
                if (options.pages() > 0) {
                    b.pages(options.pages());
                }
                if (options.throttle() != null) {
                    b.throttle(options.throttle());
                }
                named = b.build();
            }
            clients.removeIf(c -> !engine.isOpen(c));
            KcopydClient client = engine.createClient(named);
            clients.add(client);
            return client;
        }

        @Override
        public Throttle throttle(String name) {
            return engine.throttle(name);
        }

        @Override
        public EngineSettings settings() {
            return engine.settings();
        }

        /** Every client of the shared engine, of every bundle: names and counters only. */
        @Override
        public List<ClientSummary> engineClients() {
            return engine.clients().stream().map(c -> new ClientSummary(c.name(), c.statistics()))
                    .sorted(Comparator.comparing(ClientSummary::name)).toList();
        }

        void closeClients() {
            for (KcopydClient client : clients) {
                client.close();
            }
            clients.clear();
        }
    }
}
