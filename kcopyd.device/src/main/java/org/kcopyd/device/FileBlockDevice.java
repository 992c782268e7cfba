package org.kcopyd.device;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;

/**
 * A file or raw block device, read and written with positional I/O on a {@link FileChannel}.
 * The I/O runs in the calling thread (one of the engine's I/O threads) and the returned stage
 * is already complete; many calls may run at once, as positional I/O needs no shared position.
 *
 * <p>With O_DIRECT, a request whose offset, length or buffer address is not aligned to the
 * file system's block size goes through a second, buffered channel on the same file instead
 * of failing (Linux keeps the two coherent).
 */
public final class FileBlockDevice implements BlockDevice {

    private static final CompletionStage<Void> DONE = CompletableFuture.completedStage(null);

    private final Path path;
    private final FileChannel channel;
    private final FileChannel direct;
    private final int alignment;
    private final boolean readOnly;
    private final long sectors;
    private final Object identity;
    private final FileClaim claim;

    FileBlockDevice(Path path, FileChannel channel, FileChannel direct, int alignment, boolean readOnly,
            long sectors, Object identity, FileClaim claim) {
        this.claim = claim;
        this.path = path;
        this.channel = channel;
        this.direct = direct;
        this.alignment = alignment;
        this.readOnly = readOnly;
        this.sectors = sectors;
        this.identity = identity;
    }

    /** @return the file or device path */
    public Path path() {
        return path;
    }

    /** @return true until {@link #close()} */
    public boolean isOpen() {
        return channel.isOpen();
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

    private FileChannel channelFor(long position, ByteBuffer buffer) {
        if (direct != null && position % alignment == 0 && buffer.remaining() % alignment == 0
                && buffer.isDirect() && buffer.alignmentOffset(buffer.position(), alignment) == 0) {
            return direct;
        }
        return channel;
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        try {
            long position = sector * SECTOR_SIZE;
            FileChannel ch = channelFor(position, dst);
            while (dst.hasRemaining()) {
                int n = ch.read(dst, position);
                if (n < 0) {
                    throw new EOFException("read of " + name() + " at byte " + position + " hit the end of the file");
                }
                position += n;
            }
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
            long position = sector * SECTOR_SIZE;
            FileChannel ch = channelFor(position, src);
            while (src.hasRemaining()) {
                position += ch.write(src, position);
            }
            return DONE;
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedStage(e);
        }
    }

    @Override
    public CompletionStage<Void> flush() {
        try {
            channel.force(false);
            return DONE;
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedStage(e);
        }
    }

    /** Closes the file and releases its {@linkplain FileClaims claim}. */
    @Override
    public void close() throws IOException {
        if (claim != null) {
            claim.close();
        }
        try (channel) {
            if (direct != null) {
                direct.close();
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
                + ", " + sectors + " sectors]";
    }
}
