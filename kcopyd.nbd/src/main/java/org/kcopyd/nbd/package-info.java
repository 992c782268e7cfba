/**
 * The Network Block Device protocol for kcopyd: {@link org.kcopyd.nbd.NbdUri} (NBD URIs),
 * {@link org.kcopyd.nbd.NbdClient} (opens an export as a {@link org.kcopyd.api.BlockDevice}) and
 * {@link org.kcopyd.nbd.NbdServer} (exports block devices). Fixed newstyle negotiation only;
 * TLS ({@code nbds}, {@code nbds+unix}, {@code NBD_OPT_STARTTLS}) with X.509 certificates.
 * Offsets and lengths on the wire are bytes, the devices' are 512-byte sectors.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.3.0")
package org.kcopyd.nbd;
