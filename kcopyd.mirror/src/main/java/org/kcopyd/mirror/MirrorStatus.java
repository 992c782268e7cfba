package org.kcopyd.mirror;

import java.util.List;

/**
 * A snapshot of a mirror's state.
 *
 * @param name              the mirror's name
 * @param legs              each leg's status, in configuration order
 * @param regions           regions of the mirror
 * @param regionsToResync   regions still to copy in the current resync (0 when all legs are in sync)
 * @param regionsResynced   regions copied by the current resync so far
 * @param resyncBytesPerSecond average resync rate so far, in bytes per second (0 when idle)
 */
public record MirrorStatus(String name, List<LegStatus> legs, long regions, long regionsToResync,
        long regionsResynced, double resyncBytesPerSecond) {
}
