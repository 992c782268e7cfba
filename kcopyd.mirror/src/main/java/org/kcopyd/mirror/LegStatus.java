package org.kcopyd.mirror;

/**
 * One leg's status.
 *
 * @param index   the leg's position in the configuration (0 is the default leg)
 * @param path    the leg's file or device
 * @param state   in sync, resyncing or failed
 * @param failure why it failed, or, while it is resynchronised fully because it is not the file
 *                the region log recorded (a replaced leg), why; or, while it is resynchronised fully
 *                because it was asked for ({@link Mirror#CONFIG_RESYNC_LEGS}: a failed leg brought back,
 *                a leg in sync whose data is doubted), that; or, for a leg whose resync stopped
 *                because no leg in sync was left to copy from, that and why; else null
 */
public record LegStatus(int index, String path, LegState state, String failure) {
}
