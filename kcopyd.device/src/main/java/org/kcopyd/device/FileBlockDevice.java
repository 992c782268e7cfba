package org.kcopyd.device;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;

/**
 * A file or raw block device, read and written with positional I/O on a {@link FileChannel}.
 * The I/O runs in the calling thread (one of the engine's I/O threads) and the returned stage
 * is already complete; many calls may run at once, as positional I/O needs no shared position.
 *
 * <p>With O_DIRECT, a request whose offset, length or buffer address is not aligned to the
 * file system's block size goes through a second, buffered channel on the same file instead
 * of failing (Linux keeps the two coherent).
 *
 * <p><b>Holes.</b> A regular file on Linux, with JNA in the runtime, tells where its data is
 * ({@link #extents}: {@code SEEK_DATA}/{@code SEEK_HOLE}; holes are {@link Extent.Type#HOLE}) and,
 * opened for writing, zeroes ranges by punching holes ({@link #writeZeroes}: {@code fallocate}
 * with {@code PUNCH_HOLE|KEEP_SIZE}). Where the file system refuses to punch holes, zeros are
 * written instead and {@link #supportsWriteZeroes()} turns false. Elsewhere (a block device, no
 * JNA, another system) the file answers one data run, has no write-zeroes command, and reads and
 * writes exactly as without this.
 *
 * <p><b>Copy offload.</b> Where both have their holes, a file copies to another file device by
 * the kernel ({@link #offloadTo}): a reflink ({@code FICLONERANGE}) where the file system shares
 * blocks, else {@code copy_file_range}; the kernel refuses files on different file systems
 * ({@code EXDEV}), which the engine then copies through its pages. By default the engine offloads
 * only where {@link #offloadBeatsPagesTo} says the kernel's copy is faster: a file system that
 * shares blocks or copies on the server ({@code fstatfs}'s {@code f_type}, read once at open).
 *
 * <p><b>Lanes.</b> Where the file's own descriptor is known (with its holes), the buffered I/O of
 * the calling threads is spread over {@value #LANES} channels on the file, each thread always on
 * the same one: the opener's channel and channels opened again through {@code /proc/self/fd} of
 * that descriptor, so they are the very file (never a file that took its name since). Threads on
 * one channel queue on its bookkeeping (the JDK's set of threads in I/O on the channel, the
 * kernel's count of references to one open file): 4 KiB jobs ran about 10% faster with lanes on 2
 * cores (BENCHMARKS.md). Where a lane cannot be opened, every thread uses the opener's channel.
 *
 * <p><b>Interrupts.</b> A JDK file channel is closed for every user when a thread that is
 * interrupted does I/O on it. Here the I/O of a read, write, write-zeroes or flush is not
 * interruptible, as a disk's is not: the caller's interrupt status is set aside during the call
 * and restored after it, and a channel closed under a call all the same (an interrupt that
 * arrives during the system call, on this or another thread) is opened again through {@code
 * /proc/self/fd} of the device's own descriptor, the very file, and the call goes on. So one
 * interrupted caller (a cancelled task, a stopping component) never breaks the device for the
 * others. A device without a descriptor of its own (no JNA, not Linux) cannot reopen: there such
 * a call fails, as the channel's later calls do.
 */
public final class FileBlockDevice implements BlockDevice {

    private static final CompletionStage<Void> DONE = CompletableFuture.completedStage(null);
    private static final System.Logger LOG = System.getLogger(FileBlockDevice.class.getName());
    /** Channels a file's buffered I/O is spread over (see the class documentation). */
    static final int LANES = 4;

    /** Channels replaced in a row, by one call, before it gives up (an interrupt storm). */
    private static final int MOST_REOPENS = 64;

    private final Path path;
    /** The buffered channels: the {@link #LANES} lanes or one; [0] is the opener's channel. */
    private final AtomicReferenceArray<FileChannel> buffered;
    /** [0]: the O_DIRECT channel; null without O_DIRECT. */
    private final AtomicReferenceArray<FileChannel> direct;
    private final Set<? extends OpenOption> bufferedOptions;
    private final Set<OpenOption> directOptions;
    private final int alignment;
    private final boolean readOnly;
    private final long sectors;
    /** A regular file (its length is its channels' size), else a block device (its capacity is {@link #sectors}). */
    private final boolean regular;
    private final Object identity;
    private final FileClaim claim;
    private final FileHoles holes;
    /** A descriptor of the file this device holds for reopening (see Interrupts), if not the holes'; else -1. */
    private final int anchor;
    private final NativeFiles sys;
    private volatile boolean closed; // written under this
    private volatile int reopened; // written under this
    private static volatile ByteBuffer zeros;

