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
 * @param regionSectors        the region size in sectors, as configured (the region log records it and
 *                             refuses another: what makes the mirror again names it); 0 if not said
 * @param throttleBytesPerSecond the resync's cap in bytes per second as configured, 0 for none
 * @since 1.2 for {@code regionSectors} and {@code throttleBytesPerSecond}
 */
public record MirrorView(String name, String device, String regionLog, String regionLogId, String state,
        String reason, long regions, long regionsToResync, long regionsResynced, double resyncBytesPerSecond,
        List<Leg> legs, long regionSectors, long throttleBytesPerSecond) {

    /**
     * A view that does not say the region size and the cap (both 0), as views were made before 1.2.
     *
     * @param name                 its name
     * @param device               {@code mirror:NAME}
     * @param regionLog            the region log's path
     * @param regionLogId          the region log's identity, null until a log is made
     * @param state                {@code active}, {@code waiting} or {@code failed}
     * @param reason               why it is waiting or failed, else null
     * @param regions              regions of the device
     * @param regionsToResync      regions still to copy
     * @param regionsResynced      regions copied since the mirror opened
     * @param resyncBytesPerSecond the resync's recent rate
     * @param legs                 the legs, the default leg first
     */
    public MirrorView(String name, String device, String regionLog, String regionLogId, String state,
            String reason, long regions, long regionsToResync, long regionsResynced, double resyncBytesPerSecond,
            List<Leg> legs) {
        this(name, device, regionLog, regionLogId, state, reason, regions, regionsToResync, regionsResynced,
                resyncBytesPerSecond, legs, 0, 0);
    }

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
