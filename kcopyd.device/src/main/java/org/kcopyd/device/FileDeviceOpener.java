package org.kcopyd.device;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Supplier;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.DeviceOption;

/**
 * Opens regular files and raw block devices as {@link FileBlockDevice}s, and devices named by URI:
 * {@code file:} URIs itself, other schemes through its {@link UriProviders} (none unless given).
 *
 * <p>O_DIRECT is {@code com.sun.nio.file.ExtendedOpenOption.DIRECT}, looked up through the system
 * class loader so that the bundle does not import a JDK-internal package (frameworks differ in
 * exporting it). Where it is missing, asking for {@link DeviceOption#DIRECT} fails clearly.
 */
public final class FileDeviceOpener implements BlockDeviceOpener {

    private static final System.Logger LOG = System.getLogger(FileDeviceOpener.class.getName());

    private static final OpenOption DIRECT_OPTION = lookupDirect();

    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;

    private final boolean directByDefault;
    private final String writerPurpose;
    private final UriProviders uris;

    /**
     * An opener whose read-write devices are claimed as "open for writing through kcopyd".
     *
     * @param directByDefault open with O_DIRECT even when {@link DeviceOption#DIRECT} is not given
     */
    public FileDeviceOpener(boolean directByDefault) {
        this(directByDefault, "open for writing through kcopyd");
    }

    /**
     * @param directByDefault open with O_DIRECT even when {@link DeviceOption#DIRECT} is not given
     * @param writerPurpose   the {@linkplain FileClaims claim} purpose of files this opener opens
     *                        read-write through the {@link BlockDeviceOpener} methods
     */
    public FileDeviceOpener(boolean directByDefault, String writerPurpose) {
        this(directByDefault, writerPurpose, new UriProviders());
    }

    /**
     * @param directByDefault open with O_DIRECT even when {@link DeviceOption#DIRECT} is not given
     * @param writerPurpose   the {@linkplain FileClaims claim} purpose of files this opener opens
     *                        read-write through the {@link BlockDeviceOpener} methods
     * @param uris            the providers of URI schemes other than {@code file}, consulted at each open
     */
    public FileDeviceOpener(boolean directByDefault, String writerPurpose, UriProviders uris) {
        this.directByDefault = directByDefault;
        this.writerPurpose = writerPurpose;
        this.uris = java.util.Objects.requireNonNull(uris, "uris");
    }

    private static OpenOption lookupDirect() {
        try {
            Class<?> type = Class.forName("com.sun.nio.file.ExtendedOpenOption", false,
                    ClassLoader.getSystemClassLoader());
            for (Object constant : type.getEnumConstants()) {
                if ("DIRECT".equals(((Enum<?>) constant).name())) {
                    return (OpenOption) constant;
                }
            }
        } catch (ClassNotFoundException | RuntimeException e) {
            return null;
        }
        return null;
    }

    @Override
    public BlockDevice open(Path path, DeviceOption... options) throws IOException {
        return open(path, writerPurpose, options);
    }

    @Override
    public BlockDevice open(URI uri, DeviceOption... options) throws IOException {
        return open(uri, () -> writerPurpose, options);
    }

    /**
     * As {@link #open(URI, DeviceOption...)}, a {@code file:} URI's file {@linkplain FileClaims claimed}
     * for {@code purpose} if read-write (remote devices have no claims).
     *
     * @param uri     the device's URI
     * @param purpose the claim's purpose if a file is opened read-write
     * @param options as for {@link #open(Path, DeviceOption...)}
     * @return the device
     * @throws NoDeviceProviderException if no provider serves the URI's scheme
     * @throws IOException               if the device cannot be opened
     * @throws IllegalArgumentException  naming the URI if it is not a valid device URI
     */
    public BlockDevice open(URI uri, Supplier<String> purpose, DeviceOption... options) throws IOException {
        if (DeviceUris.FILE.equals(DeviceUris.scheme(uri))) {
            return open(DeviceUris.path(uri), purpose, options);
        }
        return uris.open(uri, options);
    }

    /** @return the providers of URI schemes other than {@code file} this opener consults */
    public UriProviders uriProviders() {
        return uris;
    }

