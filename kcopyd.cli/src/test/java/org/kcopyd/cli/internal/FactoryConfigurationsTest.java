package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Hashtable;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/**
 * Creating a snapshot or mirror configuration: the command learns at once whether its component
 * activated, and a configuration whose component failed is not left behind.
 */
class FactoryConfigurationsTest {

    private static final String TRACE = "java.lang.IllegalArgumentException: snapshot 's1': chunkSectors 7 is not a "
            + "power of two\n\tat org.kcopyd.snapshot.internal.SnapshotComponent.activate(SnapshotComponent.java:50)\n";

    private final FakeRuntime runtime = new FakeRuntime();
    private final ComponentDescriptionDTO snapshots = FakeRuntime.description(Snapshot.FACTORY_PID,
            Snapshot.FACTORY_PID);
    private final Console console = new Console(runtime, new PrintWriter(new StringWriter()),
            new PrintWriter(new StringWriter()), false);

    private static Hashtable<String, Object> props(Object... pairs) {
        Hashtable<String, Object> p = new Hashtable<>();
        for (int i = 0; i < pairs.length; i += 2) {
            p.put((String) pairs[i], pairs[i + 1]);
        }
        return p;
    }

    @Test
    void aComponentThatRefusesItsValuesIsReportedAtOnceAndItsConfigurationDeleted() {
        runtime.ds = p -> FakeRuntime.component(snapshots, Map.copyOf(p), ComponentConfigurationDTO.FAILED_ACTIVATION,
                TRACE);
        long start = System.nanoTime();

        assertThatThrownBy(() -> FactoryConfigurations.create(console, Snapshot.FACTORY_PID, "snapshot", "s1",
                props(Snapshot.CONFIG_NAME, "s1", Snapshot.CONFIG_CHUNK_SECTORS, 7)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("snapshot 's1' not created: snapshot 's1': chunkSectors 7 is not a power of two");

        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("no waiting for a timeout")
                .isLessThan(Duration.ofSeconds(5));
        assertThat(runtime.configurations).as("nothing left behind").isEmpty();
        assertThat(runtime.deleted).hasSize(1);
    }

    @Test
    void aComponentThatFailsOtherwiseIsAFailureNotARefusal() {
        runtime.ds = p -> FakeRuntime.component(snapshots, Map.copyOf(p), ComponentConfigurationDTO.FAILED_ACTIVATION,
                "org.kcopyd.device.FileClaimedException: a.img is the origin of snapshot s0; write through its "
                        + "origin device\n\tat x.y(Z.java:1)\n");

        assertThatThrownBy(() -> FactoryConfigurations.create(console, Snapshot.FACTORY_PID, "snapshot", "s1",
                props(Snapshot.CONFIG_NAME, "s1"))).isInstanceOf(IllegalStateException.class)
                .hasMessageEndingWith("not created: a.img is the origin of snapshot s0; write through its origin device");
        assertThat(runtime.configurations).isEmpty();
    }

    @Test
    void aComponentThatRewritesItsConfigurationIsJudgedByItsNextActivation() {
        // Like a mirror recording its new log's identity: active once, then activated again with it, and failing.
        runtime.ds = p -> {
            if (!p.containsKey(Mirror.CONFIG_REGION_LOG_ID)) {
                Hashtable<String, Object> rewritten = new Hashtable<>(p);
                rewritten.put(Mirror.CONFIG_REGION_LOG_ID, "0b7e6bd6-0000-4000-8000-000000000001");
                runtime.configurations.put((String) p.get("service.pid"), rewritten);
                return FakeRuntime.component(snapshots, Map.copyOf(p), ComponentConfigurationDTO.ACTIVE, null);
            }
            return FakeRuntime.component(snapshots, Map.copyOf(p), ComponentConfigurationDTO.FAILED_ACTIVATION,
                    "java.io.IOException: b.img is leg 1 of mirror m\n");
        };

        assertThatThrownBy(() -> FactoryConfigurations.create(console, Mirror.FACTORY_PID, "mirror", "m",
                props(Mirror.CONFIG_NAME, "m"))).isInstanceOf(IllegalStateException.class)
                .hasMessage("mirror 'm' not created: b.img is leg 1 of mirror m");
        assertThat(runtime.configurations).isEmpty();
    }

    @Test
    void anImmediateComponentOnItsWayIsNotTakenForStarted() {
        // DS shows an immediate component SATISFIED while it activates; the failure comes after.
        java.util.concurrent.atomic.AtomicInteger polls = new java.util.concurrent.atomic.AtomicInteger();
        runtime.ds = p -> FakeRuntime.component(snapshots, Map.copyOf(p), polls.incrementAndGet() < 3
                ? ComponentConfigurationDTO.SATISFIED : ComponentConfigurationDTO.FAILED_ACTIVATION, TRACE);

        assertThatThrownBy(() -> FactoryConfigurations.create(console, Snapshot.FACTORY_PID, "snapshot", "s1",
                props(Snapshot.CONFIG_NAME, "s1"))).isInstanceOf(IllegalArgumentException.class);
        assertThat(runtime.configurations).isEmpty();
    }

    @Test
    void anActiveComponentKeepsItsConfiguration() throws Exception {
        runtime.ds = p -> FakeRuntime.component(snapshots, Map.copyOf(p), ComponentConfigurationDTO.ACTIVE, null);

        FactoryConfigurations.create(console, Snapshot.FACTORY_PID, "snapshot", "s1", props(Snapshot.CONFIG_NAME, "s1"));

        assertThat(runtime.configurations).hasSize(1);
        assertThat(runtime.deleted).isEmpty();
    }

    @Test
    void aComponentNotActiveInTimeIsDeletedNamingWhatItWaitsFor() {
        runtime.ds = p -> {
            ComponentConfigurationDTO c = FakeRuntime.component(snapshots, Map.copyOf(p),
                    ComponentConfigurationDTO.UNSATISFIED_REFERENCE, null);
            org.osgi.service.component.runtime.dto.UnsatisfiedReferenceDTO r =
                    new org.osgi.service.component.runtime.dto.UnsatisfiedReferenceDTO();
            r.name = "factory";
            c.unsatisfiedReferences = new org.osgi.service.component.runtime.dto.UnsatisfiedReferenceDTO[] {r};
            return c;
        };

        assertThatThrownBy(() -> FactoryConfigurations.create(console, Snapshot.FACTORY_PID, "snapshot", "s1",
                props(Snapshot.CONFIG_NAME, "s1"), Duration.ofMillis(200))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not active after 0 s").hasMessageContaining("waiting for factory");
        assertThat(runtime.configurations).isEmpty();
    }

    @Test
    void namesAreLiteralInFilters() throws Exception {
        runtime.addConfiguration(Snapshot.FACTORY_PID + "~1", Snapshot.FACTORY_PID, Map.of(Snapshot.CONFIG_NAME, "beta"));

        assertThat(FactoryConfigurations.find(console, Snapshot.FACTORY_PID, "b*")).isNull();
        assertThat(FactoryConfigurations.find(console, Snapshot.FACTORY_PID, "beta")).isNotNull();
        assertThat(FactoryConfigurations.escape("a*(b)\\c")).isEqualTo("a\\*\\(b\\)\\\\c");
    }

    @Test
    void failureTextsGiveTheMessageAndWhetherValuesWereRefused() {
        assertThat(ComponentStates.failureMessage(TRACE))
                .isEqualTo("snapshot 's1': chunkSectors 7 is not a power of two");
        assertThat(ComponentStates.isRefusal(TRACE)).isTrue();
        assertThat(ComponentStates.isRefusal("java.io.IOException: disk full\n")).isFalse();
        assertThat(ComponentStates.failureMessage("java.io.IOException\n\tat x\n")).isEqualTo("IOException");
        assertThat(ComponentStates.failureMessage(null)).contains("without a reason");
    }
}