    /**
     * @param same        a path that opens the very file of {@code channel} ({@code /proc/self/fd/N}
     *                    of a descriptor the opener holds while this constructor runs), through which
     *                    the holes' descriptor is opened; {@code path} names the file in messages
     * @param laneOptions how {@code channel} was opened (READ, WRITE, DSYNC): the lanes are opened
     *                    alike; empty for no lanes
     */
    FileBlockDevice(Path path, Path same, FileChannel channel, FileChannel direct, int alignment, boolean readOnly,
            long sectors, Object identity, FileClaim claim, Set<? extends OpenOption> laneOptions) {
        this(path, same, channel, direct, alignment, readOnly, sectors, identity, claim, FileHoles.system(),
                laneOptions);
    }

    /** As above, the holes seen through {@code sys} (null: none), for tests of file systems that refuse. */
    FileBlockDevice(Path path, FileChannel channel, FileChannel direct, int alignment, boolean readOnly,
            long sectors, Object identity, FileClaim claim, NativeFiles sys, Set<? extends OpenOption> laneOptions) {
        this(path, path, channel, direct, alignment, readOnly, sectors, identity, claim, sys, laneOptions);
    }

    private FileBlockDevice(Path path, Path same, FileChannel channel, FileChannel direct, int alignment,
            boolean readOnly, long sectors, Object identity, FileClaim claim, NativeFiles sys,
            Set<? extends OpenOption> laneOptions) {
        this.claim = claim;
        this.path = path;
        this.alignment = alignment;
        this.readOnly = readOnly;
        this.sectors = sectors;
        this.regular = java.nio.file.Files.isRegularFile(same);
        this.identity = identity;
        this.sys = sys;
        this.holes = FileHoles.open(sys, same, path, identity, !readOnly);
        // A block device has no holes' descriptor: one of its own, to open its channels again through.
        this.anchor = holes == null ? FileHoles.ownDescriptor(sys, same, identity, !readOnly) : -1;
        this.bufferedOptions = !laneOptions.isEmpty() ? Set.copyOf(laneOptions) : readOnly
                ? Set.of(java.nio.file.StandardOpenOption.READ)
                : Set.of(java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE);
        FileChannel[] lanes = holes == null || laneOptions.isEmpty() ? null
                : openLanes(channel, holes.reopenPath(), laneOptions);
        this.buffered = new AtomicReferenceArray<>(lanes == null ? new FileChannel[] {channel} : lanes);
        this.direct = direct == null ? null : new AtomicReferenceArray<>(new FileChannel[] {direct});
        Set<OpenOption> withDirect = new java.util.HashSet<>(laneOptions);
        if (FileDeviceOpener.DIRECT_OPTION != null) {
            withDirect.add(FileDeviceOpener.DIRECT_OPTION);
        }
        this.directOptions = Set.copyOf(withDirect);
    }

    /** @return the path that opens this very file again, or null if this device has none */
    private Path reopenPath() {
        return holes != null ? holes.reopenPath() : anchor >= 0 ? FileHoles.descriptorPath(anchor) : null;
    }

