/**
 * Mirrored block devices built on kcopyd, with Linux dm-raid1's semantics: writes reach every
 * healthy leg, reads come from an in-sync leg, kcopyd resynchronises out-of-sync legs region by
 * region from the default leg, and a dirty-region log limits the resync after a crash to the
 * regions that were being written.
 *
 * <p>Each mirror is a Config Admin factory configuration (factory PID {@code org.kcopyd.mirror})
 * and appears as a {@link org.kcopyd.mirror.Mirror} service and a
 * {@link org.kcopyd.api.BlockDevice} service. Units are 512-byte sectors.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.kcopyd.mirror;
