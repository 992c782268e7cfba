package org.kcopyd.support.component;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * The not-open status service: registered while active and not open, its properties updated only when
 * they change, unregistered when open or inactive, and its value saying the attempts when they are its.
 */
class NotOpenStatusTest {

    private static final NotOpenStatus.Keys KEYS = new NotOpenStatus.Keys("x.notOpen", "x.notOpen.refused",
            "x.notOpen.exception", "x.notOpen.creating");

    /** The registrations made, each with its properties as they are now, and whether it is still registered. */
    private final List<Map<String, Object>> properties = new ArrayList<>();
    private final List<Boolean> registered = new ArrayList<>();
    private final List<Supplier<?>> services = new ArrayList<>();
    private int propertyChanges;

    private final BundleContext context = (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(),
            new Class<?>[] {BundleContext.class}, (proxy, method, args) -> {
                if (!method.getName().equals("registerService")) {
                    throw new UnsupportedOperationException(method.getName());
                }
                int index = properties.size();
                properties.add(map((Dictionary<?, ?>) args[2]));
                registered.add(true);
                services.add((Supplier<?>) args[1]);
                return Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {ServiceRegistration.class},
                        (p, m, a) -> {
                            if (!registered.get(index)) {
                                throw new IllegalStateException("unregistered already");
                            }
                            switch (m.getName()) {
                                case "unregister" -> registered.set(index, false);
                                case "setProperties" -> {
                                    properties.set(index, map((Dictionary<?, ?>) a[0]));
                                    propertyChanges++;
                                }
                                default -> throw new UnsupportedOperationException(m.getName());
                            }
                            return null;
                        });
            });

    private static Map<String, Object> map(Dictionary<?, ?> d) {
        Map<String, Object> m = new java.util.HashMap<>();
        for (Object k : java.util.Collections.list(d.keys())) {
            m.put((String) k, d.get(k));
        }
        return m;
    }

    @Test
    void registeredWhileNotOpenUpdatedWhenItsPropertiesChangeAndGoneWhenOpen() {
        NotOpenStatus status = new NotOpenStatus(KEYS, null);

        status.set(context, true, "m", "opening", false, null, true);
        assertThat(properties).containsExactly(Map.of("x.notOpen", "m", "x.notOpen.creating", true));
        assertThat(services.get(0).get()).isEqualTo("opening");

        status.set(context, true, "m", "still opening", false, null, true);
        assertThat(propertyChanges).as("the same properties: not set again").isZero();
        assertThat(services.get(0).get()).isEqualTo("still opening");

        status.set(context, true, "m", "refused: bad", false, "java.lang.IllegalArgumentException", true);
        assertThat(properties).as("one registration, its properties changed").hasSize(1);
        assertThat(properties.get(0)).isEqualTo(Map.of("x.notOpen", "m", "x.notOpen.refused", true,
                "x.notOpen.exception", "java.lang.IllegalArgumentException"));

        status.set(context, true, "m", null, false, null, false);
        assertThat(registered).containsExactly(false);
        assertThat(status.describe()).isNull();
    }

    @Test
    void nothingIsRegisteredWhileInactiveOrNamelessAndARenameRegistersAgain() {
        NotOpenStatus status = new NotOpenStatus(KEYS, null);

        status.set(context, false, "m", "waiting", false, null, false);
        status.set(context, true, null, "waiting", false, null, false);
        assertThat(properties).isEmpty();

        status.set(context, true, "m", "waiting", false, null, false);
        status.set(context, true, "n", "waiting", false, null, false);
        assertThat(registered).containsExactly(false, true);
        assertThat(properties.get(1)).isEqualTo(Map.of("x.notOpen", "n"));
    }

    @Test
    void theAttemptsAreSaidAfterTheReasonWhenItIsTheirs() {
        AtomicReference<NotOpenStatus.Attempts> now = new AtomicReference<>();
        NotOpenStatus status = new NotOpenStatus(KEYS, now::get);

        status.set(context, true, "m", "its server cannot be reached", true, null, false);
        assertThat(status.describe()).as("no attempts being made").isEqualTo("its server cannot be reached");
        now.set(attempts(true, 2, 0));
        assertThat(status.describe()).isEqualTo("its server cannot be reached (attempt 3 under way)");
        now.set(attempts(false, 2, System.nanoTime() + TimeUnit.SECONDS.toNanos(30)));
        assertThat(status.describe()).matches("its server cannot be reached \\(attempt 2 failed; next attempt in "
                + "(29|30) s\\)");

        status.set(context, true, "m", "refused", false, "java.io.IOException", false);
        assertThat(status.describe()).as("not the attempts' reason").isEqualTo("refused");
    }

    private static NotOpenStatus.Attempts attempts(boolean underWay, int failures, long next) {
        NotOpenStatus.Attempts a = new NotOpenStatus.Attempts();
        a.underWay = underWay;
        a.failures = failures;
        a.nextAttemptNanos = next;
        return a;
    }
}
