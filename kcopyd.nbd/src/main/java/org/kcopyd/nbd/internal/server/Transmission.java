package org.kcopyd.nbd.internal.server;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;
import org.kcopyd.nbd.internal.protocol.ChannelReader;
import org.kcopyd.nbd.internal.protocol.ChunkPayloads;
import org.kcopyd.nbd.internal.protocol.Channels;
import org.kcopyd.nbd.internal.protocol.Nbd;
import org.kcopyd.nbd.internal.protocol.ProtocolException;
import org.kcopyd.nbd.internal.protocol.ReplyHeader;
import org.kcopyd.nbd.internal.protocol.Request;
import org.kcopyd.nbd.internal.protocol.Wire;

/**
 * The transmission phase of one server connection. The connection's thread reads requests and
 * starts the device's I/O; the device completes it on any thread, and the reply is written then,
 * under the connection's write lock, so replies go out in completion order. Bounded by a
 * {@link Budget}: the thread stops reading while the connection's bytes or requests in flight are
 * at their limits.
 *
 * <p>Checks, answered with the spec's errors: unknown commands and flags {@code EINVAL}; offsets
 * or lengths not multiples of 512 {@code EINVAL}; a read or write longer than the maximum block
 * size {@code EINVAL} (a write's payload over the limit disconnects instead, as it would have to
 * be read); past the end: reads, trims and block status {@code EINVAL}, writes and write-zeroes
 * {@code ENOSPC}; writes, trims and write-zeroes on a read-only export {@code EPERM}; a device
 * failure {@code EIO} with its message.
 */
final class Transmission {

    private static final System.Logger LOG = System.getLogger(Transmission.class.getName());
    private static final int ZERO_CHUNK = 1 << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();
    private static final long DRAIN_SECONDS = 30;
    private static final int READ_BUFFER = 64 * 1024;

    private final Wire channel;
    private final ServerExport export;
    private final BlockDevice device;
    /** The export's minimum block size, constant for the device's life: asked once, not per request. */
    private final int minimumBlock;
    private final boolean structured;
    private final boolean blockStatus;
    private final ServerSettings settings;
    private final BufferPool pool;
    private final Budget budget;
    private final String peer;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final ByteBuffer replyHeader = ByteBuffer.allocateDirect(Nbd.STRUCTURED_REPLY_HEADER_SIZE
        + ChunkPayloads.DATA_OFFSET_SIZE);
    private final ChannelReader in;
    private volatile boolean broken;

    Transmission(Wire channel, ServerHandshake.Agreement agreement, ServerSettings settings, BufferPool pool,
                 String peer) {
        this.channel = channel;
        this.export = agreement.export();
        this.device = export.device();
        this.minimumBlock = export.minimumBlock();
        this.structured = agreement.structured();
        this.blockStatus = agreement.blockStatus();
        this.settings = settings;
        this.pool = pool;
        this.budget = new Budget(settings.maxOutstandingBytes(), settings.maxRequestsInFlight());
        this.peer = peer;
        this.in = new ChannelReader(channel, READ_BUFFER);
    }

    /**
     * Serves requests until the client disconnects (soft or hard) or breaks the protocol.
     * Requests in flight at a soft disconnect (NBD_CMD_DISC) are answered first.
     */
    void run() throws IOException, InterruptedException {
        while (!broken) {
            Request request = Request.decode(in.require(Nbd.REQUEST_HEADER_SIZE, "a request header"));
            if (request.type() == Nbd.CMD_DISC) {
                break;
            }
            serve(request);
        }
        // A soft disconnect: answer what is in flight before the connection closes. (A hard
        // disconnect leaves the replies unsent; the device's stages still complete and free
        // their buffers.)
        if (!budget.awaitIdle(DRAIN_SECONDS, TimeUnit.SECONDS)) {
            LOG.log(Level.WARNING, () -> "NBD client " + peer + " of export '" + export.name() + "': "
                + budget.requests() + " requests still in flight " + DRAIN_SECONDS + " s after NBD_CMD_DISC");
        }
    }

