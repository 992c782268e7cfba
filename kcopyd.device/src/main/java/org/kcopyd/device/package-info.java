/**
 * Block devices over files, raw block devices and memory: the {@link org.kcopyd.api.BlockDevice}
 * implementations kcopyd ships. A library bundle with no life of its own, so that bundles
 * keeping devices open (snapshots, mirrors) do not depend on the engine bundle's lifecycle.
 * Inside OSGi, most users want the {@link org.kcopyd.api.BlockDeviceOpener} service instead.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.13.0")
package org.kcopyd.device;
