package org.kcopyd.control.internal.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.control.ConfigurationOutcome;
import org.kcopyd.control.ControlException;
import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkUtil;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.component.runtime.dto.ReferenceDTO;
import org.osgi.service.component.runtime.dto.UnsatisfiedReferenceDTO;

/**
 * {@link Configurations#create} judged by what Declarative Services reports, over fakes of Config
 * Admin (configurations in a map) and of DS (a function of a configuration's properties now, as DS
 * would activate or fail its component): a component that rewrites its own configuration while
 * activating is seen as active once it has been activated again with it (or failed by it), and a
 * component not active in time is named with what it waits for, its configuration deleted.
 */
class ConfigurationsTest {

    private static final String PID = "org.kcopyd.snapshot";
    private static final String STORE_ID = "0b7e6bd6-0000-4000-8000-000000000001";

    /** Configurations by PID, as Config Admin holds them. */
    private final Map<String, Hashtable<String, Object>> configurations = new LinkedHashMap<>();
    private final List<String> deleted = new ArrayList<>();
    private final ComponentDescriptionDTO snapshots = description();
    /** What DS shows for a configuration's properties now, or null (not taken yet). */
    private Function<Hashtable<String, Object>, ComponentConfigurationDTO> ds = p -> null;
    private final AtomicInteger pids = new AtomicInteger();

    private static ComponentDescriptionDTO description() {
        ComponentDescriptionDTO d = new ComponentDescriptionDTO();
        d.name = "org.kcopyd.snapshot.internal.SnapshotComponent";
        d.immediate = true;
        d.configurationPid = new String[] {PID};
        ReferenceDTO factory = new ReferenceDTO();
        factory.name = "factory";
        factory.interfaceName = "org.kcopyd.api.KcopydClientFactory";
        d.references = new ReferenceDTO[] {factory};
        return d;
    }

    private ComponentConfigurationDTO component(Map<String, Object> properties, int state, String failure) {
        ComponentConfigurationDTO c = new ComponentConfigurationDTO();
        c.description = snapshots;
        c.properties = Map.copyOf(properties);
        c.state = state;
        c.failure = failure;
        return c;
    }

    private Configurations configurations(Duration wait) {
        return new Configurations(admin(), scr(), null, wait);
    }

    private static Hashtable<String, Object> props(Object... pairs) {
        Hashtable<String, Object> p = new Hashtable<>();
        for (int i = 0; i < pairs.length; i += 2) {
            p.put((String) pairs[i], pairs[i + 1]);
        }
        return p;
    }

    /**
     * A snapshot making a new COW store records the store's identity in its configuration from
     * its activation; Config Admin then has DS activate it again with that. Until DS shows the
     * component with the recorded identity, it is not taken for active (an activation with the
     * earlier properties says nothing of the next one); once it does, it is active and keeps its
     * configuration, identity included.
     */
    @Test
    void aComponentThatRecordsItsStoresIdentityWhileActivatingIsSeenActiveWithIt() {
        AtomicInteger looksAtOldActivation = new AtomicInteger();
        ds = p -> {
            if (!p.containsKey("cowStoreId")) {
                // Activating with the properties given: the activation writes the store's identity back.
                Hashtable<String, Object> rewritten = new Hashtable<>(p);
                rewritten.put("cowStoreId", STORE_ID);
                configurations.put((String) p.get("service.pid"), rewritten);
                return component(p, ComponentConfigurationDTO.SATISFIED, null);
            }
            // DS still shows the activation with the earlier properties for a few looks, then the new one.
            if (looksAtOldActivation.incrementAndGet() <= 3) {
                Hashtable<String, Object> earlier = new Hashtable<>(p);
                earlier.remove("cowStoreId");
                return component(earlier, ComponentConfigurationDTO.ACTIVE, null);
            }
            return component(p, ComponentConfigurationDTO.ACTIVE, null);
        };

        Configuration c = configurations(Duration.ofSeconds(10)).create(PID, "snapshot", "s1",
                props("name", "s1", "chunkSectors", 16));

        assertThat(looksAtOldActivation).as("the activation with the earlier properties was looked at and not "
                + "taken for the latest").hasValueGreaterThan(3);
        assertThat(configurations).as("the configuration stays, with the identity the component recorded")
                .containsOnlyKeys(c.getPid());
        assertThat(configurations.get(c.getPid())).containsEntry("cowStoreId", STORE_ID).containsEntry("name", "s1");
        assertThat(deleted).isEmpty();
    }