    private void serve(Request request) throws IOException, InterruptedException {
        int type = request.type();
        long offset = request.offset();
        long length = request.length();
        boolean write = type == Nbd.CMD_WRITE;
        if (write && length > settings.maxBlockSize()) {
            throw new ProtocolException(request.describe() + " is over the maximum block size " + settings.maxBlockSize()
                + " bytes; its payload is not read");
        }
        int error = check(request);
        if (error != 0) {
            String message = refusal(request, error);
            if (write) {
                skipPayload(length);
            }
            budget.acquire(0);
            sendError(request, error, message);
            budget.release(0);
            return;
        }
        long sector = offset / BlockDevice.SECTOR_SIZE;
        long count = length / BlockDevice.SECTOR_SIZE;
        boolean fua = (request.flags() & Nbd.CMD_FLAG_FUA) != 0;
        switch (type) {
            case Nbd.CMD_READ -> read(request, sector);
            case Nbd.CMD_WRITE -> write(request, sector, fua);
            case Nbd.CMD_FLUSH -> start(request, 0, null, () -> device.flush());
            case Nbd.CMD_TRIM -> start(request, 0, null, () -> durable(device.discard(sector, count), fua));
            case Nbd.CMD_WRITE_ZEROES -> writeZeroes(request, sector, count, fua);
            case Nbd.CMD_BLOCK_STATUS -> blockStatus(request, sector, count);
            default -> throw new IllegalStateException("command " + type + " passed the checks");
        }
    }

    /** @return 0 if the request may run, else the error to answer */
    private int check(Request request) {
        int type = request.type();
        int allowed = switch (type) {
            case Nbd.CMD_READ -> Nbd.CMD_FLAG_FUA | (structured ? Nbd.CMD_FLAG_DF : 0);
            case Nbd.CMD_WRITE, Nbd.CMD_FLUSH, Nbd.CMD_TRIM -> Nbd.CMD_FLAG_FUA;
            case Nbd.CMD_WRITE_ZEROES -> Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_NO_HOLE | Nbd.CMD_FLAG_FAST_ZERO;
            case Nbd.CMD_BLOCK_STATUS -> Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_REQ_ONE;
            default -> -1;
        };
        if (allowed == -1 || (request.flags() & ~allowed) != 0) {
            return Nbd.EINVAL;
        }
        boolean writes = type == Nbd.CMD_WRITE || type == Nbd.CMD_WRITE_ZEROES || type == Nbd.CMD_TRIM;
        if (writes && export.refusesWrites()) {
            return Nbd.EPERM;
        }
        if (type == Nbd.CMD_TRIM && !device.supportsDiscard()) {
            return Nbd.EINVAL;
        }
        if (type == Nbd.CMD_BLOCK_STATUS && !blockStatus) {
            return Nbd.EINVAL;
        }
        if (type == Nbd.CMD_FLUSH) {
            return 0;
        }
        long end = request.offset() + request.length();
        if (request.offset() < 0 || end < 0 || end > export.sizeBytes()) {
            return type == Nbd.CMD_WRITE || type == Nbd.CMD_WRITE_ZEROES ? Nbd.ENOSPC : Nbd.EINVAL;
        }
        if (request.offset() % minimumBlock != 0 || request.length() % minimumBlock != 0) {
            return Nbd.EINVAL;
        }
        if ((type == Nbd.CMD_READ || type == Nbd.CMD_WRITE) && request.length() > settings.maxBlockSize()) {
            return Nbd.EINVAL;
        }
        if (type == Nbd.CMD_BLOCK_STATUS && request.length() == 0) {
            return Nbd.EINVAL;
        }
        if (type == Nbd.CMD_WRITE_ZEROES && (request.flags() & Nbd.CMD_FLAG_FAST_ZERO) != 0
            && !device.supportsWriteZeroes()) {
            return Nbd.ENOTSUP;
        }
        return 0;
    }

