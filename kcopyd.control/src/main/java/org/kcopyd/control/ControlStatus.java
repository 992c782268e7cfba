package org.kcopyd.control;

import java.util.List;

import org.kcopyd.api.ClientSummary;

/**
 * What {@link KcopydControl#status} counts.
 *
 * @param engine      the engine's configuration, or null when no engine runs
 * @param clients     every client of the engine with its counters, or null when no engine runs (or it
 *                    cannot list them)
 * @param snapshots   configured snapshots (waiting ones too)
 * @param mirrors     configured mirrors
 * @param exports     configured NBD exports
 * @param connections NBD connections of all exports now, or null when no NBD export component runs
 * @param jobs        jobs running now (copies, zeroes, merges, resyncs)
 */
public record ControlStatus(EngineConfiguration engine, List<ClientSummary> clients, int snapshots, int mirrors,
        int exports, Integer connections, int jobs) {
}
