package org.kcopyd.device;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;

/**
 * The holes of one open regular file on Linux: where its data is ({@code SEEK_DATA} and
 * {@code SEEK_HOLE}), punching holes ({@code fallocate} with
 * {@code PUNCH_HOLE|KEEP_SIZE}) and copying to another such file by the kernel
 * ({@link #copyTo}: a reflink, else {@code copy_file_range}). It holds a descriptor of its own on the file, opened by path
 * and kept only if it is the very file the device opened (same device and inode, seen through
 * {@code /proc/self/fd}); the JDK gives no access to a {@code FileChannel}'s descriptor.
 *
 * <p>{@link #open} returns null wherever this cannot work — no JNA, its native part refused,
 * not Linux, not a regular file, the path now naming another file — and the device then reads
 * and writes as without it. Thread-safe: calls run concurrently and {@link #close()} waits for
 * those in flight, so a descriptor number is never used after it was closed (and reused).
 */
final class FileHoles implements AutoCloseable {

    /**
     * Most runs one {@link #extents} answer holds, a prefix of the range beyond (callers ask again
     * for the rest). Small, as each costs two {@code lseek} calls and the engine asks a window far
     * past its chunk to learn only where the hole or data at the chunk's end stops.
     */
    static final int MAX_RUNS = 8;

    private static final System.Logger LOG = System.getLogger(FileHoles.class.getName());
    private static final NativeFiles NATIVE = loadNative();

    /** Bytes: reflinks are tried only for ranges whose offsets and length are multiples of this. */
    static final int CLONE_ALIGNMENT = 4096;

    private static final AtomicLong NUMBERS = new AtomicLong();

    private final NativeFiles sys;
    private final int fd;
    private final Path path;
    /** The order in which {@link #copyTo} takes two files' locks, so that two copies never wait for each other. */
    private final long number = NUMBERS.incrementAndGet();
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean closed;
    private volatile boolean punchRefused;
    /** As a destination: the file system refused a reflink once; copy_file_range only from then on. */
    private volatile boolean cloneRefused;
    /** The file system holding the file ({@code fstatfs} at open), null if it would not say. */
    private volatile FileSystemId fileSystem;

    private FileHoles(NativeFiles sys, int fd, Path path) {
        this.sys = sys;
        this.fd = fd;
        this.path = path;
    }

    private static NativeFiles loadNative() {
        try {
            return NativeFiles.load();
        } catch (LinkageError | RuntimeException e) {
            // No JNA (an optional import), or no native part for this platform: files have no holes.
            LOG.log(Level.DEBUG, "file holes are not available: {0}", e.toString());
            return null;
        }
    }

    /**
     * @return a path that opens this very file again: {@code /proc/self/fd/N} of its descriptor
     *         (not its name, which another file may have taken since)
     */
    Path reopenPath() {
        return descriptorPath(fd);
    }

    /**
     * @return {@code /proc/self/fd/N}: a path that opens, or is looked at as, the very file open
     *         as descriptor {@code fd} of this process, whatever its name names now
     */
    static Path descriptorPath(int fd) {
        return Path.of("/proc/self/fd/" + fd);
    }

    /** @return the system calls of this runtime, or null without JNA or off Linux */
    static NativeFiles system() {
        return NATIVE;
    }

    /**
     * Opens the holes of {@code path}, which the caller has open as the file of identity
     * {@code identity}, through {@code sys}.
     *
     * @param sys      the system calls ({@link #system()}), or null: none
     * @param writable true to punch holes too (the descriptor is opened read-write)
     * @return the holes, or null where they cannot be had (see the class documentation)
     */
    static FileHoles open(NativeFiles sys, Path path, Object identity, boolean writable) {
        return open(sys, path, path, identity, writable);
    }

    /**
     * As {@link #open(NativeFiles, Path, Object, boolean)}, the descriptor opened through
     * {@code same} (for instance {@code /proc/self/fd/N} of a descriptor of the file the caller
     * holds), {@code path} naming the file in messages.
     */
    static FileHoles open(NativeFiles sys, Path same, Path path, Object identity, boolean writable) {
        int fd = ownDescriptor(sys, same, identity, writable);
        if (fd < 0) {
            return null;
        }
        FileHoles holes = new FileHoles(sys, fd, path);
        if (Files.isRegularFile(descriptorPath(fd))) {
            holes.fileSystem = fileSystemOf(sys, fd, path);
            return holes;
        }
        LOG.log(Level.DEBUG, "no file holes for {0}: not a regular file", path);
        holes.close();
        return null;
    }

