/**
 * kcopyd: copy a range of sectors from one block device to one or more others,
 * asynchronously, using a bounded pool of memory pages per client.
 *
 * <p>This is the Java rendering of Linux's dm-kcopyd. A {@link org.kcopyd.api.KcopydClientFactory}
 * creates {@link org.kcopyd.api.KcopydClient}s, each with its own reserved pages and its own
 * completion thread. A copy job names a source {@link org.kcopyd.api.IoRegion} and 1..64
 * destination regions; its completion reports a read error flag and a write error bit set
 * (bit {@code i} set when {@code dests[i]} failed), exactly once.
 *
 * <p><b>Units.</b> Every sector number and count in this package is in sectors of
 * {@link org.kcopyd.api.BlockDevice#SECTOR_SIZE} (512) bytes. Page counts are in pages of
 * {@link org.kcopyd.api.KcopydClient#PAGE_SIZE} (4096) bytes.
 *
 * <p>Inside OSGi, obtain {@link org.kcopyd.api.KcopydClientFactory} and
 * {@link org.kcopyd.api.BlockDeviceOpener} as services. Outside OSGi, use {@link org.kcopyd.api.Kcopyd}.
 *
 * <p>1.2.0 adds devices named by URI: {@link org.kcopyd.api.BlockDeviceOpener#open(java.net.URI,
 * DeviceOption...)} and the {@link org.kcopyd.api.UriDeviceProvider} service provider interface;
 * and sparse copies: {@link org.kcopyd.api.BlockDevice#extents} (where a device's data is,
 * {@link org.kcopyd.api.Extent}) and the job options {@link org.kcopyd.api.CopyFlag#SPARSE} and
 * {@link org.kcopyd.api.CopyFlag#SPARSE_ALWAYS}.
 *
 * <p>1.3.0 adds per-job handles: {@link org.kcopyd.api.KcopydClient#copyJob} and
 * {@link org.kcopyd.api.KcopydClient#zeroJob} return a {@link org.kcopyd.api.CopyJob} (progress
 * in bytes, cancel, result), and {@link org.kcopyd.api.CopyResult} says whether a job was
 * cancelled and which destinations are incomplete; and copy offload:
 * {@link org.kcopyd.api.BlockDevice#canOffloadTo} and {@link org.kcopyd.api.BlockDevice#offloadTo}
 * (the kernel or file system copies between two files), advised by
 * {@link org.kcopyd.api.BlockDevice#offloadBeatsPagesTo}, with the job options
 * {@link org.kcopyd.api.CopyFlag#NO_OFFLOAD} and {@link org.kcopyd.api.CopyFlag#OFFLOAD_ALWAYS}.
 *
 * <p>1.4.0 adds {@link org.kcopyd.api.BlockDevice#isNonBlocking}: a device whose calls never
 * block (NBD) is read from the engine's scheduling thread, without a hand-off per chunk.
 *
 * <p>1.5.0 adds {@link org.kcopyd.api.BlockDevice#minimumBlockBytes}: the device's smallest unit of
 * I/O, which {@link org.kcopyd.api.IoRegion} regions of it must be aligned to.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.7.0")
package org.kcopyd.api;
