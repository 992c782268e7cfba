package org.kcopyd.nbd.internal.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.nbd.internal.protocol.ChunkPayloads.Extent;
import org.kcopyd.nbd.internal.protocol.Nbd;

/**
 * An NBD export as a {@link BlockDevice}: reads and writes are split at the server's maximum
 * block size and spread over the connections round-robin; {@code flush} is NBD_CMD_FLUSH on every
 * connection, {@code writeZeroes} NBD_CMD_WRITE_ZEROES, {@code discard} NBD_CMD_TRIM, each only
 * when the server advertises it. Requests not aligned to the server's minimum block size, or past
 * the end, are refused before anything is sent. Thread-safe.
 *
 * <p>The device starts with one connection; the {@link Connector} adds the others (multi-conn)
 * while it is in use, and a connection that could not be added leaves the device with those it has.
 *
 * <p>Two devices of the same export of the same server (its Unix socket, or its address and port)
 * are {@linkplain #equals equal}, whoever opened them and however the URI was spelt, as two devices
 * of one file are: a job's regions on both then overlap where their sectors do, and one export
 * cannot be two legs of a mirror. A Unix socket is known by its file (device and inode), so a server
 * that binds the path another left is another server. Best effort: a server reached by two
 * addresses is not recognised.
 */
public final class NbdBlockDevice implements BlockDevice {

    /** TRIM lengths have no maximum block size; stay far below the 32-bit length field. */
    private static final long MAX_TRIM = 1L << 30;

    private final String name;
    private final ExportInfo info;
    private final ScheduledExecutorService timer;
    private final AtomicInteger next = new AtomicInteger();
    /** The connections in use, replaced (never changed) when one is added; guarded by {@code this} for writes. */
    private volatile List<ClientConnection> connections;
    /** The thread opening more connections, or null; interrupted by {@link #close()}. */
    private Thread connector;
    private volatile boolean closed;
    /** Completed when a connection is lost (see {@link #whenLost}). */
    private final CompletableFuture<IOException> lost = new CompletableFuture<>();

    /** What {@link #equals} compares: the server (see {@link Connector}) and the export's name. */
    private final Object storage;

    NbdBlockDevice(String name, Object storage, ExportInfo info, ClientConnection first,
                   ScheduledExecutorService timer) {
        this.name = name;
        this.storage = storage;
        this.info = info;
        this.connections = List.of(first);
        this.timer = timer;
        first.whenLost().thenAccept(lost::complete);
    }

    /**
     * Adds a connection to the export, used by requests from now on.
     *
     * @return false, leaving the connection to the caller to close, if the device is closed
     */
    synchronized boolean add(ClientConnection connection) {
        if (closed) {
            return false;
        }
        List<ClientConnection> more = new ArrayList<>(connections);
        more.add(connection);
        connections = List.copyOf(more);
        connection.whenLost().thenAccept(lost::complete);
        return true;
    }

    /** @return true while connections beyond the first are still being opened */
    public synchronized boolean isOpeningConnections() {
        return connector != null && connector.isAlive();
    }

    /** @return true once {@link #close()} was called */
    boolean isClosed() {
        return closed;
    }

    /** Sets the thread opening more connections, interrupted if the device closes; false if it is closed. */
    synchronized boolean connectingWith(Thread thread) {
        if (closed) {
            return false;
        }
        connector = thread;
        return true;
    }

    /** @return what the handshake learnt (size, flags, block sizes) */
    public ExportInfo info() {
        return info;
    }

    /** @return the number of connections this device uses now (more may still be opening) */
    public int connectionCount() {
        return connections.size();
    }

    @Override
    public String name() {
        return name;
    }

    /** Equal to a device of the same export of the same server, or a read-only view of one (see the class comment). */
    @Override
    public boolean equals(Object o) {
        Object other = o instanceof ReadOnlyDevice view ? view.device() : o;
        return other instanceof NbdBlockDevice device && storage.equals(device.storage);
    }

    @Override
    public int hashCode() {
        return storage.hashCode();
    }

    @Override
    public long sizeInSectors() {
        return info.size() / SECTOR_SIZE;
    }

    @Override
    public boolean isReadOnly() {
        return info.readOnly();
    }

    /** The bytes past the last whole sector: an export of a size that is not whole sectors (nbdkit's file plugin). */
    @Override
    public int tailBytes() {
        return (int) (info.size() % SECTOR_SIZE);
    }

    /** An NBD_CMD_READ of the {@linkplain #tailBytes() tail}, in the server's own minimum block (1 by default). */
    @Override
    public CompletionStage<Void> readTail(ByteBuffer dst) {
        Exception bad = checkTail("read", dst.remaining(), false);
        if (bad != null) {
            return CompletableFuture.failedFuture(bad);
        }
        return connection().submit(Nbd.CMD_READ, 0, sizeInSectors() * SECTOR_SIZE, dst.remaining(), dst.slice())
            .thenRun(() -> dst.position(dst.limit()));
    }

