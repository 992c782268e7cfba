package org.kcopyd.impl.osgi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kcopyd.api.ClientOptions;
import org.kcopyd.api.ClientSummary;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.impl.engine.Engine;

/**
 * {@link KcopydClientFactory#engineClients()} of the OSGi service: one bundle's view lists the
 * clients of every bundle (names and counters), sorted by name, and no longer a closed one.
 */
class EngineClientsTest {

    private final Engine engine = new Engine(EngineSettings.defaults());

    @AfterEach
    void close() {
        engine.close();
    }

    @Test
    void everyBundlesClientsAreListedWithTheirCounters() {
        ClientFactoryService.BundleFactory first = new ClientFactoryService.BundleFactory(engine, "b.first");
        ClientFactoryService.BundleFactory second = new ClientFactoryService.BundleFactory(engine, "a.second");
        KcopydClient mine = first.createClient(ClientOptions.builder().name("z-mine").pages(8).build());
        KcopydClient theirs = second.createClient(4);

        List<ClientSummary> seen = first.engineClients();
        assertThat(seen).extracting(ClientSummary::name).containsExactly("a.second-1", "z-mine");
        assertThat(seen.get(0).statistics().pages()).isEqualTo(4);
        assertThat(seen.get(1).statistics().pages()).isEqualTo(8);
        assertThat(second.engineClients()).isEqualTo(seen);

        theirs.close();
        assertThat(first.engineClients()).extracting(ClientSummary::name).containsExactly("z-mine");
        mine.close();
        assertThat(first.engineClients()).isEmpty();
    }

    @Test
    void aFactoryThatCannotSeeItsEngineSaysSo() {
        KcopydClientFactory own = new KcopydClientFactory() {
            @Override
            public KcopydClient createClient(ClientOptions options) {
                return engine.createClient(options);
            }

            @Override
            public org.kcopyd.api.Throttle throttle(String name) {
                return engine.throttle(name);
            }

            @Override
            public EngineSettings settings() {
                return engine.settings();
            }
        };
        assertThatThrownBy(own::engineClients).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("does not list its engine's clients");
    }
}
