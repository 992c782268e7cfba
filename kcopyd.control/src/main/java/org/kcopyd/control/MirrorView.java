package org.kcopyd.control;

import java.util.List;

/**
 * One mirror as the API shows it ({@code MIRROR} in CONTROL-API.md).
 *
 * @param name                 its name
 * @param device               {@code mirror:NAME}
 * @param regionLog            the region log's path
 * @param regionLogId          the region log's identity, null until a log is made
 * @param state                {@code active}; {@code waiting} (configured, not open: {@code reason} says why;
 *                             it may open by itself); or {@code failed} (refused: it opens only once its
 *                             configuration changes or an opener service is bound again)
 * @param reason               why it is waiting or failed, else null
 * @param regions              regions of the device
 * @param regionsToResync      regions still to copy
 * @param regionsResynced      regions copied since the mirror opened
 * @param resyncBytesPerSecond the resync's recent rate
 * @param legs                 the legs, the default leg first
 */
public record MirrorView(String name, String device, String regionLog, String regionLogId, String state,
        String reason, long regions, long regionsToResync, long regionsResynced, double resyncBytesPerSecond,
        List<Leg> legs) {

    /**
     * One leg.
     *
     * @param index   its place, 0 the default leg
     * @param device  as configured
     * @param state   {@code in-sync}, {@code resyncing}, {@code failed}; {@code unknown} while the mirror waits
     * @param failure why it failed, else null
     */
    public record Leg(int index, String device, String state, String failure) {
    }
}
