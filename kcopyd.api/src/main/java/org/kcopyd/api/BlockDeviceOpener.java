package org.kcopyd.api;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Opens files and raw block devices (e.g. {@code /dev/loop0}) as {@link BlockDevice}s.
 * An OSGi service of the implementation bundle; outside OSGi, {@link KcopydEngine#devices()}.
 * Thread-safe. The caller closes the devices it opens.
 *
 * <p>A file opened read-write is claimed exclusively, by its identity (device and inode, whatever
 * the path's spelling), until the device is closed: opening it read-write again, or while a
 * snapshot, mirror or another user holds it, fails with an {@link IOException} naming the holder
 * (for example {@code "origin.img is the origin of snapshot s1; write through its origin device"}).
 * FIFOs, sockets and character devices are refused: they cannot be sized or sought.
 *
 * <p>Devices named by URI ({@link #open(URI, DeviceOption...)}) other than {@code file:} come from
 * {@link UriDeviceProvider}s: services inside OSGi, {@link java.util.ServiceLoader} outside it.
 */
@ProviderType
public interface BlockDeviceOpener {

    /**
     * Opens an existing file or block device. Its size is the file's length (or the block
     * device's capacity) rounded down to whole sectors.
     *
     * @param path    the file or device
     * @param options {@link DeviceOption#READ_WRITE}, {@link DeviceOption#DIRECT},
     *                {@link DeviceOption#DSYNC}; read-only through the page cache when none
     * @return the device
     * @throws IOException if it cannot be opened, or is not a regular file or block device
     */
    BlockDevice open(Path path, DeviceOption... options) throws IOException;

    /**
     * Creates a sparse regular file of {@code sizeInSectors} sectors and opens it read-write. An
     * existing file smaller than that is extended (only once its claim is held: a claimed file
     * is left as it was); an existing larger file is never shrunk (the device then has the file's
     * size). An existing block device is opened as it is if it is at least that large, and
     * refused if smaller (it cannot be extended; nothing is written). A symbolic link to nothing
     * is refused, not created through.
     *
     * @param path          the file
     * @param sizeInSectors its least size in 512-byte sectors, at least 1
     * @param options       further options ({@link DeviceOption#DIRECT}, {@link DeviceOption#DSYNC})
     * @return the device
     * @throws IOException if the file cannot be created or sized, is claimed (see above), or is
     *                     a block device smaller than {@code sizeInSectors}
     * @throws IllegalArgumentException if {@code sizeInSectors < 1}
     */
    BlockDevice create(Path path, long sizeInSectors, DeviceOption... options) throws IOException;

    /**
     * Opens the existing device a URI names. A {@code file:} URI ({@code file:///path},
     * {@code file:/path}, {@code file://localhost/path}) opens the file exactly as
     * {@link #open(Path, DeviceOption...)} does, claims included. Any other scheme is opened by the
     * {@link UriDeviceProvider} registered for it (compared in lower case); nothing is created.
     *
     * @param uri     an absolute, hierarchical URI, e.g. {@code nbd://host:10809/export} or
     *                {@code nbd+unix:///export?socket=/run/nbd.sock}
     * @param options as for {@link #open(Path, DeviceOption...)}; see {@link UriDeviceProvider#open}
     *                for what a provider does with them
     * @return the device; the caller closes it
     * @throws IOException              if no provider serves the scheme (the message names the
     *                                  scheme, the URI and the known schemes), or the device
     *                                  cannot be opened (the provider's message)
     * @throws IllegalArgumentException if the URI has no scheme, is opaque ({@code scheme:rest}
     *                                  without {@code //} or a path), is a {@code file:} URI with a
     *                                  host, query or fragment, or its provider finds it malformed;
     *                                  the message names the URI
     */
    BlockDevice open(URI uri, DeviceOption... options) throws IOException;
}
