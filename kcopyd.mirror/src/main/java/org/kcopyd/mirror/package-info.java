/**
 * Mirrored block devices built on kcopyd, with Linux dm-raid1's semantics: writes reach every
 * healthy leg, reads come from an in-sync leg, kcopyd resynchronises out-of-sync legs region by
 * region from the default leg, and a dirty-region log limits the resync after a crash to the
 * regions that were being written.
 *
 * <p>Each mirror is a Config Admin factory configuration (factory PID {@code org.kcopyd.mirror})
 * and appears as a {@link org.kcopyd.mirror.Mirror} service and a
 * {@link org.kcopyd.api.BlockDevice} service. Units are 512-byte sectors.
 *
 * <p><b>Safety.</b> Nothing the configuration names is overwritten unless it is known to be the
 * mirror's own: each leg and the region log are claimed for their role (a file already claimed is
 * refused), an existing region log is adopted only when its header carries the configured
 * identity, and a kcopyd region log is never formatted, not even when the configuration asks to
 * format; see {@link org.kcopyd.mirror.Mirror} for the rules and the configuration's names.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.5.0")
package org.kcopyd.mirror;
