package org.kcopyd.impl.osgi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.KcopydClientFactory;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * The engine component's handling of configurations, called as DS calls it: a configuration is
 * applied or refused as a whole, a refused one keeps the last valid settings, and the services
 * say which happened and why.
 */
class KcopydComponentTest {

    /** What the component registered: the latest properties of each service, by interface name. */
    private final Map<String, Dictionary<String, ?>> published = new HashMap<>();
    private final KcopydComponent component = new KcopydComponent();

    private final BundleContext context = contextPublishingTo(published);

    /** A bundle context that only registers services, keeping their latest properties in {@code into}. */
    private static BundleContext contextPublishingTo(Map<String, Dictionary<String, ?>> into) {
        ClassLoader loader = KcopydComponentTest.class.getClassLoader();
        return (BundleContext) Proxy.newProxyInstance(loader, new Class<?>[] {BundleContext.class},
                (proxy, method, args) -> {
                    if (!method.getName().equals("registerService")) {
                        throw new UnsupportedOperationException(method.getName());
                    }
                    String name = args[0] instanceof Class<?> c ? c.getName() : (String) args[0];
                    into.put(name, copy((Dictionary<?, ?>) args[2]));
                    return Proxy.newProxyInstance(loader, new Class<?>[] {ServiceRegistration.class}, (p, m, a) -> {
                        if (m.getName().equals("setProperties")) {
                            into.put(name, copy((Dictionary<?, ?>) a[0]));
                            return null;
                        }
                        if (m.getName().equals("unregister")) {
                            into.remove(name);
                            return null;
                        }
                        throw new UnsupportedOperationException(m.getName());
                    });
                });
    }

    private static Dictionary<String, ?> copy(Dictionary<?, ?> d) {
        Hashtable<String, Object> copy = new Hashtable<>();
        for (Object key : Collections.list(d.keys())) {
            copy.put((String) key, d.get(key));
        }
        return copy;
    }

    private Object factory(String property) {
        return published.get(KcopydClientFactory.class.getName()).get(property);
    }

    /** The component properties DS hands over for a configuration (adds its own and Config Admin's keys). */
    private static Map<String, Object> configured(Object... pairs) {
        Map<String, Object> properties = new HashMap<>();
        properties.put("component.name", KcopydClientFactory.PID);
        properties.put("component.id", 7L);
        properties.put("service.pid", KcopydClientFactory.PID);
        properties.put("felix.fileinstall.filename", "file:/etc/kcopyd/" + KcopydClientFactory.PID + ".cfg");
        for (int i = 0; i < pairs.length; i += 2) {
            properties.put((String) pairs[i], pairs[i + 1]);
        }
        return properties;
    }

    @AfterEach
    void deactivate() {
        if (!published.isEmpty()) {
            component.deactivate();
        }
    }

    @Test
    void withoutAConfigurationTheEngineRunsOnTheDefaultsAndSaysSo() {
        component.activate(context, Map.of("component.name", KcopydClientFactory.PID, "component.id", 7L));

        assertThat(factory("defaultPages")).isEqualTo(2048);
        assertThat(factory(KcopydClientFactory.CONFIG_STATE)).isEqualTo(KcopydClientFactory.CONFIG_STATE_DEFAULTS);
        assertThat(factory(KcopydClientFactory.CONFIG_REFUSED)).isNull();
    }

    @Test
    void aValidConfigurationIsAppliedAndSaysSo() {
        component.activate(context, configured("defaultPages", "512", "logger.target", "(x=y)"));

        assertThat(factory("defaultPages")).isEqualTo(512);
        assertThat(factory(KcopydClientFactory.CONFIG_STATE)).isEqualTo(KcopydClientFactory.CONFIG_STATE_APPLIED);
        assertThat(published.get("org.kcopyd.api.BlockDeviceOpener").get(KcopydClientFactory.CONFIG_STATE))
                .isEqualTo(KcopydClientFactory.CONFIG_STATE_APPLIED);
    }

    @Test
    void anUnknownPropertyNameRefusesTheWholeConfigurationNamingIt() {
        component.activate(context, configured("defaultPages", "512"));

        component.modified(configured("defaultPages", "1024", "defaultPagez", "64"));

        assertThat(factory("defaultPages")).as("the last valid value is kept").isEqualTo(512);
        assertThat(factory(KcopydClientFactory.CONFIG_STATE)).isEqualTo(KcopydClientFactory.CONFIG_STATE_REFUSED);
        assertThat((String) factory(KcopydClientFactory.CONFIG_REFUSED)).contains("unknown setting 'defaultPagez'");
    }

