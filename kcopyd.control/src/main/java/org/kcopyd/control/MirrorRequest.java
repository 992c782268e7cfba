package org.kcopyd.control;

import java.util.List;

/**
 * What {@link KcopydControl#createMirror} is asked to make: the values of {@code POST /mirrors}.
 *
 * @param name                   1 to 64 of {@code A-Z a-z 0-9 . _ -}, not only dots
 * @param legs                   2 to 16 legs, the default leg (the source of every resync) first: absolute
 *                               paths, device URIs, or {@code service:NAME}
 * @param regionLog              the region log's absolute path
 * @param regionSectors          the region size in sectors, a power of two in 8..1048576; null for 1024
 * @param throttleBytesPerSecond the resync's cap in bytes per second, 0 (none) or at least 4096; null for 0
 * @param regionLogId            the identity (UUID) of an existing region log to use again, or null
 * @param format                 true: make a new log over an existing file that holds no kcopyd region log
 */
public record MirrorRequest(String name, List<String> legs, String regionLog, Integer regionSectors,
        Long throttleBytesPerSecond, String regionLogId, boolean format) {
}
