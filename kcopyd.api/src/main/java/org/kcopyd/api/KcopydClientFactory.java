package org.kcopyd.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Creates kcopyd clients: dm-kcopyd's {@code kcopyd_client_create}. Registered as an OSGi
 * service by the implementation bundle; outside OSGi, obtained from {@link Kcopyd#start}.
 * Thread-safe.
 *
 * <p>Every client reserves its pages from the factory's page budget. When the factory goes
 * away (its bundle stops, its configuration is deleted) it closes the clients it created:
 * their accepted jobs still complete exactly once.
 */
@ProviderType
public interface KcopydClientFactory {

    /**
     * The Config Admin PID of the engine behind the factory service (a singleton configuration;
     * Metatype describes its properties, the names of {@link EngineSettings}).
     */
    String PID = "org.kcopyd.engine";

    /**
     * Service property of the factory and of the {@link BlockDeviceOpener} service: whether the
     * latest configuration of {@value #PID} is in effect, one of {@value #CONFIG_STATE_DEFAULTS},
     * {@value #CONFIG_STATE_APPLIED} or {@value #CONFIG_STATE_REFUSED}. A tool that wrote a
     * configuration reads it to tell whether the configuration took effect.
     */
    String CONFIG_STATE = "kcopyd.config.state";
    /** Value of {@value #CONFIG_STATE}: there is no configuration; the engine runs on its defaults. */
    String CONFIG_STATE_DEFAULTS = "defaults";
    /** Value of {@value #CONFIG_STATE}: the latest configuration is in effect. */
    String CONFIG_STATE_APPLIED = "applied";
    /**
     * Value of {@value #CONFIG_STATE}: the latest configuration was refused as a whole (a value
     * out of range or of the wrong type, an unknown name); the engine keeps its last valid
     * settings, and {@value #CONFIG_REFUSED} says why.
     */
    String CONFIG_STATE_REFUSED = "refused";
    /**
     * Service property of the factory and of the {@link BlockDeviceOpener} service, present while
     * the latest configuration is refused: the reason, one line naming the bad property, its value
     * and the limit.
     */
    String CONFIG_REFUSED = "kcopyd.config.refused";

    /**
     * Creates a client with the factory's default page count.
     *
     * @return a new client
     * @throws IllegalStateException if the page budget cannot hold it, or the factory is closed
     */
    default KcopydClient createClient() {
        return createClient(ClientOptions.builder().build());
    }

    /**
     * Creates a client reserving {@code pages} pages: dm-kcopyd's {@code num_pages}.
     *
     * @param pages pages of {@value KcopydClient#PAGE_SIZE} bytes, 1..the configured maximum per client
     * @return a new client
     * @throws IllegalArgumentException if {@code pages} is out of range
     * @throws IllegalStateException if the page budget cannot hold it, or the factory is closed
     */
    default KcopydClient createClient(int pages) {
        return createClient(ClientOptions.builder().pages(pages).build());
    }

    /**
     * Creates a client.
     *
     * @param options name, pages and throttle
     * @return a new client
     * @throws IllegalArgumentException if the options are out of range
     * @throws IllegalStateException if the page budget cannot hold it, or the factory is closed
     */
    KcopydClient createClient(ClientOptions options);

    /**
     * Returns the throttle of that name, creating it unthrottled if it does not exist.
     * Clients created with the same throttle share its cap. The throttle named
     * {@code "default"} is used by clients created without one and is set by configuration.
     *
     * @param name the throttle's name
     * @return the shared throttle
     */
    Throttle throttle(String name);

    /** @return the factory's effective settings */
    EngineSettings settings();

    /**
     * Lists every open client of the engine behind this factory, whoever created it (every
     * bundle's, every caller's), with its counters: what a status display shows. Clients created
     * through this factory and others alike; only names and counters, never the clients.
     *
     * <p>A factory that cannot see its engine's other clients throws: it never lists only its
     * own as if they were all. The engine's OSGi service lists them all; the default throws.
     *
     * @return the clients, sorted by name; a snapshot, not updated
     * @throws UnsupportedOperationException if this factory cannot list its engine's clients
     * @since 1.3.0
     */
    default java.util.List<ClientSummary> engineClients() {
        throw new UnsupportedOperationException(getClass().getName() + " does not list its engine's clients");
    }
}