    /** While DS shows only the activation with the earlier properties, the outcome is pending, saying so. */
    @Test
    void anActivationWithEarlierPropertiesIsPendingNamingTheComponent() {
        Hashtable<String, Object> now = props("service.pid", PID + "~1", "name", "s1", "cowStoreId", STORE_ID);
        Hashtable<String, Object> earlier = new Hashtable<>(now);
        earlier.remove("cowStoreId");
        ds = p -> component(earlier, ComponentConfigurationDTO.ACTIVE, null);
        configurations.put(PID + "~1", now);

        ComponentOutcomes.Outcome outcome = ComponentOutcomes.of(scr(), PID + "~1", now);

        assertThat(outcome.state()).isEqualTo(ComponentOutcomes.State.PENDING);
        assertThat(outcome.reason()).isEqualTo("component " + snapshots.name
                + " has not taken the latest configuration");
        assertThat(ComponentOutcomes.of(scr(), PID + "~1", earlier).state()).as("the same properties: active")
                .isEqualTo(ComponentOutcomes.State.ACTIVE);
    }

    /** The rewritten configuration's activation decides: when it fails, the creation fails and leaves nothing. */
    @Test
    void aComponentThatRewritesItsConfigurationIsJudgedByItsNextActivation() {
        ds = p -> {
            if (!p.containsKey("cowStoreId")) {
                Hashtable<String, Object> rewritten = new Hashtable<>(p);
                rewritten.put("cowStoreId", STORE_ID);
                configurations.put((String) p.get("service.pid"), rewritten);
                return component(p, ComponentConfigurationDTO.SATISFIED, null);
            }
            return component(p, ComponentConfigurationDTO.FAILED_ACTIVATION,
                    "org.kcopyd.device.FileClaimedException: /srv/a.img is the origin of snapshot s0\n\tat x.y(Z.java:1)\n");
        };

        assertThatThrownBy(() -> configurations(Duration.ofSeconds(10)).create(PID, "snapshot", "s1",
                props("name", "s1"))).isInstanceOfSatisfying(ControlException.class, e -> {
                    assertThat(e.code()).isEqualTo(ControlException.Code.CONFLICT);
                    assertThat(e).hasMessage("snapshot 's1' not created: /srv/a.img is the origin of snapshot s0");
                });
        assertThat(configurations).as("nothing left behind").isEmpty();
        assertThat(deleted).hasSize(1);
    }

    /**
     * A component waiting for a service (the engine's client factory) is not active when the wait
     * ends: the failure says how long was waited and for which interface, and the configuration
     * is deleted.
     */
    @Test
    void aComponentNotActiveInTimeIsNamedWithWhatItWaitsForAndDeleted() {
        ds = p -> {
            ComponentConfigurationDTO c = component(p, ComponentConfigurationDTO.UNSATISFIED_REFERENCE, null);
            UnsatisfiedReferenceDTO r = new UnsatisfiedReferenceDTO();
            r.name = "factory";
            c.unsatisfiedReferences = new UnsatisfiedReferenceDTO[] {r};
            return c;
        };

        assertThatThrownBy(() -> configurations(Duration.ofMillis(200)).create(PID, "snapshot", "s1",
                props("name", "s1"))).isInstanceOfSatisfying(ControlException.class, e -> {
                    assertThat(e.code()).isEqualTo(ControlException.Code.FAILED);
                    assertThat(e).hasMessage("snapshot 's1' not created: not active after 0 s: component "
                            + snapshots.name + " is waiting for org.kcopyd.api.KcopydClientFactory");
                });
        assertThat(configurations).as("nothing left behind").isEmpty();
        assertThat(deleted).hasSize(1);
    }