    private static FileChannel[] openLanes(FileChannel first, Path reopen, Set<? extends OpenOption> options) {
        FileChannel[] opened = new FileChannel[LANES];
        opened[0] = first;
        try {
            for (int i = 1; i < LANES; i++) {
                opened[i] = FileChannel.open(reopen, options);
            }
            return opened;
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "no lanes on " + reopen + ": " + e);
            closeLanes(opened);
            return null;
        }
    }

    /** Closes every lane but the first (the opener's channel, closed with the device). */
    private static void closeLanes(FileChannel[] lanes) {
        for (int i = 1; i < lanes.length; i++) {
            if (lanes[i] != null) {
                try {
                    lanes[i].close();
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.DEBUG, () -> "closing a lane failed: " + e);
                }
            }
        }
    }

    /**
     * Opens another channel on this very file, through {@code /proc/self/fd} of the device's own
     * descriptor, never by its name (which another file may have taken since): for what block
     * I/O does not address, such as the bytes past a file's last whole sector. The caller closes it.
     *
     * @param forWriting true for a channel that writes (this device must be writable), false for one that reads
     * @return the channel, or empty where this device has no descriptor of its own (no JNA, not
     *         Linux, not a regular file): the caller must then open the file by name and check it
     * @throws IOException if the channel cannot be opened, or this device is read-only and
     *                     {@code forWriting}
     */
    public java.util.Optional<FileChannel> reopen(boolean forWriting) throws IOException {
        if (forWriting && readOnly) {
            throw new IOException("device '" + name() + "' is read-only");
        }
        if (holes == null) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(FileChannel.open(holes.reopenPath(),
                forWriting ? java.nio.file.StandardOpenOption.WRITE : java.nio.file.StandardOpenOption.READ));
    }

    /** @return the buffered channel of lane {@code i} now (for tests) */
    FileChannel lane(int i) {
        return buffered.get(i);
    }

    /** @return how many channels were opened again since the device was opened (see Interrupts) */
    int reopened() {
        return reopened;
    }

    /** @return the channels this device's buffered I/O goes through: {@value #LANES}, or 1 without lanes */
    int laneCount() {
        return buffered.length();
    }

    /**
     * The size of the very file this device reads and writes, read through its own descriptor,
     * never by its name (which another file may have taken since it was opened): a regular
     * file's length now, which need not be whole sectors (and may have changed since the device
     * was opened, if something else resized the file), or a block device's capacity.
     *
     * @return the size in bytes
     * @throws IOException if the file's length cannot be read (the device is closed, say)
     */
    public long sizeInBytes() throws IOException {
        return regular ? onFirstChannel(FileChannel::size) : sectors * SECTOR_SIZE;
    }

    /** @return the file or device path */
    public Path path() {
        return path;
    }

    /**
     * @return the identity (device and inode) of the very file this device reads and writes, as
     *         {@link FileClaims#identityOf} gives it for a path, whatever its name names now
     */
    public Object identity() {
        return identity;
    }

    /** @return true until {@link #close()} */
    public boolean isOpen() {
        return !closed;
    }

    /** @return true if this file tells where its holes are ({@link #extents} answers from the file system) */
    public boolean knowsHoles() {
        return holes != null;
    }

    /** @return true if aligned requests bypass the page cache */
    public boolean isDirect() {
        return direct != null;
    }

    @Override
    public String name() {
        return path.toString();
    }

    @Override
    public long sizeInSectors() {
        return sectors;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    /** @return the channel for a request: -1 for the O_DIRECT one, else the calling thread's lane */
    private int slotFor(long position, ByteBuffer buffer) {
        if (direct != null && position % alignment == 0 && buffer.remaining() % alignment == 0
                && buffer.isDirect() && buffer.alignmentOffset(buffer.position(), alignment) == 0) {
            return -1;
        }
        int n = buffered.length();
        return n == 1 ? 0 : (int) (Thread.currentThread().getId() % n);
    }

    private FileChannel channel(int slot) {
        return slot < 0 ? direct.get(0) : buffered.get(slot);
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        try {
            transfer(sector * SECTOR_SIZE, dst, false);
            return DONE;
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedStage(e);
        }
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        if (readOnly) {
            return CompletableFuture.failedStage(new IOException("device '" + name() + "' is read-only"));
        }
        try {
            transfer(sector * SECTOR_SIZE, src, true);
            return DONE;
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedStage(e);
        }
    }

    /**
     * Reads or writes all of {@code buffer} at byte {@code start}, positional; not interruptible
     * (see the class documentation): a channel closed under the call is replaced and the call
     * goes on from where the buffer got to (a positional write of the same bytes again is the
     * same write).
     */
    private void transfer(long start, ByteBuffer buffer, boolean write) throws IOException {
        int first = buffer.position();
        boolean interrupted = Thread.interrupted();
        int reopens = 0;
        try {
            while (buffer.hasRemaining()) {
                long position = start + (buffer.position() - first);
                int slot = slotFor(position, buffer);
                FileChannel ch = channel(slot);
                try {
                    int n = write ? ch.write(buffer, position) : ch.read(buffer, position);
                    if (n >= 0) {
                        reopens = 0;
                        continue;
                    }
                    if (ch.isOpen()) {
                        throw new EOFException("read of " + name() + " at byte " + position
                                + " hit the end of the file");
                    }
                    // Closed while the call was in it: the JDK answers -1 then.
                    throw new java.nio.channels.AsynchronousCloseException();
                } catch (ClosedChannelException e) {
                    interrupted |= recover(slot, ch, e, ++reopens);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A call on a channel. */
    @FunctionalInterface
    private interface ChannelCall<T> {
        T on(FileChannel channel) throws IOException;
    }

    /**
     * Makes {@code call} on the first buffered channel, not interruptible as {@link #transfer} is.
     */
    private <T> T onFirstChannel(ChannelCall<T> call) throws IOException {
        boolean interrupted = Thread.interrupted();
        try {
            for (int reopens = 1;; reopens++) {
                FileChannel ch = buffered.get(0);
                try {
                    return call.on(ch);
                } catch (ClosedChannelException e) {
                    interrupted |= recover(0, ch, e, reopens);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * After {@code ch} was closed under a call: sets the caller's interrupt aside (the JDK leaves
     * it set, and the next call on a channel would close that one too) and replaces the channel.
     *
     * @return true if the caller was interrupted: its caller restores that when it returns
     */
    private boolean recover(int slot, FileChannel ch, ClosedChannelException e, int reopens) throws IOException {
        boolean interrupted = Thread.interrupted();
        replace(slot, ch, e, reopens);
        return interrupted;
    }

    /**
     * Replaces the channel {@code old} in {@code slot}, closed under a call, by one opened through
     * this device's own descriptor; nothing if another call replaced it already.
     *
     * @throws IOException if the device is closed, has no descriptor to reopen through, or
     *                     {@code reopens} reached {@value #MOST_REOPENS}; naming the file
     */
    private synchronized void replace(int slot, FileChannel old, ClosedChannelException cause, int reopens)
            throws IOException {
        if (closed) {
            throw new IOException("device '" + name() + "' is closed", cause);
        }
        if (channel(slot) != old) {
            return;
        }
        Path again = reopenPath();
        if (again == null) {
            throw new IOException("the channel on " + name() + " was closed by an interrupt during I/O, and this device "
                    + "has no descriptor of its own to open it again through (JNA on Linux)", cause);
        }
        if (reopens > MOST_REOPENS) {
            throw new IOException("the channel on " + name() + " was closed under one call " + MOST_REOPENS
                    + " times in a row (interrupts during I/O)", cause);
        }
        FileChannel fresh = FileChannel.open(again, slot < 0 ? directOptions : bufferedOptions);
        if (slot < 0) {
            direct.set(0, fresh);
        } else {
            buffered.set(slot, fresh);
        }
        reopened++;
        LOG.log(System.Logger.Level.DEBUG, () -> "reopened a channel on " + name() + " closed by " + cause);
    }

    @Override
    public CompletionStage<Void> flush() {
        try {
            // Any channel on the file flushes the file.
            onFirstChannel(ch -> {
                ch.force(false);
                return null;
            });
            return DONE;
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedStage(e);
        }
    }

    /** @return true while this writable file can punch holes (see the class documentation) */
    @Override
    public boolean supportsWriteZeroes() {
        return !readOnly && holes != null && holes.canPunch();
    }

    /**
     * Zeroes {@code count} sectors at {@code sector}: punches a hole where the file system can,
     * else writes zeros (a file system refusing holes, a device without them). Runs in the
     * calling thread; the stage is complete.
     */
    @Override
    public CompletionStage<Void> writeZeroes(long sector, long count) {
        if (readOnly) {
            return CompletableFuture.failedStage(new IOException("device '" + name() + "' is read-only"));
        }
        if (sector < 0 || count < 1 || sector > sectors - count) {
            return CompletableFuture.failedStage(new IOException("write-zeroes of " + count + " sectors at sector "
                    + sector + " is outside " + name() + " (" + sectors + " sectors)"));
        }
        if (holes != null && holes.punch(sector, count)) {
            return DONE;
        }
        try {
            ByteBuffer z = zeroBuffer();
            long position = sector * SECTOR_SIZE;
            long end = position + count * SECTOR_SIZE;
            while (position < end) {
                ByteBuffer src = z.duplicate();
                src.limit((int) Math.min(src.capacity(), end - position));
                int piece = src.remaining();
                transfer(position, src, true);
                position += piece;
            }
            return DONE;
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedStage(e);
        }
    }

    private static ByteBuffer zeroBuffer() {
        ByteBuffer z = zeros;
        if (z == null) {
            // 256 KiB for every file device of the JVM, made once: writes of zeros where holes cannot be punched.
            z = ByteBuffer.allocateDirect(256 * 1024).asReadOnlyBuffer();
            zeros = z;
        }
        return z;
    }

    /**
     * @return true if {@code destination} is a writable file device and both files are regular
     *         files reachable through the system calls of holes (Linux with JNA): the kernel may
     *         then copy between them ({@link #offloadTo}); whether it does is known only by trying
     */
    @Override
    public boolean canOffloadTo(BlockDevice destination) {
        return holes != null && destination instanceof FileBlockDevice f && !f.readOnly && f.holes != null;
    }

    /**
     * @return true if {@link #canOffloadTo} accepts {@code destination} and both files are on one
     *         file system where the kernel's copy moves no data through this process: one that
     *         shares blocks (XFS, Btrfs, bcachefs, OCFS2: a reflink) or a network file system (NFS,
     *         CIFS/SMB: a server-side copy). False elsewhere (ext4, tmpfs...), where the page path
     *         is as fast or faster, and where the file system could not be told.
     */
    @Override
    public boolean offloadBeatsPagesTo(BlockDevice destination) {
        return canOffloadTo(destination) && holes.offloadBeatsPagesTo(((FileBlockDevice) destination).holes);
    }

    /**
     * Copies by the kernel (see {@link FileHoles#copyTo}: a reflink where the file system takes
     * one, else {@code copy_file_range}). Runs in the calling thread; the stage is complete. A
     * refusal of the kernel (files on different file systems, a file system without the call) is
     * an {@link UnsupportedOperationException} naming both files and the error.
     */
    @Override
    public CompletionStage<Void> offloadTo(long sector, long count, BlockDevice destination, long destSector) {
        if (!canOffloadTo(destination)) {
            return CompletableFuture.failedStage(new UnsupportedOperationException("file " + name()
                    + " cannot copy by the kernel to '" + destination.name() + "': not a writable file device with "
                    + "the system calls of holes (Linux with JNA)"));
        }
        FileBlockDevice to = (FileBlockDevice) destination;
        if (sector < 0 || count < 1 || sector > sectors - count) {
            return CompletableFuture.failedStage(new IllegalArgumentException("offload of " + count
                    + " sectors at sector " + sector + " is outside " + name() + " (" + sectors + " sectors)"));
        }
        if (destSector < 0 || destSector > to.sectors - count) {
            return CompletableFuture.failedStage(new IllegalArgumentException("offload of " + count
                    + " sectors to sector " + destSector + " is outside " + to.name() + " (" + to.sectors + " sectors)"));
        }
        try {
            holes.copyTo(to.holes, sector * SECTOR_SIZE, destSector * SECTOR_SIZE, count * SECTOR_SIZE);
            return DONE;
        } catch (OffloadRefusedException e) {
            return CompletableFuture.failedStage(new UnsupportedOperationException("the kernel refused to copy "
                    + name() + " to " + to.name() + ": " + e.getMessage(), e));
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedStage(e);
        }
    }

    /**
     * Where the data is: from the file system where this file {@linkplain #knowsHoles() knows its
     * holes}, else one data run. Runs in the calling thread; the stage is complete. A refusal of
     * the file system is answered as data (the answer is a hint).
     */
    @Override
    public CompletionStage<List<Extent>> extents(long sector, long count) {
        if (holes != null && sector >= 0 && count >= 1 && sector <= sectors - count) {
            try {
                List<Extent> runs = holes.extents(sector, count);
                if (!runs.isEmpty()) {
                    return CompletableFuture.completedStage(runs);
                }
            } catch (IOException e) {
                // A hint only: fall through to "data".
            }
        }
        return BlockDevice.super.extents(sector, count);
    }

    /** Closes the file and releases its {@linkplain FileClaims claim}. */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            // No channel is replaced from now on (replace checks this under the same lock).
            closed = true;
        }
        // The claim goes last: closing a channel waits for the writes in it, and the holes' close for
        // punches in flight; released first, another process could claim the file and have its data
        // overwritten by a write of this device still landing.
        try {
            FileChannel[] lanes = new FileChannel[buffered.length()];
            for (int i = 0; i < lanes.length; i++) {
                lanes[i] = buffered.get(i);
            }
            closeLanes(lanes);
            if (holes != null) {
                holes.close();
            }
            if (anchor >= 0) {
                sys.close(anchor);
            }
            try (FileChannel first = lanes[0]) {
                if (direct != null) {
                    direct.get(0).close();
                }
            }
        } finally {
            if (claim != null) {
                claim.close();
            }
        }
    }

    /** Two devices on the same file (device and inode) are equal, so overlaps are detected across opens. */
    @Override
    public boolean equals(Object o) {
        return o instanceof FileBlockDevice f && f.identity.equals(identity);
    }

    @Override
    public int hashCode() {
        return identity.hashCode();
    }

    @Override
    public String toString() {
        return "FileBlockDevice[" + path + (readOnly ? ", read-only" : "") + (direct != null ? ", O_DIRECT" : "")
                + (holes != null ? ", holes" : "") + ", " + sectors + " sectors]";
    }
}
