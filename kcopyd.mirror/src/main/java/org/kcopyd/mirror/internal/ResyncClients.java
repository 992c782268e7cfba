package org.kcopyd.mirror.internal;

import org.kcopyd.api.ClientBinding;

/**
 * A mirror's kcopyd clients for its resync: regions are copied in the background through the
 * mirror's throttle ({@code throttleBytesPerSecond}, {@code throttleIoPercent}); a region that a
 * write waits for is copied at full speed (H50-4: a write into a region being resynced by a mirror
 * capped at 4 KiB/s waited 128 s for its 512 KiB, longer than NBD clients wait).
 *
 * @param throttled the client of background copies, through the mirror's throttle
 * @param urgent    the client of copies a write waits for, unthrottled
 */
record ResyncClients(ClientBinding throttled, ClientBinding urgent) {
}