    /** No component taking the configuration at all in time: said so, and deleted. */
    @Test
    void aConfigurationNoComponentTakesIsNamedSoAndDeleted() {
        assertThatThrownBy(() -> configurations(Duration.ofMillis(100)).create(PID, "snapshot", "s1",
                props("name", "s1"))).isInstanceOf(ControlException.class)
                .hasMessage("snapshot 's1' not created: not active after 0 s: no component has taken it yet");
        assertThat(configurations).isEmpty();
    }

    /** An immediate component shown SATISFIED is still activating; the failure that follows decides. */
    @Test
    void anImmediateComponentOnItsWayIsNotTakenForActive() {
        AtomicInteger looks = new AtomicInteger();
        ds = p -> component(p, looks.incrementAndGet() < 3 ? ComponentConfigurationDTO.SATISFIED
                : ComponentConfigurationDTO.FAILED_ACTIVATION,
                "java.lang.IllegalArgumentException: snapshot 's1': chunkSectors 7 is not a power of two\n\tat x\n");

        assertThatThrownBy(() -> configurations(Duration.ofSeconds(10)).create(PID, "snapshot", "s1",
                props("name", "s1", "chunkSectors", 7))).isInstanceOfSatisfying(ControlException.class, e -> {
                    assertThat(e.code()).isEqualTo(ControlException.Code.BAD_REQUEST);
                    assertThat(e).hasMessage("snapshot 's1' not created: snapshot 's1': chunkSectors 7 is not a "
                            + "power of two");
                });
        assertThat(looks).hasValueGreaterThanOrEqualTo(3);
        assertThat(configurations).isEmpty();
    }

    /** A snapshot configuration made by someone else (a file FileInstall read), to ask what DS made of it. */
    private String written(Object... pairs) {
        String pid = PID + "~file-" + pids.incrementAndGet();
        Hashtable<String, Object> p = props(pairs);
        p.put("service.pid", pid);
        p.put("service.factoryPid", PID);
        configurations.put(pid, p);
        return pid;
    }