    @Test
    void garbageBytesDoNotResetALiveEngineToTheDefaults() throws Exception {
        component.activate(context, configured("defaultPages", "512", "ioThreads", "2"));
        byte[] garbage = new byte[4096];
        new Random(8).nextBytes(garbage);
        Properties parsed = new Properties();
        parsed.load(new java.io.StringReader(new String(garbage, StandardCharsets.ISO_8859_1)));
        assertThat(parsed).as("garbage parses into property names").isNotEmpty();
        Map<String, Object> fromGarbage = configured();
        parsed.forEach((k, v) -> fromGarbage.put((String) k, v));

        component.modified(fromGarbage);

        assertThat(factory("defaultPages")).isEqualTo(512);
        assertThat(factory("ioThreads")).isEqualTo(2);
        assertThat(factory(KcopydClientFactory.CONFIG_STATE)).isEqualTo(KcopydClientFactory.CONFIG_STATE_REFUSED);
        assertThat((String) factory(KcopydClientFactory.CONFIG_REFUSED)).startsWith("unknown setting '");
    }

    @Test
    void aRefusalIsClearedByTheNextValidConfiguration() {
        component.activate(context, configured("defaultPages", "0"));
        assertThat(factory("defaultPages")).as("nothing valid before: the defaults").isEqualTo(2048);
        assertThat((String) factory(KcopydClientFactory.CONFIG_REFUSED))
                .isEqualTo("defaultPages 0 is outside the allowed range 1..262144");

        component.modified(configured("defaultPages", "256"));

        assertThat(factory("defaultPages")).isEqualTo(256);
        assertThat(factory(KcopydClientFactory.CONFIG_STATE)).isEqualTo(KcopydClientFactory.CONFIG_STATE_APPLIED);
        assertThat(factory(KcopydClientFactory.CONFIG_REFUSED)).isNull();
    }

    @Test
    void settingsIgnoreOnlyTheKeysOfConfigAdminDsFileInstallAndKaraf() {
        EngineSettings s = KcopydComponent.settingsOf(configured("maxQueuedJobs", 9,
                "org.apache.karaf.features.configKey", KcopydClientFactory.PID, ".private", "x",
                "osgi.ds.satisfying.condition.target", "(osgi.condition.id=true)"));

        assertThat(s.maxQueuedJobs()).isEqualTo(9);
        assertThatThrownBy(() -> KcopydComponent.settingsOf(configured("kcopyd.defaultPages", 9)))
                .hasMessageContaining("unknown setting 'kcopyd.defaultPages'");
    }

    @Test
    void aConfigurationIsJudgedAndPublishedAlikeAtActivationAndAsAChange() {
        for (Map<String, Object> configuration : List.of(configured("defaultPages", "512", "ioThreads", 2),
                configured("subJobKiB", "6"), configured("defaultPagez", "64"), configured())) {
            Map<String, Dictionary<String, ?>> first = new HashMap<>();
            Map<String, Dictionary<String, ?>> change = new HashMap<>();
            KcopydComponent activatedWith = new KcopydComponent();
            KcopydComponent changedTo = new KcopydComponent();
            activatedWith.activate(contextPublishingTo(first), configuration);
            changedTo.activate(contextPublishingTo(change), Map.of("component.name", KcopydClientFactory.PID));
            changedTo.modified(configuration);
            try {
                for (Class<?> service : List.of(KcopydClientFactory.class, BlockDeviceOpener.class)) {
                    assertThat(change.get(service.getName())).as(service.getSimpleName() + " for " + configuration)
                            .isEqualTo(first.get(service.getName())).isNotNull();
                }
            } finally {
                activatedWith.deactivate();
                changedTo.deactivate();
            }
        }
    }

    @Test
    void deletingTheConfigurationReturnsToTheDefaultsAndSaysSo() {
        component.activate(context, configured("defaultPages", "512", "throttleIoPercent", 50));

        component.modified(Map.of("component.name", KcopydClientFactory.PID, "component.id", 7L));

        assertThat(factory("defaultPages")).isEqualTo(EngineSettings.Setting.DEFAULT_PAGES.defaultValue());
        assertThat(factory("throttleIoPercent")).isEqualTo(100);
        assertThat(factory(KcopydClientFactory.CONFIG_STATE)).isEqualTo(KcopydClientFactory.CONFIG_STATE_DEFAULTS);
        assertThat(factory(KcopydClientFactory.CONFIG_REFUSED)).isNull();
    }
}
