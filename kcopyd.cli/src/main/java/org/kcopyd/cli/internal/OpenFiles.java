package org.kcopyd.cli.internal;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.device.BlockIo;
import org.kcopyd.device.FileBlockDevice;
import org.kcopyd.device.FileClaims;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.device.FileErrors;
import org.kcopyd.device.NoDeviceProviderException;

/**
 * The files and devices named by URI one command has opened, and the files it created.
 * Destinations are opened read-write once per file or URI (several regions of one file share the
 * device, as the claim on a written file is exclusive). A new file is created only where nothing
 * exists ({@code CREATE_NEW}), and the files this command created can be removed again if the job
 * is refused after all. Closing closes everything; so does {@link #cancel()}, from any thread,
 * which makes a running job's remaining I/O fail.
 */
final class OpenFiles implements Closeable {

    private record Created(Path path, Object identity) {
    }

    private final BlockDeviceOpener opener;
    private final DeviceOption[] read;
    private final DeviceOption[] write;
    private final Map<Object, BlockDevice> writable = new HashMap<>();
    private final Map<Object, BlockDevice> readable = new HashMap<>();
    private final Map<Object, BlockDevice> readBack = new HashMap<>();
    private final Map<Object, FileChannel> channels = new HashMap<>();
    private final List<Closeable> all = new ArrayList<>();
    private final List<Created> created = new ArrayList<>();
    private boolean closed;

    OpenFiles(BlockDeviceOpener opener, boolean direct) {
        this.opener = opener;
        this.read = direct ? new DeviceOption[] {DeviceOption.DIRECT} : new DeviceOption[0];
        this.write = direct ? new DeviceOption[] {DeviceOption.READ_WRITE, DeviceOption.DIRECT}
                : new DeviceOption[] {DeviceOption.READ_WRITE};
    }

    /** @return the source, opened read-only: the file it was examined as (else refused) */
    synchronized BlockDevice openRead(Operand source) {
        BlockDevice device = track(open(source, read, "reading"));
        requireSame(source, device, source.identity(), "read", "since kcopyd examined it");
        readable.put(source.identity(), device);
        return device;
    }

    /**
     * Opens a file by its path, a device named by URI by its URI (through the opener's provider
     * of the scheme).
     *
     * @throws CommandException {@link Exit#USAGE} if no provider serves the URI's scheme or the
     *                          provider finds the URI malformed; {@link Exit#FAILED} if it cannot be
     *                          opened (the file's error in words, the provider's message)
     */
    private BlockDevice open(Operand operand, DeviceOption[] options, String purpose) {
        try {
            return operand.isRemote() ? opener.open(operand.uri(), options) : opener.open(operand.path(), options);
        } catch (NoDeviceProviderException e) {
            throw CommandException.usage(e.getMessage());
        } catch (IOException e) {
            throw CommandException.failed(FileErrors.describe(e, "open " + operand.name() + " for " + purpose));
        } catch (IllegalArgumentException e) {
            throw CommandException.usage("cannot open " + operand.name() + ": " + e.getMessage());
        }
    }

    /**
     * @return the destination's device, opened read-write (claimed) the first time it is asked
     *         for: an existing destination must be the file it was examined as (else refused)
     */
    synchronized BlockDevice openWrite(Operand dest) {
        return openWrite(dest, dest.exists() ? dest.identity() : null, "since kcopyd examined it");
    }

    /**
     * @param expected the identity the opened file must have, or null to take what the name names
     * @param since    when it could have been replaced, for the message
     */
    private BlockDevice openWrite(Operand dest, Object expected, String since) {
        BlockDevice device = writable.get(dest.identity());
        if (device == null) {
            device = track(open(dest, write, "writing"));
            if (expected != null) {
                requireSame(dest, device, expected, "write", since);
            }
            writable.put(dest.identity(), device);
        }
        return device;
    }

    /**
     * Refuses a file device that is not the file {@code expected} names: another file was renamed
     * over the name after it was examined (and a check such as "not the source" was made on it).
     * The device stays tracked and is closed with the others.
     */
    private static void requireSame(Operand operand, BlockDevice device, Object expected, String doing,
            String since) {
        if (!operand.isRemote() && device instanceof FileBlockDevice f && !f.identity().equals(expected)) {
            throw CommandException.failed("cannot " + doing + " " + operand.path() + ": it was replaced by another file "
                    + since + "; nothing was written");
        }
    }