    /**
     * H36: a snapshot waiting for its NBD server holds no claim on its COW store, and another snapshot
     * reopened that store for another origin (the waiting one then gave up). A file another snapshot's or
     * mirror's configuration names (COW store, region log, file leg), open or not, is a conflict naming
     * it, however it is spelled; its own configuration, URIs and service legs do not count.
     */
    @Test
    void aFileAnotherConfigurationNamesIsAConflictNamingItOpenOrNot(@TempDir Path dir) throws Exception {
        Path cow = Files.createFile(dir.resolve("s1.cow"));
        Path log = dir.resolve("m1.log");
        Path leg = Files.createFile(dir.resolve("b.img"));
        written("name", "s1", "cowStore", cow.toString(), "origin", "nbd+unix:///?socket=/run/a.sock");
        String mirror = "org.kcopyd.mirror~m1";
        configurations.put(mirror, props("service.pid", mirror, "service.factoryPid", "org.kcopyd.mirror", "name",
                "m1", "regionLog", log.toString(), "legs", new String[] {"nbd+unix:///?socket=/run/b.sock", leg.toString(),
                    "service:vol"}));
        Configurations c = configurations(Duration.ofSeconds(1));
        assertThatThrownBy(() -> c.refuseConfigured(dir.resolve("x/../s1.cow"), "COW store", "s2"))
                .isInstanceOfSatisfying(ControlException.class, e -> assertThat(e.code()).isEqualTo(
                        ControlException.Code.CONFLICT)).hasMessage("COW store " + dir.resolve("x/../s1.cow") + " is the "
                        + "COW store of snapshot s1 (configured, open or waiting to open): one file serves one of them; "
                        + "remove that one first to use the file here");
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), leg);
        assertThatThrownBy(() -> c.refuseConfigured(link, "leg 2", "m2")).hasMessageStartingWith("leg 2 " + link
                + " is leg 1 of mirror m1 (configured");
        assertThatThrownBy(() -> c.refuseConfigured(log, "COW store", "s2")).hasMessageStartingWith("COW store " + log
                + " is the region log of mirror m1 (configured");
        c.refuseConfigured(cow, "COW store", "s1");
        c.refuseConfigured(leg, "leg 1", "m1");
        c.refuseConfigured(dir.resolve("other.cow"), "COW store", "s2");
        c.refuseConfigured(Path.of("/run/a.sock"), "COW store", "s2");
    }

    /**
     * KcopydControl.awaitConfiguration's answers for a configuration the control did not write: active;
     * failed with the exception's message, a refusal of values told from another failure; pending
     * after the wait, naming what the component waits for.
     */
    @Test
    void anyConfigurationIsReportedActiveFailedOrPendingWithItsReason() {
        String active = written("name", "s1");
        String refused = written("name", "s2", "chunkSectors", 7);
        String missing = written("name", "s3");
        String waiting = written("name", "s4");
        ds = p -> switch ((String) p.get("name")) {
            case "s1" -> component(p, ComponentConfigurationDTO.ACTIVE, null);
            case "s2" -> component(p, ComponentConfigurationDTO.FAILED_ACTIVATION,
                    "java.lang.IllegalArgumentException: snapshot 's2': chunkSectors 7 is not a power of two\n\tat x\n");
            case "s3" -> component(p, ComponentConfigurationDTO.FAILED_ACTIVATION,
                    "java.nio.file.NoSuchFileException: /nowhere/origin.img\n\tat x.y(Z.java:1)\n");
            default -> {
                ComponentConfigurationDTO c = component(p, ComponentConfigurationDTO.UNSATISFIED_REFERENCE, null);
                UnsatisfiedReferenceDTO r = new UnsatisfiedReferenceDTO();
                r.name = "factory";
                c.unsatisfiedReferences = new UnsatisfiedReferenceDTO[] {r};
                yield c;
            }
        };
        Configurations c = configurations(Duration.ofSeconds(30));

        assertThat(c.awaitOutcome(active, Duration.ofSeconds(10)))
                .isEqualTo(new ConfigurationOutcome(ConfigurationOutcome.State.ACTIVE, null, false));
        assertThat(c.awaitOutcome(refused, Duration.ofSeconds(10))).isEqualTo(new ConfigurationOutcome(
                ConfigurationOutcome.State.FAILED, "snapshot 's2': chunkSectors 7 is not a power of two", true));
        assertThat(c.awaitOutcome(missing, Duration.ofSeconds(10))).isEqualTo(new ConfigurationOutcome(
                ConfigurationOutcome.State.FAILED, "/nowhere/origin.img", false));
        assertThat(c.awaitOutcome(waiting, Duration.ofMillis(100))).isEqualTo(new ConfigurationOutcome(
                ConfigurationOutcome.State.PENDING, "not active after 0 s: component " + snapshots.name
                        + " is waiting for org.kcopyd.api.KcopydClientFactory", false));
        assertThat(configurations).as("asking changes nothing").hasSize(4);
        assertThat(deleted).isEmpty();
    }

    /** A configuration no component takes (a misspelt factory PID) is said so at once: DS's state is not even read. */
    @Test
    void aConfigurationOfAnUnknownPidIsUnusedAtOnce() {
        configurations.put("org.kcopyd.snapshott~s1", props("service.pid", "org.kcopyd.snapshott~s1",
                "service.factoryPid", "org.kcopyd.snapshott", "name", "s1"));
        AtomicInteger looks = new AtomicInteger();
        ds = p -> {
            looks.incrementAndGet();
            return null;
        };

        assertThat(configurations(Duration.ofSeconds(30)).awaitOutcome("org.kcopyd.snapshott~s1",
                Duration.ofSeconds(30))).isEqualTo(new ConfigurationOutcome(ConfigurationOutcome.State.UNUSED,
                        "no component takes configurations of org.kcopyd.snapshott", false));
        assertThat(looks).as("no component configuration looked at, no waiting").hasValue(0);
    }

    /** An interrupted caller gets the pending outcome at once, saying it was interrupted, its flag kept. */
    @Test
    void anInterruptedWaitSaysSo() {
        String pid = written("name", "s1");
        Thread.currentThread().interrupt();
        ConfigurationOutcome outcome;
        try {
            outcome = configurations(Duration.ofSeconds(30)).awaitOutcome(pid, Duration.ofSeconds(30));
        } finally {
            assertThat(Thread.interrupted()).as("the interrupt is kept for the caller").isTrue();
        }

        assertThat(outcome).isEqualTo(new ConfigurationOutcome(ConfigurationOutcome.State.PENDING,
                "interrupted while it was no component has taken it yet", false));
    }

    /** A bad PID or wait is refused naming it and the limit; a PID Config Admin does not have is not found. */
    @Test
    void badPidsAndWaitsAreRefusedAndAnUnknownConfigurationIsNotFound() {
        Configurations c = configurations(Duration.ofSeconds(30));

        assertThatThrownBy(() -> c.awaitOutcome(" ", Duration.ZERO)).isInstanceOfSatisfying(ControlException.class,
                e -> assertThat(e.code()).isEqualTo(ControlException.Code.BAD_REQUEST))
                .hasMessage("configuration PID ' ' is empty: a PID is required");
        assertThatThrownBy(() -> c.awaitOutcome(null, Duration.ZERO)).isInstanceOf(ControlException.class)
                .hasMessage("configuration PID null is empty: a PID is required");
        assertThatThrownBy(() -> c.awaitOutcome(PID + "~1", Duration.ofMillis(-1)))
                .isInstanceOfSatisfying(ControlException.class,
                        e -> assertThat(e.code()).isEqualTo(ControlException.Code.BAD_REQUEST))
                .hasMessage("wait -1 ms is outside 0 to 30000 ms");
        assertThatThrownBy(() -> c.awaitOutcome(PID + "~1", Duration.ofMillis(30_001)))
                .isInstanceOf(ControlException.class).hasMessage("wait 30001 ms is outside 0 to 30000 ms");
        assertThatThrownBy(() -> c.awaitOutcome(PID + "~1", null)).isInstanceOf(ControlException.class)
                .hasMessage("wait null is outside 0 to 30000 ms");
        assertThatThrownBy(() -> c.awaitOutcome(PID + "~1", Duration.ZERO))
                .isInstanceOfSatisfying(ControlException.class,
                        e -> assertThat(e.code()).isEqualTo(ControlException.Code.NOT_FOUND))
                .hasMessage("no configuration has PID " + PID + "~1");
    }

    private ServiceComponentRuntime scr() {
        return (ServiceComponentRuntime) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ServiceComponentRuntime.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getComponentDescriptionDTOs" -> List.of(snapshots);
                    case "getComponentConfigurationDTOs" -> {
                        List<ComponentConfigurationDTO> shown = new ArrayList<>();
                        for (Hashtable<String, Object> p : List.copyOf(configurations.values())) {
                            ComponentConfigurationDTO c = ds.apply(p);
                            if (c != null && c.description == args[0]) {
                                shown.add(c);
                            }
                        }
                        yield shown;
                    }
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    private ConfigurationAdmin admin() {
        return (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ConfigurationAdmin.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "createFactoryConfiguration" -> configuration(args[0] + "~" + pids.incrementAndGet());
                    case "listConfigurations" -> {
                        Filter filter = FrameworkUtil.createFilter((String) args[0]);
                        Configuration[] found = configurations.entrySet().stream().filter(e -> filter.match(e.getValue()))
                                .map(e -> configuration(e.getKey())).toArray(Configuration[]::new);
                        yield found.length == 0 ? null : found;
                    }
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    private Configuration configuration(String pid) {
        return (Configuration) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Configuration.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getPid" -> pid;
                    case "getFactoryPid" -> configurations.containsKey(pid)
                            ? (String) configurations.get(pid).get("service.factoryPid") : null;
                    case "getProperties" -> configurations.containsKey(pid) ? new Hashtable<>(configurations.get(pid))
                            : null;
                    case "update" -> {
                        Hashtable<String, Object> p = new Hashtable<>();
                        @SuppressWarnings("unchecked")
                        Dictionary<String, Object> d = (Dictionary<String, Object>) args[0];
                        for (String k : Collections.list(d.keys())) {
                            p.put(k, d.get(k));
                        }
                        p.put("service.pid", pid);
                        p.put("service.factoryPid", PID);
                        configurations.put(pid, p);
                        yield null;
                    }
                    case "delete" -> {
                        configurations.remove(pid);
                        deleted.add(pid);
                        yield null;
                    }
                    case "hashCode" -> pid.hashCode();
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }
}