    /**
     * Opens an existing file or block device; read-write, it is {@linkplain FileClaims claimed}
     * for {@code purpose} until the device is closed.
     *
     * @param path    the file or block device
     * @param purpose the claim's purpose if read-write, e.g. {@code "leg 1 of mirror m"}
     * @param options as for {@link #open(Path, DeviceOption...)}
     * @return the device
     * @throws FileClaimedException if read-write and the file is claimed already
     * @throws IOException          if it cannot be opened, or is neither a regular file nor a block
     *                              device (a FIFO or character device cannot be sized or sought)
     */
    public BlockDevice open(Path path, String purpose, DeviceOption... options) throws IOException {
        return open(path, () -> purpose, options);
    }

    /**
     * As {@link #open(Path, String, DeviceOption...)}, with a purpose that may change while the
     * device is open (see {@link FileClaims#claim(Path, Supplier)}).
     *
     * @param path    the file or block device
     * @param purpose the claim's purpose if read-write
     * @param options as for {@link #open(Path, DeviceOption...)}
     * @return the device
     * @throws IOException as for {@link #open(Path, String, DeviceOption...)}
     */
    public BlockDevice open(Path path, Supplier<String> purpose, DeviceOption... options) throws IOException {
        Set<DeviceOption> opts = options.length == 0 ? EnumSet.noneOf(DeviceOption.class) : EnumSet.of(options[0], options);
        checkKind(path);
        return openChannel(path, opts, purpose);
    }

    /**
     * Refuses what cannot be sized or sought before opening it (opening a FIFO would block).
     */
    private static void checkKind(Path path) throws IOException {
        BasicFileAttributes attrs = Files.readAttributes(path, BasicFileAttributes.class);
        if (attrs.isRegularFile()) {
            return;
        }
        if (attrs.isDirectory()) {
            throw new IOException(path + " is a directory, not a file or block device");
        }
        if (attrs.isOther()) {
            int mode;
            try {
                mode = ((Number) Files.getAttribute(path, "unix:mode")).intValue();
            } catch (UnsupportedOperationException | IllegalArgumentException e) {
                throw new IOException(path + " is neither a regular file nor a block device", e);
            }
            if ((mode & S_IFMT) == S_IFBLK) {
                return;
            }
        }
        throw new IOException(path + " is neither a regular file nor a block device (a FIFO, socket or character "
                + "device cannot be sized or sought)");
    }

    /**
     * Opens a regular file read-write, first creating it sparse with {@code sizeInSectors} if it
     * does not exist, or extending it to that size if it is smaller. An existing file is never
     * shrunk: the device's size is then the file's.
     */
    @Override
    public BlockDevice create(Path path, long sizeInSectors, DeviceOption... options) throws IOException {
        return create(path, sizeInSectors, writerPurpose, options);
    }