    /**
     * Opens a written file again, read-only with O_DIRECT, to read back what reached the device
     * rather than what the page cache holds ({@code copy --verify}); once per file.
     *
     * @return the device, which is checked to be the file that was written
     * @throws IOException if the file cannot be opened with O_DIRECT (tmpfs before Linux 6.6, some
     *                     FUSE and network file systems refuse it) or was replaced meanwhile
     */
    synchronized BlockDevice openReadBack(Operand dest) throws IOException {
        BlockDevice device = readBack.get(dest.identity());
        if (device == null) {
            if (closed) {
                throw new java.nio.channels.ClosedChannelException();
            }
            device = track(opener.open(dest.path(), DeviceOption.DIRECT));
            Object expected = writtenIdentity(dest);
            // The file opened, by its own descriptor where it has one: not what the name names a moment later.
            Object opened = device instanceof FileBlockDevice f ? f.identity() : FileClaims.identityOf(dest.path());
            if (expected == null || !opened.equals(expected)) {
                throw new IOException(dest.path() + " was replaced by another file while kcopyd used it");
            }
            readBack.put(dest.identity(), device);
        }
        return device;
    }

    /**
     * Whether a written destination's name still names the file written, for {@code copy
     * --verify}: a file removed, or replaced by another file, since kcopyd opened it cannot be
     * read back as that name (what was written there has no name, or another one).
     *
     * @return null if {@code dest}'s name names the file written, else why not, in words
     */
    synchronized String notTheFileWritten(Operand dest) {
        return notTheFileWritten(dest, "used");
    }

    /**
     * As {@link #notTheFileWritten(Operand)}, saying what kcopyd did with the file.
     *
     * @param did completes "while kcopyd ... it", e.g. {@code "wrote"}
     */
    synchronized String notTheFileWritten(Operand dest, String did) {
        return FileClaims.whyNotNamed(dest.path(), writtenIdentity(dest), did);
    }

    /** @return the identity of the file written as {@code dest}: its device's, else the examined or created one */
    private Object writtenIdentity(Operand dest) {
        BlockDevice device = writable.get(dest.identity());
        if (device instanceof FileBlockDevice f) {
            return f.identity();
        }
        return dest.exists() ? dest.identity() : createdIdentity(dest.path());
    }

    private Object createdIdentity(Path path) {
        for (Created c : created) {
            if (c.path().equals(path)) {
                return c.identity();
            }
        }
        return null;
    }

    /**
     * Creates a new file of exactly {@code bytes} (sparse) where nothing exists, and opens it read-write.
     *
     * @return the file's device; its size is {@code bytes} rounded down to whole sectors
     */
    synchronized BlockDevice create(Operand dest, long bytes) {
        Path path = dest.path();
        Object identity;
        try {
            // The identity of the file made, read through its own descriptor: never one renamed over it since.
            identity = FileDeviceOpener.createFile(path, bytes);
            created.add(new Created(path, identity));
        } catch (IOException e) {
            throw CommandException.failed(FileErrors.describe(e, "create " + path));
        }
        // Another file renamed over the new one before it was opened is not ours to write.
        return openWrite(new Operand(path, dest.identity(), true, true), identity, "while kcopyd created it");
    }

    /**
     * @return the size in bytes of an opened file or device: a regular file's length, a block
     *         device's or a device named by URI's capacity. A file device's length is read
     *         through its own descriptor, never by its name, which another file may have taken
     *         since it was opened (its length would be that file's)
     */
    static long bytes(Operand operand, BlockDevice device) {
        if (!operand.regular()) {
            // A device named by URI may hold bytes past its last whole sector (an NBD export of any size).
            return device.sizeInSectors() * BlockDevice.SECTOR_SIZE + device.tailBytes();
        }
        try {
            // A device of another kind over a file (a test's wrapper) has no descriptor to ask.
            return device instanceof FileBlockDevice f ? f.sizeInBytes() : Files.size(operand.path());
        } catch (IOException e) {
            throw CommandException.failed(FileErrors.describe(e, "read the size of " + operand.path()));
        }
    }

    /**
     * Reads the {@code bytes} (less than a sector) at byte {@code position} of an opened file or
     * device named by URI, which block I/O does not address: a file's through the file itself
     * ({@link #channel}), a device's through its {@linkplain BlockDevice#readTail tail}, which must
     * be those very bytes (it is: the command's regions end where such a device ends).
     *
     * @throws IOException if they cannot be read, the file ended before them (naming where), or the
     *                     device's tail is not those bytes
     */
    ByteBuffer readTail(Operand operand, long position, int bytes) throws IOException {
        ByteBuffer data = ByteBuffer.allocate(bytes);
        if (operand.isRemote()) {
            BlockDevice device = remoteTail(operand, position, bytes);
            BlockIo.await(device.readTail(data));
            return data.flip();
        }
        FileChannel ch = channel(operand, false);
        long at = position;
        while (data.hasRemaining()) {
            int n = ch.read(data, at);
            if (n < 0) {
                throw new EOFException(operand.name() + " ended at byte " + at + ", before the " + (position + bytes)
                        + " bytes it had when the command started");
            }
            at += n;
        }
        return data.flip();
    }

