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

    /** The file systems of {@code /dev}, {@code /proc}, {@code /sys} and their kin ({@link #refuseNewFileIn}). */
    private static final Set<String> NOT_FOR_DATA = Set.of("devtmpfs", "devfs", "devpts", "proc", "sysfs", "debugfs",
            "tracefs", "securityfs", "configfs", "cgroup", "cgroup2", "mqueue", "bpf", "pstore", "efivarfs");
    private static final Path DEV = Path.of("/dev");
    private static final Path PROC = Path.of("/proc");
    private static final Path SYS = Path.of("/sys");

    private static final System.Logger LOG = System.getLogger(FileDeviceOpener.class.getName());

    static final OpenOption DIRECT_OPTION = lookupDirect();

    /** How often {@link #create(Path, long, String, DeviceOption...)} looks up a name that keeps changing. */
    private static final int LOOKUP_ATTEMPTS = 8;

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
     * for {@code purpose} until the device is closed, read-only, registered as {@linkplain
     * FileClaims#reader read} by this process until then.
     *
     * @param path    the file or block device
     * @param purpose the claim's purpose if read-write, e.g. {@code "leg 1 of mirror m"}
     * @param options as for {@link #open(Path, DeviceOption...)}
     * @return the device
     * @throws FileClaimedException if read-write and the file is claimed already or read by another
     *                              process, read-only and another process has claimed it, or (either
     *                              way) it is a file kcopyd keeps its own state in ({@link FileClaims#reserve})
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
        FileClaims.refuseReserved(path);
        checkKind(path, path);
        return openChannel(path, opts, purpose);
    }

    /**
     * Refuses what cannot be sized or sought before opening it (opening a FIFO would block).
     *
     * @param name the path, for messages
     * @param same where the file is looked at: its name, or {@code /proc/self/fd/N} of its descriptor
     */
    private static void checkKind(Path name, Path same) throws IOException {
        BasicFileAttributes attrs = Files.readAttributes(same, BasicFileAttributes.class);
        if (attrs.isRegularFile()) {
            return;
        }
        if (attrs.isDirectory()) {
            throw new IOException(name + " is a directory, not a file or block device");
        }
        if (attrs.isOther()) {
            int mode;
            try {
                mode = ((Number) Files.getAttribute(same, "unix:mode")).intValue();
            } catch (UnsupportedOperationException | IllegalArgumentException e) {
                throw new IOException(name + " is neither a regular file nor a block device", e);
            }
            if ((mode & S_IFMT) == S_IFBLK) {
                return;
            }
        }
        throw new IOException(name + " is neither a regular file nor a block device (a FIFO, socket or character "
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
     * for {@code purpose}. The name is looked up once (the file opened, or created where nothing
     * is) and the file is claimed, sized and opened through that one descriptor, so that the file
     * sized is the device returned even while another file is renamed over the name; it is
     * extended only once claimed. A block device is never written to size it: one smaller than
     * {@code sizeInSectors} is refused. A symbolic link to nothing is refused, not created through.
     *
     * @param path          the file
     * @param sizeInSectors its least size, at least 1
     * @param purpose       the claim's purpose
     * @param options       further options ({@link DeviceOption#DIRECT}, {@link DeviceOption#DSYNC})
     * @return the device
     * @throws FileClaimedException if the file is claimed already (it is left as it was)
     * @throws IOException          if the file cannot be created or sized, or is a block device
     *                              smaller than {@code sizeInSectors}
     */
    public BlockDevice create(Path path, long sizeInSectors, String purpose, DeviceOption... options)
            throws IOException {
        checkSize(path, sizeInSectors);
        FileClaims.refuseReserved(path);
        Set<DeviceOption> opts = EnumSet.of(DeviceOption.READ_WRITE, options);
        NativeFiles sys = FileHoles.system();
        if (sys != null) {
            for (int attempt = 1; attempt <= LOOKUP_ATTEMPTS; attempt++) {
                boolean exists = Files.exists(path);
                int fd;
                try {
                    if (exists) {
                        checkKind(path, path);
                        fd = sys.open(path.toString(), true);
                    } else {
                        refuseNewFileIn(path);
                        fd = sys.createNew(path.toString());
                    }
                } catch (java.nio.file.NoSuchFileException | java.nio.file.FileAlreadyExistsException e) {
                    refuseDanglingLink(path);
                    // Removed, or created by someone else, since it was looked at: look again.
                    continue;
                } catch (IOException e) {
                    // Opened by name below, which fails with the JDK's exception (permission
                    // denied, no such directory) that callers put into words.
                    LOG.log(System.Logger.Level.DEBUG, () -> "opening " + path + " by name: " + e);
                    return createByName(path, sizeInSectors, purpose, opts);
                }
                return openThrough(sys, fd, !exists, path, sizeInSectors, purpose, opts);
            }
            throw new IOException(path + " appeared or disappeared " + LOOKUP_ATTEMPTS + " times while kcopyd "
                    + "opened it (something else creates and removes it): nothing was written");
        }
        return createByName(path, sizeInSectors, purpose, opts);
    }

    /** {@link #create(Path, long, String, DeviceOption...)} without a descriptor to go through. */
    private BlockDevice createByName(Path path, long sizeInSectors, String purpose, Set<DeviceOption> opts)
            throws IOException {
        refuseDanglingLink(path);
        if (Files.exists(path)) {
            checkKind(path, path);
        } else {
            refuseNewFileIn(path);
        }
        FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE).close();
        return openChannel(path, opts, () -> purpose, -1, sizeInSectors);
    }

    /**
     * Refuses to create a file in a directory of a file system that holds device nodes or kernel
     * objects, never data ({@code /dev}, {@code /proc}, {@code /sys}): a mistyped device name
     * ({@code /dev/loop2p2} for {@code /dev/loop2p1}) would otherwise become a new regular file in
     * {@code /dev} that takes the copy, while the user believes the device holds it. {@code /dev/shm}
     * is a tmpfs of its own and is not refused. A parent that cannot be examined is left to the
     * creation to fail with its reason.
     */
    static void refuseNewFileIn(Path path) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        String notForData = parent == null ? null : notForData(parent);
        if (notForData != null) {
            throw new IOException(path + " does not exist, and kcopyd creates no file in " + parent + " (" + notForData
                    + "): nothing was created; is the device's name right?");
        }
    }

    /**
     * Tells whether kcopyd creates files in a directory: not in {@code /dev} itself, nor anywhere in
     * {@code /proc} or {@code /sys}, nor in a file system of device nodes or kernel objects elsewhere
     * (devtmpfs, devpts, sysfs, cgroup...). {@code /dev/shm} is a tmpfs of its own and is for data.
     *
     * @param directory an existing directory
     * @return why no file is made there (such as "a devtmpfs file system of device nodes and kernel
     *         objects, not data"), or null if files may be made there or it cannot be examined (the
     *         creation then fails with its own reason)
     * @since 1.13
     */
    public static String notForData(Path directory) {
        String type;
        Path real;
        try {
            type = Files.getFileStore(directory).type();
            real = directory.toRealPath();
        } catch (IOException e) {
            return null;
        }
        // A container's /dev is often a plain tmpfs, and /sys/fs/cgroup is one on many systems: /dev
        // itself, and all of /proc and /sys, are refused whatever their type.
        if (NOT_FOR_DATA.contains(type) || real.equals(DEV) || real.startsWith(PROC) || real.startsWith(SYS)) {
            return "a " + type + " file system of device nodes and kernel objects, not data";
        }
        return null;
    }

    /** Refuses a symbolic link to nothing at {@code path}: a file is never created through one. */
    private static void refuseDanglingLink(Path path) throws IOException {
        if (Files.isSymbolicLink(path) && !Files.exists(path)) {
            try {
                Files.readAttributes(path, BasicFileAttributes.class);
            } catch (java.nio.file.NoSuchFileException e) {
                throw new IOException(path + " is a symbolic link to " + Files.readSymbolicLink(path)
                        + ", which does not exist: nothing was created through it (give the path of the file to "
                        + "create)");
            } catch (IOException e) {
                throw new IOException(path + " is a symbolic link that cannot be followed ("
                        + FileErrors.reason(e) + "): nothing was created through it", e);
            }
        }
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
        FileClaims.refuseReserved(path);
        refuseNewFileIn(path);
        Set<DeviceOption> opts = EnumSet.of(DeviceOption.READ_WRITE, options);
        NativeFiles sys = FileHoles.system();
        int fd = createdDescriptor(sys, path);
        if (fd >= 0) {
            return openThrough(sys, fd, true, path, sizeInSectors, purpose, opts);
        }
        FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
        try {
            return openChannel(path, opts, () -> purpose, -1, sizeInSectors);
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
        FileClaims.refuseReserved(path);
        refuseNewFileIn(path);
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
     * Opens the file looked up as {@code fd} (closed here): claimed, extended to at least
     * {@code sizeInSectors} and opened through that one descriptor, so that a file renamed over
     * the name meanwhile is never sized, claimed or written (the claim, taken by name, must be
     * this file's, else the open fails); on a failure, a file this call {@code made} is removed
     * only while the name still names it.
     */
    private BlockDevice openThrough(NativeFiles sys, int fd, boolean made, Path path, long sizeInSectors,
            String purpose, Set<DeviceOption> opts) throws IOException {
        Path same = FileHoles.descriptorPath(fd);
        try {
            if (!made) {
                checkKind(path, same);
            }
            return openChannel(path, opts, () -> purpose, fd, sizeInSectors);
        } catch (IOException | RuntimeException e) {
            if (made) {
                removeIfSame(path, same);
            }
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

    /**
     * Extends a regular file sparsely (one byte written at its new end) to {@code sizeInSectors}
     * if it is shorter; refuses a block device that is: it cannot be extended, and the byte would
     * land past its end.
     */
    private static void extend(Path name, Path same, FileChannel ch, long sizeInSectors) throws IOException {
        long bytes = sizeInSectors * BlockDevice.SECTOR_SIZE;
        long size = DeviceSize.of(name, same, ch);
        if (size >= bytes) {
            return;
        }
        if (!Files.isRegularFile(same)) {
            throw new IOException("cannot use " + name + " as " + sizeInSectors + " sectors: it is a block device of "
                    + size / BlockDevice.SECTOR_SIZE + " sectors, which cannot be extended; nothing was written");
        }
        ch.write(java.nio.ByteBuffer.allocate(1), bytes - 1);
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
        return openChannel(path, opts, purpose, -1, 0);
    }

    /**
     * As {@link #openChannel(Path, Set, Supplier)}, through {@code created} (a descriptor of the
     * file the caller just looked up, which the caller closes) instead of a new lookup of the name
     * (-1 to look the name up), and, read-write, extended to at least {@code leastSectors} once
     * claimed (0: as it is).
     */
    private BlockDevice openChannel(Path path, Set<DeviceOption> opts, Supplier<String> purpose, int created,
            long leastSectors) throws IOException {
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
                if (anchor >= 0) {
                    // What the name named when it was opened: another file may have been renamed
                    // over it since the caller looked at it, and a FIFO opened again through the
                    // descriptor would wait for a writer.
                    checkKind(path, same);
                }
            }
            channel = FileChannel.open(same, base);
            Object identity = FileClaims.identityOf(same);
            if (claim != null && !claim.identity().equals(identity)) {
                throw new IOException(path + " was replaced by another file while it was being opened");
            }
            if (!readWrite) {
                // Registered as the file opened is, whatever took its name meanwhile.
                claim = FileClaims.reader((FileIdentity) identity, path);
            }
            if (leastSectors > 0) {
                extend(path, same, channel, leastSectors);
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