    /**
     * As {@link #create(Path, long, DeviceOption...)}, the file {@linkplain FileClaims claimed}
     * for {@code purpose}.
     *
     * @param path          the file
     * @param sizeInSectors its least size, at least 1
     * @param purpose       the claim's purpose
     * @param options       further options ({@link DeviceOption#DIRECT}, {@link DeviceOption#DSYNC})
     * @return the device
     * @throws FileClaimedException if the file is claimed already
     * @throws IOException          if the file cannot be created or sized
     */
    public BlockDevice create(Path path, long sizeInSectors, String purpose, DeviceOption... options)
            throws IOException {
        checkSize(path, sizeInSectors);
        if (Files.exists(path)) {
            checkKind(path);
        }
        Set<DeviceOption> opts = EnumSet.of(DeviceOption.READ_WRITE, options);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            extend(ch, sizeInSectors);
        }
        return openChannel(path, opts, purpose);
    }

    /**
     * Creates a new regular file, sparse, of exactly {@code sizeInSectors}, and opens it
     * read-write, {@linkplain FileClaims claimed} for {@code purpose}. Refuses a path where
     * anything exists already (even a dangling symbolic link): nothing existing is touched.
     *
     * @param path          the file to create
     * @param sizeInSectors its size, at least 1
     * @param purpose       the claim's purpose
     * @param options       further options ({@link DeviceOption#DIRECT}, {@link DeviceOption#DSYNC})
     * @return the device
     * @throws java.nio.file.FileAlreadyExistsException if something exists at {@code path}
     * @throws IOException if the file cannot be created; a file this call created is removed again
     */
    public BlockDevice createNew(Path path, long sizeInSectors, String purpose, DeviceOption... options)
            throws IOException {
        checkSize(path, sizeInSectors);
        Set<DeviceOption> opts = EnumSet.of(DeviceOption.READ_WRITE, options);
        NativeFiles sys = FileHoles.system();
        int fd = createdDescriptor(sys, path);
        if (fd >= 0) {
            return createThrough(sys, fd, path, sizeInSectors, purpose, opts);
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            extend(ch, sizeInSectors);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(path);
            throw e;
        }
        try {
            return openChannel(path, opts, purpose);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(path);
            throw e;
        }
    }

    /**
     * Creates a new regular file of exactly {@code bytes} (sparse) where nothing exists, and says
     * which file it made: its identity is read through the descriptor the creation gave (with JNA
     * on Linux), not by its name, which another file may take at once. A caller that opens the
     * file later by name compares this identity with the opened device's ({@link
     * FileBlockDevice#identity()}) and refuses a difference.
     *
     * @param bytes the file's size, at least 1
     * @return the created file's identity, as {@link FileClaims#identityOf} gives it
     * @throws java.nio.file.FileAlreadyExistsException if anything exists at {@code path}
     * @throws IOException if the file cannot be created or sized (one this call created is removed
     *                     again while its name still names it)
     */
    public static Object createFile(Path path, long bytes) throws IOException {
        if (bytes < 1) {
            throw new IllegalArgumentException("size " + bytes + " bytes for " + path + " is below the least, 1");
        }
        NativeFiles sys = FileHoles.system();
        int fd = createdDescriptor(sys, path);
        if (fd < 0) {
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                Object identity = FileClaims.identityOf(path);
                ch.write(java.nio.ByteBuffer.allocate(1), bytes - 1);
                return identity;
            }
        }
        Path same = FileHoles.descriptorPath(fd);
        try (FileChannel ch = FileChannel.open(same, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.allocate(1), bytes - 1);
            return FileClaims.identityOf(same);
        } catch (IOException | RuntimeException e) {
            removeIfSame(path, same);
            throw e;
        } finally {
            sys.close(fd);
        }
    }

    /**
     * Opens the file just created as {@code fd} (closed here) and everything through that one
     * descriptor, so that
     * a file renamed over the name meanwhile is never sized, claimed or written (the claim, taken
     * by name, must be the created file's, else the open fails); on a failure the created file is
     * removed only while the name still names it.
     */
    private BlockDevice createThrough(NativeFiles sys, int fd, Path path, long sizeInSectors, String purpose,
            Set<DeviceOption> opts) throws IOException {
        Path same = FileHoles.descriptorPath(fd);
        try {
            try (FileChannel ch = FileChannel.open(same, StandardOpenOption.WRITE)) {
                extend(ch, sizeInSectors);
            }
            return openChannel(path, opts, () -> purpose, fd);
        } catch (IOException | RuntimeException e) {
            removeIfSame(path, same);
            throw e;
        } finally {
            sys.close(fd);
        }
    }

    /**
     * Creates a regular file where nothing exists through JNA ({@code O_CREAT|O_EXCL}).
     *
     * @param sys the system calls, or null without JNA
     * @return its descriptor, or -1 without JNA or where that create failed otherwise than because
     *         something exists: the caller then creates by name, which fails with the JDK's exception
     *         (no such directory, permission denied) that callers put into words
     * @throws java.nio.file.FileAlreadyExistsException if anything exists at {@code path}
     */
    private static int createdDescriptor(NativeFiles sys, Path path) throws IOException {
        if (sys == null) {
            return -1;
        }
        try {
            return sys.createNew(path.toString());
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw e;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "creating " + path + " by name: " + e);
            return -1;
        }
    }

    private static void removeIfSame(Path path, Path created) {
        try {
            if (FileClaims.identityOf(path).equals(FileClaims.identityOf(created))) {
                Files.delete(path);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "not removed, not the file created: " + path + ": " + e);
        }
    }

    private static void checkSize(Path path, long sizeInSectors) {
        if (sizeInSectors < 1 || sizeInSectors > Long.MAX_VALUE / BlockDevice.SECTOR_SIZE) {
            throw new IllegalArgumentException("size " + sizeInSectors + " sectors for " + path + " is outside 1.."
                    + Long.MAX_VALUE / BlockDevice.SECTOR_SIZE);
        }
    }

    private static void extend(FileChannel ch, long sizeInSectors) throws IOException {
        long bytes = sizeInSectors * BlockDevice.SECTOR_SIZE;
        if (ch.size() < bytes) {
            // Extends the file sparsely: one byte at the end.
            ch.write(java.nio.ByteBuffer.allocate(1), bytes - 1);
        }
    }

    private BlockDevice openChannel(Path path, Set<DeviceOption> opts, String purpose) throws IOException {
        return openChannel(path, opts, () -> purpose);
    }

    /**
     * Opens the file once by its name and everything else (the channel, the O_DIRECT channel, the
     * identity, and through the device its holes and lanes) through {@code /proc/self/fd} of that
     * one descriptor, so that they are all one file even while another file is renamed over the
     * name; a read-write file must be the file its claim was taken on. Without JNA, or where its
     * open fails, the channels are opened by name (there is no descriptor to go through) and the
     * JDK's exception says why.
     */
    private BlockDevice openChannel(Path path, Set<DeviceOption> opts, Supplier<String> purpose) throws IOException {
        return openChannel(path, opts, purpose, -1);
    }

    /**
     * As {@link #openChannel(Path, Set, Supplier)}, through {@code created} (a descriptor of the
     * file the caller just made, which the caller closes) instead of a new lookup of the name; -1
     * to look the name up.
     */
    private BlockDevice openChannel(Path path, Set<DeviceOption> opts, Supplier<String> purpose, int created)
            throws IOException {
        boolean readWrite = opts.contains(DeviceOption.READ_WRITE);
        Set<OpenOption> base = new HashSet<>();
        base.add(StandardOpenOption.READ);
        if (readWrite) {
            base.add(StandardOpenOption.WRITE);
        }
        if (opts.contains(DeviceOption.DSYNC)) {
            base.add(StandardOpenOption.DSYNC);
        }
        FileClaim claim = readWrite ? FileClaims.claim(path, purpose) : null;
        NativeFiles sys = FileHoles.system();
        int anchor = -1;
        FileChannel channel = null;
        FileChannel direct = null;
        try {
            Path same = path;
            if (created >= 0) {
                same = FileHoles.descriptorPath(created);
            } else if (sys != null) {
                try {
                    anchor = sys.open(path.toString(), readWrite);
                    same = FileHoles.descriptorPath(anchor);
                } catch (IOException e) {
                    // Opened by name below, which fails with the JDK's exception (no such file,
                    // permission denied) that callers put into words.
                    LOG.log(System.Logger.Level.DEBUG, () -> "opening " + path + " by name: " + e);
                }
            }
            channel = FileChannel.open(same, base);
            Object identity = FileClaims.identityOf(same);
            if (claim != null && !claim.identity().equals(identity)) {
                throw new IOException(path + " was replaced by another file while it was being opened");
            }
            boolean wantDirect = opts.contains(DeviceOption.DIRECT) || directByDefault;
            int alignment = 512;
            if (wantDirect) {
                if (DIRECT_OPTION == null) {
                    throw new IOException("O_DIRECT is not available in this Java runtime (opening " + path + ")");
                }
                alignment = (int) Math.max(512, Files.getFileStore(path).getBlockSize());
                Set<OpenOption> withDirect = new HashSet<>(base);
                withDirect.add(DIRECT_OPTION);
                direct = FileChannel.open(same, withDirect);
            }
            long bytes = DeviceSize.of(path, same, channel);
            return new FileBlockDevice(path, same, channel, direct, alignment, !readWrite,
                    bytes / BlockDevice.SECTOR_SIZE, identity, claim, base);
        } catch (IOException | RuntimeException e) {
            if (claim != null) {
                claim.close();
            }
            if (channel != null) {
                channel.close();
            }
            if (direct != null) {
                direct.close();
            }
            throw e;
        } finally {
            if (anchor >= 0) {
                sys.close(anchor);
            }
        }
    }
}