    /** An NBD_CMD_WRITE of the {@linkplain #tailBytes() tail}. */
    @Override
    public CompletionStage<Void> writeTail(ByteBuffer src) {
        Exception bad = checkTail("write", src.remaining(), true);
        if (bad != null) {
            return CompletableFuture.failedFuture(bad);
        }
        return connection().submit(Nbd.CMD_WRITE, 0, sizeInSectors() * SECTOR_SIZE, src.remaining(), src.slice());
    }

    /** @return why the request is refused (an IllegalArgumentException for a wrong length), or null */
    private Exception checkTail(String what, int bytes, boolean writes) {
        String request = what + " of the last " + bytes + " bytes of " + name;
        if (closed) {
            return new IOException(request + " refused: the device is closed");
        }
        if (writes && info.readOnly()) {
            return new IOException(request + " refused: the export is read-only");
        }
        if (bytes != tailBytes() || bytes == 0) {
            return new IllegalArgumentException(request + " refused: the export has " + tailBytes()
                + " bytes past its last whole sector (its size is " + info.size() + " bytes)");
        }
        return null;
    }

    /** The server's minimum block size (512 when it advertised less or none). */
    @Override
    public int minimumBlockBytes() {
        return info.minimumBlock();
    }

    /**
     * True: every request is queued for the connection's sender thread and completed by its reader
     * thread; no call waits for the network (the queue has no bound to wait at: the engine's pages
     * bound what is in flight).
     */
    @Override
    public boolean isNonBlocking() {
        return true;
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        IOException bad = check("read", sector, dst.remaining(), false);
        if (bad != null) {
            return CompletableFuture.failedFuture(bad);
        }
        ByteBuffer whole = dst.slice();
        return split(Nbd.CMD_READ, sector, whole, info.maximumBlock()).thenRun(() -> dst.position(dst.limit()));
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        IOException bad = check("write", sector, src.remaining(), true);
        if (bad != null) {
            return CompletableFuture.failedFuture(bad);
        }
        return split(Nbd.CMD_WRITE, sector, src.slice(), info.maximumBlock());
    }

    private CompletableFuture<Void> split(int type, long sector, ByteBuffer whole, int maxBlock) {
        long offset = sector * SECTOR_SIZE;
        int total = whole.remaining();
        if (total <= maxBlock) {
            return connection().submit(type, 0, offset, total, whole);
        }
        List<CompletableFuture<Void>> parts = new ArrayList<>();
        for (int at = 0; at < total; at += maxBlock) {
            int n = Math.min(maxBlock, total - at);
            parts.add(connection().submit(type, 0, offset + at, n, whole.slice(at, n)));
        }
        return allOf(parts);
    }

    @Override
    public CompletionStage<Void> flush() {
        if (closed) {
            return CompletableFuture.failedFuture(new IOException("NBD device " + name + " is closed"));
        }
        if (!info.has(Nbd.FLAG_SEND_FLUSH)) {
            // The server has no flush command: it promises nothing more after a flush than before.
            return CompletableFuture.completedFuture(null);
        }
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (ClientConnection connection : connections) {
            all.add(connection.submit(Nbd.CMD_FLUSH, 0, 0, 0, null));
        }
        return allOf(all);
    }

    @Override
    public boolean supportsWriteZeroes() {
        return info.has(Nbd.FLAG_SEND_WRITE_ZEROES) && !info.readOnly();
    }

    @Override
    public CompletionStage<Void> writeZeroes(long sector, long count) {
        if (!supportsWriteZeroes()) {
            return BlockDevice.super.writeZeroes(sector, count);
        }
        return ranged("write-zeroes", Nbd.CMD_WRITE_ZEROES, sector, count, info.maximumBlock());
    }

    @Override
    public boolean supportsDiscard() {
        return info.has(Nbd.FLAG_SEND_TRIM) && !info.readOnly();
    }

    @Override
    public CompletionStage<Void> discard(long sector, long count) {
        if (!supportsDiscard()) {
            return BlockDevice.super.discard(sector, count);
        }
        return ranged("discard", Nbd.CMD_TRIM, sector, count, MAX_TRIM - MAX_TRIM % info.minimumBlock());
    }

    private CompletableFuture<Void> ranged(String what, int type, long sector, long count, long maxBlock) {
        if (count < 0 || count > Long.MAX_VALUE / SECTOR_SIZE) {
            return CompletableFuture.failedFuture(new IOException(what + " of " + count + " sectors on " + name
                + " refused: the count is negative or too large"));
        }
        IOException bad = check(what, sector, count * SECTOR_SIZE, true);
        if (bad != null) {
            return CompletableFuture.failedFuture(bad);
        }
        long offset = sector * SECTOR_SIZE;
        long total = count * SECTOR_SIZE;
        List<CompletableFuture<Void>> parts = new ArrayList<>();
        for (long at = 0; at < total; at += maxBlock) {
            long n = Math.min(maxBlock, total - at);
            parts.add(connection().submit(type, 0, offset + at, n, null));
        }
        return allOf(parts);
    }