    private String refusal(Request request, int error) {
        String what = request.describe() + " on export '" + export.name() + "' (" + export.sizeBytes() + " bytes)";
        return switch (error) {
            case Nbd.EPERM -> what + " refused: the export is read-only";
            case Nbd.ENOSPC -> what + " refused: it ends past the end of the export";
            case Nbd.ENOTSUP -> what + " refused: zeroing is not faster than writing on this device";
            default -> what + " refused: flags 0x" + Integer.toHexString(request.flags()) + ", offset and length must be "
                + "known, multiples of " + minimumBlock + ", within the export, at most "
                + settings.maxBlockSize() + " bytes for reads and writes"
                + (request.type() == Nbd.CMD_BLOCK_STATUS && !blockStatus ? ", and base:allocation selected" : "");
        };
    }

    private void skipPayload(long length) throws IOException {
        if (length == 0) {
            return;
        }
        in.skip(length, "a refused write's payload");
    }

    private void read(Request request, long sector) throws InterruptedException {
        int length = (int) request.length();
        budget.acquire(length);
        if (length == 0) {
            finish(request, length, null, null);
            return;
        }
        ByteBuffer data = pool.take(length);
        CompletionStage<Void> stage = call(() -> device.read(sector, data));
        stage.whenComplete((ok, failure) -> {
            data.clear().limit(length);
            finish(request, length, data, failure);
        });
    }

    private void write(Request request, long sector, boolean fua) throws IOException, InterruptedException {
        int length = (int) request.length();
        budget.acquire(length);
        if (length == 0) {
            finish(request, length, null, null);
            return;
        }
        ByteBuffer data = pool.take(length);
        try {
            in.readFully(data, "the payload of " + request.describe());
        } catch (IOException e) {
            pool.give(data);
            budget.release(length);
            throw e;
        }
        data.flip();
        CompletionStage<Void> stage = call(() -> durable(device.write(sector, data), fua));
        stage.whenComplete((ok, failure) -> {
            pool.give(data);
            finish(request, length, null, failure);
        });
    }

    private void writeZeroes(Request request, long sector, long count, boolean fua) throws InterruptedException {
        if (device.supportsWriteZeroes()) {
            start(request, 0, null, () -> durable(device.writeZeroes(sector, count), fua));
        } else {
            start(request, 0, null, () -> durable(zeroByWriting(sector, count), fua));
        }
    }

    /** Writes zeros from the shared zero buffer, one chunk after the other. */
    private CompletionStage<Void> zeroByWriting(long sector, long count) {
        if (count == 0) {
            return CompletableFuture.completedFuture(null);
        }
        long n = Math.min(count, ZERO_CHUNK / BlockDevice.SECTOR_SIZE);
        ByteBuffer zeros = ZEROS.duplicate().limit((int) n * BlockDevice.SECTOR_SIZE);
        return call(() -> device.write(sector, zeros)).thenCompose(ok -> zeroByWriting(sector + n, count - n));
    }

    private CompletionStage<Void> durable(CompletionStage<Void> stage, boolean fua) {
        return fua ? stage.thenCompose(ok -> device.flush()) : stage;
    }

    private void start(Request request, int cost, ByteBuffer data, Supplier<CompletionStage<Void>> io)
        throws InterruptedException {
        budget.acquire(cost);
        call(io).whenComplete((ok, failure) -> finish(request, cost, data, failure));
    }