    /**
     * Writes {@code data} (less than a sector) at byte {@code position} of an opened destination, as
     * {@link #readTail} reads, and makes it durable if {@code force}.
     *
     * @throws IOException if it cannot be written or made durable, or the device's tail is not those bytes
     */
    void writeTail(Operand operand, long position, ByteBuffer data, boolean force) throws IOException {
        if (operand.isRemote()) {
            BlockDevice device = remoteTail(operand, position, data.remaining());
            BlockIo.await(device.writeTail(data));
            if (force) {
                BlockIo.await(device.flush());
            }
            return;
        }
        FileChannel ch = channel(operand, true);
        long at = position;
        while (data.hasRemaining()) {
            at += ch.write(data, at);
        }
        if (force) {
            ch.force(false);
        }
    }

    /** @return the opened device named by URI whose tail is the {@code bytes} at byte {@code position} */
    private synchronized BlockDevice remoteTail(Operand operand, long position, int bytes) throws IOException {
        BlockDevice device = writable.containsKey(operand.identity()) ? writable.get(operand.identity())
                : readable.get(operand.identity());
        if (device == null) {
            throw new IOException(operand.name() + " is not open");
        }
        long tailByte = device.sizeInSectors() * BlockDevice.SECTOR_SIZE;
        if (position != tailByte || bytes != device.tailBytes()) {
            throw new IOException(operand.name() + " is a device named by URI, which takes whole sectors and its own "
                    + device.tailBytes() + " last bytes at byte " + tailByte + ", not " + bytes + " bytes at byte "
                    + position);
        }
        return device;
    }

    /**
     * A channel on an opened file for the bytes past its last whole sector, which block devices
     * do not address: opened through the file's device where it has a descriptor of its own (so
     * it is the very file the device reads or writes, whatever its name names meanwhile), else by
     * name and checked to be the file that was opened (not one renamed into its place).
     *
     * @throws IOException if it cannot be opened or is not the same file
     */
    synchronized FileChannel channel(Operand operand, boolean forWriting) throws IOException {
        if (operand.isRemote()) {
            throw new IOException(operand.name() + " is a device named by URI, which has no file to read or write");
        }
        List<Object> key = List.of(operand.identity(), forWriting);
        FileChannel ch = channels.get(key);
        if (ch == null) {
            if (closed) {
                throw new java.nio.channels.ClosedChannelException();
            }
            BlockDevice device = (forWriting ? writable : readable).get(operand.identity());
            java.util.Optional<FileChannel> same = device instanceof FileBlockDevice f ? f.reopen(forWriting)
                    : java.util.Optional.empty();
            // Through the device's own descriptor where it has one: the very file its blocks go to,
            // whatever its name now names; else by name, checked below.
            ch = same.isPresent() ? same.get()
                    : FileChannel.open(operand.path(), forWriting ? StandardOpenOption.WRITE : StandardOpenOption.READ);
            all.add(ch);
            channels.put(key, ch);
            if (same.isEmpty() && operand.exists()
                    && !FileClaims.identityOf(operand.path()).equals(operand.identity())) {
                throw new IOException(operand.path() + " was replaced by another file while kcopyd used it");
            }
        }
        return ch;
    }

    /**
     * Removes the files this command created (after a refusal), if they are still the files it
     * created; closes everything first.
     *
     * @return the paths removed
     */
    synchronized List<Path> removeCreated() {
        cancel();
        List<Path> removed = new ArrayList<>();
        for (Created c : created) {
            try {
                if (Files.exists(c.path()) && FileClaims.identityOf(c.path()).equals(c.identity())) {
                    Files.delete(c.path());
                    removed.add(c.path());
                }
            } catch (IOException e) {
                // Left as it is: removing is a courtesy, and a file that cannot be examined is not ours to delete.
            }
        }
        created.clear();
        return removed;
    }

    /** Closes every device and channel; a running job's further I/O on them fails. Idempotent. */
    synchronized void cancel() {
        closed = true;
        for (Closeable c : all) {
            try {
                c.close();
            } catch (IOException e) {
                // Closing to stop: a failure to close changes nothing about what is reported.
            }
        }
    }

    @Override
    public void close() {
        cancel();
    }

    private BlockDevice track(BlockDevice device) {
        all.add(device);
        return device;
    }
}
