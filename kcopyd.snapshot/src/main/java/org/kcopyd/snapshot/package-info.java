/**
 * Copy-on-write snapshots of block devices, built on kcopyd, with Linux dm-snapshot's
 * semantics: before an origin chunk is first overwritten, kcopyd copies it to each snapshot's
 * COW store; a snapshot reads its copied chunks from the COW store and the others from the
 * origin. Snapshots are writable, persistent (the chunk map lives on the COW store) and can be
 * merged back into the origin.
 *
 * <p>Each snapshot is a Config Admin factory configuration (factory PID {@code org.kcopyd.snapshot})
 * and appears as a {@link org.kcopyd.snapshot.Snapshot} service and a
 * {@link org.kcopyd.api.BlockDevice} service; each origin appears once as a snapshot-aware
 * {@code BlockDevice} service through which origin writes must go. Units are 512-byte sectors.
 *
 * <p>Nothing is overwritten by guesswork: the origin and COW store files are claimed by identity
 * while a snapshot uses them, and an existing file is adopted as a COW store only when its header
 * carries the identity the configuration names; a kcopyd COW store is never formatted, not even
 * when the configuration asks to format (see {@link org.kcopyd.snapshot.Snapshot}).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.6.0")
package org.kcopyd.snapshot;