    private static CompletionStage<Void> call(Supplier<CompletionStage<Void>> io) {
        try {
            CompletionStage<Void> stage = io.get();
            if (stage == null) {
                return CompletableFuture.failedFuture(new IOException("the device returned no completion stage"));
            }
            return stage;
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Sends the reply of a finished request and frees what it held. */
    private void finish(Request request, int cost, ByteBuffer data, Throwable failure) {
        try {
            if (failure != null) {
                Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                    ? failure.getCause() : failure;
                sendError(request, Nbd.EIO, request.describe() + " on export '" + export.name() + "' failed: " + cause);
            } else if (request.type() == Nbd.CMD_READ) {
                sendData(request, data);
            } else {
                sendOk(request);
            }
        } finally {
            if (data != null) {
                pool.give(data);
            }
            budget.release(cost);
        }
    }

    private void sendOk(Request request) {
        writeLock.lock();
        try {
            replyHeader.clear();
            if (structured) {
                ReplyHeader.encodeStructured(replyHeader, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, request.cookie(), 0);
            } else {
                ReplyHeader.encodeSimple(replyHeader, 0, request.cookie());
            }
            send(replyHeader.flip());
        } finally {
            writeLock.unlock();
        }
    }

    private void sendData(Request request, ByteBuffer data) {
        writeLock.lock();
        try {
            replyHeader.clear();
            if (data == null) {
                sendOkLocked(request);
                return;
            }
            if (structured) {
                ReplyHeader.encodeStructured(replyHeader, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_OFFSET_DATA, request.cookie(),
                    ChunkPayloads.DATA_OFFSET_SIZE + (long) data.remaining());
                replyHeader.putLong(request.offset());
            } else {
                ReplyHeader.encodeSimple(replyHeader, 0, request.cookie());
            }
            send(replyHeader.flip(), data);
        } finally {
            writeLock.unlock();
        }
    }

    private void sendOkLocked(Request request) {
        if (structured) {
            ReplyHeader.encodeStructured(replyHeader, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, request.cookie(), 0);
        } else {
            ReplyHeader.encodeSimple(replyHeader, 0, request.cookie());
        }
        send(replyHeader.flip());
    }

    /** Answers from the device's extents, once they come; a failed or broken answer is "data". */
    private void blockStatus(Request request, long sector, long count) throws InterruptedException {
        budget.acquire(0);
        boolean one = (request.flags() & Nbd.CMD_FLAG_REQ_ONE) != 0;
        CompletionStage<List<Extent>> answer;
        try {
            answer = device.extents(sector, count);
        } catch (RuntimeException e) {
            answer = CompletableFuture.failedStage(e);
        }
        answer.whenComplete((runs, failure) -> {
            try {
                sendBlockStatus(request, BlockStatusReplies.encode(ServerHandshake.BASE_ALLOCATION_ID, sector, count,
                    failure == null ? runs : null, one));
            } finally {
                budget.release(0);
            }
        });
    }

    private void sendBlockStatus(Request request, ByteBuffer payload) {
        writeLock.lock();
        try {
            replyHeader.clear();
            ReplyHeader.encodeStructured(replyHeader, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_BLOCK_STATUS, request.cookie(),
                payload.remaining());
            send(replyHeader.flip(), payload);
        } finally {
            writeLock.unlock();
        }
    }

    private void sendError(Request request, int error, String message) {
        writeLock.lock();
        try {
            replyHeader.clear();
            if (structured) {
                ByteBuffer payload = ChunkPayloads.ErrorChunk.encode(error, message);
                ReplyHeader.encodeStructured(replyHeader, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_ERROR, request.cookie(),
                    payload.remaining());
                send(replyHeader.flip(), payload);
            } else {
                ReplyHeader.encodeSimple(replyHeader, error, request.cookie());
                send(replyHeader.flip());
            }
        } finally {
            writeLock.unlock();
        }
        if (request.type() == Nbd.CMD_READ || request.type() == Nbd.CMD_WRITE) {
            LOG.log(Level.DEBUG, () -> "NBD client " + peer + ": " + Nbd.errorName(error) + ": " + message);
        }
    }

    private void send(ByteBuffer... buffers) {
        if (broken) {
            return;
        }
        try {
            Channels.writeFully(channel, buffers);
        } catch (IOException e) {
            broken = true;
            LOG.log(Level.DEBUG, () -> "NBD client " + peer + ": a reply could not be sent: " + e);
            try {
                channel.close();
            } catch (IOException ignored) {
                // Already failing: the reader sees the closed channel and ends the connection.
            }
        }
    }
}
