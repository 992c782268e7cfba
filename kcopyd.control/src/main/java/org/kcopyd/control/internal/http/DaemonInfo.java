package org.kcopyd.control.internal.http;

import java.time.Instant;

/**
 * What {@code GET /status} says of the process itself.
 *
 * @param version        kcopyd's version (the control bundle's)
 * @param stateDirectory the state directory (where the token file is)
 * @param pid            the process id
 * @param startedAt      when the process started
 */
public record DaemonInfo(String version, String stateDirectory, long pid, Instant startedAt) {
}