    /**
     * Opens {@code same} through the system calls and keeps the descriptor only if it is the file
     * {@code identity} names (for holes, and for a file device to open its channels again through).
     *
     * @return the descriptor, which the caller closes, or -1 (no system calls, or it could not be
     *         opened or is another file)
     */
    static int ownDescriptor(NativeFiles sys, Path same, Object identity, boolean writable) {
        if (sys == null) {
            return -1;
        }
        int fd;
        try {
            fd = sys.open(same.toString(), writable);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "no descriptor of its own for {0}: {1}", same, e.toString());
            return -1;
        }
        try {
            if (FileClaims.identityOf(descriptorPath(fd)).equals(identity)) {
                return fd;
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "no descriptor of its own for {0}: {1}", same, e.toString());
        }
        sys.close(fd);
        return -1;
    }

    private static FileSystemId fileSystemOf(NativeFiles sys, int fd, Path path) {
        try {
            return sys.fileSystem(fd);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "file system of {0} unknown ({1}): no copy offload by default", path, e.toString());
            return null;
        }
    }

    /**
     * @return true if the kernel's copy from this file to {@code dst} beats the page path: both on
     *         one file system that shares blocks or copies on the server ({@link OffloadPolicy})
     */
    boolean offloadBeatsPagesTo(FileHoles dst) {
        return OffloadPolicy.beatsPages(fileSystem, dst.fileSystem);
    }

    /**
     * Where the data is in {@code [sector, sector + count)}: data runs rounded out to whole
     * sectors, hole runs in between; a prefix of the range when it holds more than
     * {@value #MAX_RUNS} runs.
     *
     * @throws IOException if the file system refuses (the caller then reports data)
     */
    List<Extent> extents(long sector, long count) throws IOException {
        long end = (sector + count) * BlockDevice.SECTOR_SIZE;
        List<Extent> runs = new ArrayList<>();
        lock.readLock().lock();
        try {
            if (closed) {
                throw new IOException(path + " is closed");
            }
            long pos = sector * BlockDevice.SECTOR_SIZE;
            while (pos < end && runs.size() < MAX_RUNS - 1) {
                long data = sys.seek(fd, pos, true);
                if (data < 0 || data >= end) {
                    add(runs, pos, end, Extent.Type.HOLE);
                    break;
                }
                add(runs, pos, data, Extent.Type.HOLE);
                long hole = Math.min(end, sys.seek(fd, data, false));
                add(runs, data, hole, Extent.Type.DATA);
                pos = hole;
            }
        } finally {
            lock.readLock().unlock();
        }
        return runs;
    }

    /** Adds {@code [from, to)} in bytes: data rounded out to sectors, a hole rounded in. */
    private static void add(List<Extent> runs, long from, long to, Extent.Type type) {
        long first;
        long last;
        if (type == Extent.Type.DATA) {
            first = from / BlockDevice.SECTOR_SIZE;
            last = (to + BlockDevice.SECTOR_SIZE - 1) / BlockDevice.SECTOR_SIZE;
        } else {
            first = (from + BlockDevice.SECTOR_SIZE - 1) / BlockDevice.SECTOR_SIZE;
            last = to / BlockDevice.SECTOR_SIZE;
        }
        if (!runs.isEmpty()) {
            // Rounding data out never leaves a gap, but two pieces of data may share a sector.
            Extent prev = runs.get(runs.size() - 1);
            first = Math.max(first, prev.endSector());
            if (last > first && prev.type() == type) {
                runs.set(runs.size() - 1, new Extent(prev.sector(), last - prev.sector(), type));
                return;
            }
        }
        if (last > first) {
            runs.add(new Extent(first, last - first, type));
        }
    }

    /** @return false once the file system refused to punch a hole: writing zeros is then the way */
    boolean canPunch() {
        return !punchRefused;
    }

    /**
     * Punches a hole over {@code count} sectors at {@code sector}; they read as zeros after.
     *
     * @return true if done; false if the file system refused (the caller writes zeros), after
     *         which {@link #canPunch()} is false
     */
    boolean punch(long sector, long count) {
        lock.readLock().lock();
        try {
            if (closed || punchRefused) {
                return false;
            }
            try {
                sys.punch(fd, sector * BlockDevice.SECTOR_SIZE, count * BlockDevice.SECTOR_SIZE);
                return true;
            } catch (IOException | RuntimeException e) {
                punchRefused = true;
                LOG.log(Level.DEBUG, "{0} cannot punch holes ({1}): zeros are written instead", path, e.getMessage());
                return false;
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Copies {@code length} bytes at {@code from} of this file to {@code to} of {@code dst} without
     * passing them through the JVM: a reflink ({@code FICLONERANGE}) where the range is aligned to
     * {@value #CLONE_ALIGNMENT} bytes and {@code dst}'s file system has not refused one before,
     * else {@code copy_file_range} until every byte is copied (which on XFS and Btrfs also shares
     * blocks, and elsewhere copies in the kernel). Runs in the calling thread; many at a time.
     *
     * @param dst a file opened writable
     * @throws OffloadRefusedException if the kernel refuses the pair, or copies nothing before
     *                                 {@code length} bytes: the range of {@code dst} is then
     *                                 partly written, and must be written otherwise
     * @throws IOException             on an I/O error, or if either file is closed
     */
    void copyTo(FileHoles dst, long from, long to, long length) throws IOException {
        Lock first = (number < dst.number ? this : dst).lock.readLock();
        Lock second = (number < dst.number ? dst : this).lock.readLock();
        first.lock();
        try {
            second.lock();
            try {
                if (closed || dst.closed) {
                    throw new IOException("copy from " + path + " to " + dst.path + ": " + (closed ? path : dst.path)
                            + " is closed");
                }
                if (!dst.cloneRefused && (from | to | length) % CLONE_ALIGNMENT == 0) {
                    try {
                        sys.cloneRange(fd, from, dst.fd, to, length);
                        return;
                    } catch (OffloadRefusedException e) {
                        dst.cloneRefused = true;
                        LOG.log(Level.DEBUG, "{0} takes no reflinks from {1} ({2}): copy_file_range from now on",
                                dst.path, path, e.getMessage());
                    }
                }
                long done = 0;
                while (done < length) {
                    long n = sys.copyRange(fd, from + done, dst.fd, to + done, length - done);
                    if (n <= 0) {
                        throw new OffloadRefusedException("copy_file_range from " + path + " to " + dst.path
                                + " copied nothing at byte " + (from + done) + ", " + (length - done)
                                + " bytes before the end of the " + length + " asked for");
                    }
                    done += n;
                }
            } finally {
                second.unlock();
            }
        } finally {
            first.unlock();
        }
    }

    /** Closes the descriptor once the calls in flight have returned. Idempotent. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                sys.close(fd);
            }
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "closing the hole descriptor of {0}: {1}", path, e.toString());
        } finally {
            lock.writeLock().unlock();
        }
    }
}
