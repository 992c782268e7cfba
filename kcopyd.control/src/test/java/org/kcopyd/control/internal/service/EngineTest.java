package org.kcopyd.control.internal.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.control.ControlException;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * {@code KcopydControl.updateEngineConfiguration} takes each setting's own type, as its contract says
 * (numbers; booleans for {@code directIo}), whoever calls it: text is not converted, and the refusal
 * names the setting, the value and what it allows in the API's words, never a Java type; nothing is
 * stored.
 */
class EngineTest {

    /** What was asked of the stored configuration: "update" when something was stored. */
    private final List<String> stored = new ArrayList<>();

    private Engine engine() {
        ServiceReference<?> factory = (ServiceReference<?>) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ServiceReference.class}, (p, m, a) -> switch (m.getName()) {
                    case "getPropertyKeys" -> new String[0];
                    case "getProperty" -> null;
                    case "compareTo" -> 0;
                    case "hashCode" -> System.identityHashCode(p);
                    case "equals" -> p == a[0];
                    default -> throw new UnsupportedOperationException(m.getName());
                });
        BundleContext context = (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {BundleContext.class}, (p, m, a) -> switch (m.getName()) {
                    case "getServiceReferences" -> a[0] == KcopydClientFactory.class ? List.of(factory) : List.of();
                    default -> throw new UnsupportedOperationException(m.getName() + Arrays.toString(a));
                });
        Configuration configuration = (Configuration) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {Configuration.class}, (p, m, a) -> {
                    stored.add(m.getName());
                    return null;
                });
        ConfigurationAdmin admin = (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ConfigurationAdmin.class}, (p, m, a) -> switch (m.getName()) {
                    case "getConfiguration" -> configuration;
                    default -> throw new UnsupportedOperationException(m.getName());
                });
        return new Engine(new Services(context), admin, Duration.ZERO);
    }

    private void refused(Map<String, Object> changes, String message) {
        assertThatThrownBy(() -> engine().update(changes)).isInstanceOfSatisfying(ControlException.class,
                e -> assertThat(e.code()).isEqualTo(ControlException.Code.BAD_REQUEST)).hasMessage(message);
        assertThat(stored).as("nothing stored").doesNotContain("update");
    }

    @Test
    void aValueNotOfItsSettingsTypeIsRefusedInTheApisWordsAndNothingIsStored() {
        refused(Map.of("defaultPages", "64"), "\"defaultPages\": \"64\" is not a whole number (allowed: 1..262144)");
        refused(Map.of("defaultPages", new BigDecimal("64.5")), "\"defaultPages\": 64.5 is not a whole number "
                + "(allowed: 1..262144)");
        refused(Map.of("throttleBytesPerSecond", 4096.0), "\"throttleBytesPerSecond\": 4096.0 is not a whole number "
                + "(allowed: 0 or 4096..1000000000000)");
        refused(Map.of("directIo", "true"), "\"directIo\": \"true\" is not true or false (allowed: true or false, "
                + "without quotes)");
        refused(Map.of("directIo", 1L), "\"directIo\": 1 is not true or false (allowed: true or false, without quotes)");
    }
}
