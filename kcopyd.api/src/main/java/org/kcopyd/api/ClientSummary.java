package org.kcopyd.api;

import java.util.Objects;

/**
 * One client of an engine as {@link KcopydClientFactory#engineClients()} lists it: its name and a
 * snapshot of its counters. A value: it gives no access to the client itself.
 *
 * @param name       the client's name ({@link KcopydClient#name()})
 * @param statistics its counters when the list was made
 * @since 1.3.0
 */
public record ClientSummary(String name, ClientStatistics statistics) {

    /** @throws NullPointerException if a component is null */
    public ClientSummary {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(statistics, "statistics");
    }
}