    /**
     * Asks the server for the allocation status of a range ({@code base:allocation}).
     *
     * @return the extents the server reported from {@code sector} on (they may cover less or
     *         more than asked)
     */
    public CompletableFuture<List<Extent>> blockStatus(long sector, long count) {
        if (info.metaContextId() < 0) {
            return CompletableFuture.failedFuture(new IOException(name + ": the server did not agree to base:allocation"));
        }
        IOException bad = check("block status", sector, count * SECTOR_SIZE, false);
        if (bad != null) {
            return CompletableFuture.failedFuture(bad);
        }
        long length = Math.min(count * SECTOR_SIZE, 0xffffffffL - 0xffffffffL % info.minimumBlock());
        return connection().blockStatus(sector * SECTOR_SIZE, length);
    }

    /**
     * Where the export's data is, from NBD_CMD_BLOCK_STATUS ({@code base:allocation}) when the server
     * agreed to it; else, or when the range is not aligned to the server's minimum block size, or
     * the request fails, one data run (the answer is a hint). The server may answer less than the
     * range: the runs then cover a prefix. Extents are mapped by {@link ExtentRuns}.
     */
    @Override
    public CompletionStage<List<org.kcopyd.api.Extent>> extents(long sector, long count) {
        if (info.metaContextId() < 0 || closed || count < 1) {
            return BlockDevice.super.extents(sector, count);
        }
        long min = info.minimumBlock();
        long offset = sector * SECTOR_SIZE;
        long start = offset - offset % min;
        long end = (sector + count) * SECTOR_SIZE;
        long alignedEnd = end % min == 0 ? end : end + (min - end % min);
        if (start < 0 || alignedEnd > info.size()) {
            return BlockDevice.super.extents(sector, count);
        }
        return blockStatus(start / SECTOR_SIZE, (alignedEnd - start) / SECTOR_SIZE)
            .handle((extents, failure) -> failure != null ? List.of(new org.kcopyd.api.Extent(sector, count,
                org.kcopyd.api.Extent.Type.DATA)) : ExtentRuns.of(start, extents, sector, count));
    }

    private IOException check(String what, long sector, long bytes, boolean writes) {
        String request = what + " of " + bytes + " bytes at sector " + sector + " on " + name;
        if (closed) {
            return new IOException(request + " refused: the device is closed");
        }
        if (writes && info.readOnly()) {
            return new IOException(request + " refused: the export is read-only");
        }
        if (bytes % SECTOR_SIZE != 0) {
            return new IOException(request + " refused: the length is not a multiple of " + SECTOR_SIZE);
        }
        long sectors = bytes / SECTOR_SIZE;
        if (sector < 0 || sector > sizeInSectors() || sectors > sizeInSectors() - sector) {
            return new IOException(request + " refused: it ends past the end of the export (" + sizeInSectors()
                + " sectors)");
        }
        long offset = sector * SECTOR_SIZE;
        if (offset % info.minimumBlock() != 0 || bytes % info.minimumBlock() != 0) {
            return new IOException(request + " refused: offset " + offset + " and length must be multiples of the"
                + " server's minimum block size " + info.minimumBlock());
        }
        return null;
    }

    private ClientConnection connection() {
        List<ClientConnection> all = connections;
        return all.get(Math.floorMod(next.getAndIncrement(), all.size()));
    }

    private static CompletableFuture<Void> allOf(List<CompletableFuture<Void>> parts) {
        CompletableFuture<Void> all = CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0]));
        // Fail with the first part's own exception rather than a CompletionException wrapper.
        return all.handle((ok, failure) -> {
            if (failure == null) {
                return CompletableFuture.<Void>completedFuture(null);
            }
            for (CompletableFuture<Void> part : parts) {
                if (part.isCompletedExceptionally()) {
                    return part;
                }
            }
            return CompletableFuture.<Void>failedFuture(failure);
        }).thenCompose(stage -> stage);
    }

    /**
     * Completes when any of the device's connections fails by itself (the server closed it, the
     * socket broke, a reply broke the protocol, a request stalled past its timeout): the requests
     * sent on it fail, and so would a share of every later one, since requests go to the
     * connections in turn; the device does not connect again by itself (a server restarted may
     * serve another disk at the address), its user does. Never completes because the device was
     * closed.
     */
    @Override
    public CompletionStage<IOException> whenLost() {
        return lost.minimalCompletionStage();
    }

    /** Sends NBD_CMD_DISC on every connection and closes them; requests in flight fail. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (connector != null) {
                // A handshake in progress ends: its channel is interruptible.
                connector.interrupt();
            }
        }
        connections.forEach(ClientConnection::close);
        timer.shutdownNow();
    }
}
