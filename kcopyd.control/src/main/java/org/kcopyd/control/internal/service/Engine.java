package org.kcopyd.control.internal.service;

import java.io.IOException;
import java.time.Duration;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.kcopyd.api.ClientSummary;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.control.ControlException;
import org.kcopyd.control.EngineConfiguration;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The engine's configuration: what is in effect is what the {@link KcopydClientFactory} service
 * publishes (its settings and {@value KcopydClientFactory#CONFIG_STATE}); what is stored is Config
 * Admin's {@value KcopydClientFactory#PID}. A change is checked with {@link EngineSettings}' own
 * rules before anything is stored, then stored and awaited until the engine publishes it; should the
 * engine still refuse it, the previous configuration is stored back. Changes are serialized by the caller.
 */
final class Engine {

    private static final Set<String> SETTINGS = EngineSettings.defaults().toMap().keySet();

    private final Services services;
    private final ConfigurationAdmin admin;
    private final Duration wait;

    Engine(Services services, ConfigurationAdmin admin, Duration wait) {
        this.services = services;
        this.admin = admin;
        this.wait = wait;
    }

    /** @return the published properties of the engine's factory service */
    private Map<String, Object> published() {
        List<ServiceReference<KcopydClientFactory>> refs = services.references(KcopydClientFactory.class, null);
        if (refs.isEmpty()) {
            throw ControlException.unavailable("the kcopyd engine is not running (no KcopydClientFactory service; "
                    + "is the bundle kcopyd.impl started?)");
        }
        ServiceReference<KcopydClientFactory> ref = refs.get(0);
        Map<String, Object> map = new TreeMap<>();
        for (String key : ref.getPropertyKeys()) {
            map.put(key, ref.getProperty(key));
        }
        return map;
    }

    /**
     * @return every client of the engine with its counters, or null when no engine runs or it cannot
     *         list them (a factory without {@link KcopydClientFactory#engineClients()})
     */
    List<ClientSummary> clients() {
        List<ServiceReference<KcopydClientFactory>> refs = services.references(KcopydClientFactory.class, null);
        if (refs.isEmpty()) {
            return null;
        }
        try {
            return services.read(refs.get(0), KcopydClientFactory::engineClients);
        } catch (UnsupportedOperationException | IllegalStateException cannot) {
            return null;
        }
    }

    EngineConfiguration get() {
        return of(published());
    }

    private EngineConfiguration of(Map<String, Object> published) {
        Map<String, Object> effective = new LinkedHashMap<>();
        for (String name : SETTINGS) {
            if (published.containsKey(name)) {
                effective.put(name, published.get(name));
            }
        }
        EngineConfiguration.Refusal refused = null;
        if (KcopydClientFactory.CONFIG_STATE_REFUSED.equals(published.get(KcopydClientFactory.CONFIG_STATE))) {
            refused = new EngineConfiguration.Refusal(String.valueOf(published.get(KcopydClientFactory.CONFIG_REFUSED)),
                    stored());
        }
        return new EngineConfiguration(KcopydClientFactory.PID, Collections.unmodifiableMap(effective), refused);
    }

    /** @return the stored configuration's properties (Config Admin's own aside), empty if none */
    private Map<String, Object> stored() {
        try {
            Configuration[] found = admin.listConfigurations("(service.pid=" + KcopydClientFactory.PID + ")");
            Map<String, Object> p = found == null ? null : Configurations.properties(found[0]);
            return p == null ? Map.of() : new TreeMap<>(p);
        } catch (IOException | org.osgi.framework.InvalidSyntaxException e) {
            throw ControlException.failed("cannot read the configuration " + KcopydClientFactory.PID + ": "
                    + e.getMessage());
        }
    }

    EngineConfiguration update(Map<String, Object> changes) {
        if (changes.isEmpty()) {
            throw ControlException.badRequest("no setting to change; known: " + SETTINGS);
        }
        Object refusedBefore = published().get(KcopydClientFactory.CONFIG_REFUSED);
        Configuration c;
        Dictionary<String, Object> before;
        try {
            c = admin.getConfiguration(KcopydClientFactory.PID, "?");
            before = c.getProperties();
        } catch (IOException e) {
            throw ControlException.failed("cannot read the configuration " + KcopydClientFactory.PID + ": "
                    + e.getMessage());
        }
        Hashtable<String, Object> next = new Hashtable<>();
        EngineSettings.Builder builder = EngineSettings.builder();
        if (before != null) {
            for (String key : Collections.list(before.keys())) {
                if (key.startsWith("service.") || key.startsWith(":")) {
                    continue;
                }
                next.put(key, before.get(key));
                if (SETTINGS.contains(key) && !changes.containsKey(key)) {
                    set(builder, key, before.get(key), " (stored)");
                }
            }
        }
        changes.forEach(Engine::requireType);
        changes.forEach((key, value) -> set(builder, key, value, ""));
        EngineSettings settings;
        try {
            settings = builder.build();
        } catch (IllegalArgumentException e) {
            throw ControlException.badRequest(e.getMessage());
        }
        Map<String, Object> wanted = settings.toMap();
        changes.keySet().forEach(key -> next.put(key, wanted.get(key)));
        try {
            c.update(next);
        } catch (IOException e) {
            throw ControlException.failed("cannot store the configuration " + KcopydClientFactory.PID + ": "
                    + e.getMessage());
        }
        return await(c, before, wanted, refusedBefore);
    }

    /**
     * Refuses a value of a known setting that is not of its type: a whole number (Integer, Long, Short,
     * Byte) for a numeric setting, a Boolean for {@code directIo}. Text is not converted (the API's body is
     * typed JSON: {@code "64"} is not 64), and the refusal names the setting, the value and what it allows,
     * never a Java type.
     *
     * @throws ControlException BAD_REQUEST
     */
    private static void requireType(String key, Object value) {
        for (EngineSettings.Setting s : EngineSettings.Setting.values()) {
            if (!s.propertyName().equals(key)) {
                continue;
            }
            boolean flag = s.defaultValue() instanceof Boolean;
            boolean ok = flag ? value instanceof Boolean
                    : value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte;
            if (!ok) {
                throw ControlException.badRequest("\"" + key + "\": " + shown(value) + " is not "
                        + (flag ? "true or false (allowed: true or false, without quotes)"
                                : "a whole number (allowed: " + s.range() + ")"));
            }
        }
    }

    /** @return a value as JSON would write it: text in double quotes, a number or true/false as it is */
    private static String shown(Object value) {
        if (value instanceof String text) {
            return "\"" + Text.printable(text).replace("\"", "\\\"") + "\"";
        }
        return Text.printable(String.valueOf(value));
    }

    private static void set(EngineSettings.Builder builder, String key, Object value, String where) {
        try {
            builder.set(key, value);
        } catch (IllegalArgumentException e) {
            throw ControlException.badRequest(e.getMessage() + where);
        }
    }

    /**
     * Waits until the engine publishes {@code wanted}, or refuses it (then restores {@code before}).
     * A refusal still published from before the change ({@code refusedBefore}) is not this change's.
     */
    private EngineConfiguration await(Configuration c, Dictionary<String, Object> before, Map<String, Object> wanted,
            Object refusedBefore) {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            Map<String, Object> published = published();
            Object state = published.get(KcopydClientFactory.CONFIG_STATE);
            if (KcopydClientFactory.CONFIG_STATE_REFUSED.equals(state)
                    && !Objects.equals(refusedBefore, published.get(KcopydClientFactory.CONFIG_REFUSED))) {
                String reason = String.valueOf(published.get(KcopydClientFactory.CONFIG_REFUSED));
                restore(c, before);
                throw ControlException.badRequest(reason + "; the previous configuration is kept");
            }
            if (KcopydClientFactory.CONFIG_STATE_APPLIED.equals(state)
                    && wanted.entrySet().stream().allMatch(e -> Objects.equals(e.getValue(), published.get(e.getKey())))) {
                return of(published);
            }
            if (System.nanoTime() - deadline >= 0) {
                throw ControlException.failed("the engine has not applied the configuration " + KcopydClientFactory.PID
                        + " within " + wait.toSeconds() + " s (it stays stored)");
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    private static void restore(Configuration c, Dictionary<String, Object> before) {
        try {
            if (before == null) {
                c.delete();
            } else {
                c.update(before);
            }
        } catch (IOException | IllegalStateException e) {
            throw ControlException.failed("the engine refused the configuration and restoring the previous one "
                    + "failed: " + e.getMessage());
        }
    }
}
