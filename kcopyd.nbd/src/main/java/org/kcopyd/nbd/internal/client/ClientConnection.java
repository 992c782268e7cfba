package org.kcopyd.nbd.internal.client;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.kcopyd.nbd.internal.protocol.ChannelReader;
import org.kcopyd.nbd.internal.protocol.ChunkPayloads;
import org.kcopyd.nbd.internal.protocol.ChunkPayloads.ErrorChunk;
import org.kcopyd.nbd.internal.protocol.ChunkPayloads.Extent;
import org.kcopyd.nbd.internal.protocol.ChunkPayloads.Hole;
import org.kcopyd.nbd.internal.protocol.Channels;
import org.kcopyd.nbd.internal.protocol.Nbd;
import org.kcopyd.nbd.internal.protocol.ProtocolException;
import org.kcopyd.nbd.internal.protocol.ReplyHeader;
import org.kcopyd.nbd.internal.protocol.Request;
import org.kcopyd.nbd.internal.protocol.Wire;

/**
 * One connection in the transmission phase. Any thread may {@link #submit}: the request is queued
 * and the connection's sender thread writes it, with whatever else is queued by then, in one
 * gathering write (headers and WRITE payloads); one reader thread matches replies to requests by
 * cookie, in any order, and writes read data straight into the caller's buffer. No caller's
 * thread does I/O on the socket, so interrupting a caller cannot close it (Java closes a channel
 * when a thread in I/O on it is interrupted, which would end the connection for every caller).
 * Every request has a timeout. When the connection drops, every request in flight fails at once
 * with the cause, and later requests fail at once too.
 */
final class ClientConnection {

    private static final System.Logger LOG = System.getLogger(ClientConnection.class.getName());
    private static final int MAX_CONTROL_CHUNK = 1 << 20;
    /** Requests the sender writes in one gathering write, at most. */
    private static final int MOST_BATCHED = 64;
    /** Queued to end the sender: the connection failed or was closed. */
    private static final Outgoing STOP = new Outgoing(null, null);
    /** Queued by {@link #close()}: send NBD_CMD_DISC, end the stream, end the sender. */
    private static final Outgoing DISCONNECT = new Outgoing(null, null);

    /** A request for the sender: the pending request and a WRITE's payload (else null). */
    private record Outgoing(Pending pending, ByteBuffer payload) {
    }

    private final Wire channel;
    private final ChannelReader in;
    private final ExportInfo info;
    private final String name;
    private final ScheduledExecutorService timer;
    private final long timeoutMillis;
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong cookies = new AtomicLong();
    private final LinkedBlockingQueue<Outgoing> outgoing = new LinkedBlockingQueue<>();
    private final ByteBuffer headers = ByteBuffer.allocateDirect(MOST_BATCHED * Nbd.REQUEST_HEADER_SIZE);
    private final Thread reader;
    private final Thread sender;
    private volatile IOException failure;
    private volatile boolean closing;
    /** Completed with {@link #failure} when the connection fails by itself (not closed by its device). */
    private final CompletableFuture<IOException> lost = new CompletableFuture<>();

    /**
     * @param name    the connection's name for messages, e.g. the URI and its number
     * @param timeout every request's timeout
     */
    ClientConnection(Wire channel, ChannelReader in, ExportInfo info, String name,
                     ScheduledExecutorService timer, Duration timeout) {
        this.channel = channel;
        this.in = in;
        this.info = info;
        this.name = name;
        this.timer = timer;
        this.timeoutMillis = timeout.toMillis();
        this.reader = new Thread(this::readReplies, "nbd-client-reader " + name);
        reader.setDaemon(true);
        this.sender = new Thread(this::sendRequests, "nbd-client-sender " + name);
        sender.setDaemon(true);
        reader.start();
        sender.start();
    }

    /**
     * Sends a request.
     *
     * @param data a WRITE's payload or a READ's destination (filled before the stage completes):
     *             the connection's until the stage completes; null otherwise
     * @return completed when the reply arrives; exceptionally with an {@link IOException}
     *         naming the request on an error reply, a timeout or a lost connection
     */
    CompletableFuture<Void> submit(int type, int flags, long offset, long length, ByteBuffer data) {
        Request request = new Request(flags, type, cookies.incrementAndGet(), offset, length);
        IOException failed = failure;
        if (failed != null) {
            return CompletableFuture.failedFuture(lost(request, failed));
        }
        Pending p = new Pending(request, type == Nbd.CMD_READ ? data : null);
        pending.put(request.cookie(), p);
        failed = failure;
        if (failed != null) {
            pending.remove(request.cookie());
            return CompletableFuture.failedFuture(lost(request, failed));
        }
        p.timeout = timer.schedule(() -> timedOut(p), timeoutMillis, TimeUnit.MILLISECONDS);
        outgoing.add(new Outgoing(p, type == Nbd.CMD_WRITE ? data.duplicate() : null));
        return p.future;
    }

    /**
     * The sender thread: writes the queued requests, up to {@value #MOST_BATCHED} at a time, in one
     * gathering write; ends at {@link #STOP}, or after sending NBD_CMD_DISC for {@link #close()}.
     * Nothing interrupts it: a socket write blocked on a server that does not read ends when the
     * connection is failed (its channel closed), at the latest at the request's timeout.
     */
    private void sendRequests() {
        List<Outgoing> batch = new ArrayList<>(MOST_BATCHED);
        ByteBuffer[] gather = new ByteBuffer[2 * MOST_BATCHED];
        while (true) {
            batch.clear();
            try {
                batch.add(outgoing.take());
            } catch (InterruptedException e) {
                fail(new IOException(name + ": the sender thread was interrupted"));
                return;
            }
            outgoing.drainTo(batch, MOST_BATCHED - 1);
            headers.clear();
            int n = 0;
            boolean disconnect = false;
            for (Outgoing o : batch) {
                if (o == STOP) {
                    break;
                }
                int at = headers.position();
                if (o == DISCONNECT) {
                    new Request(0, Nbd.CMD_DISC, cookies.incrementAndGet(), 0, 0).encode(headers);
                    gather[n++] = headers.slice(at, Nbd.REQUEST_HEADER_SIZE);
                    disconnect = true;
                    break;
                }
                o.pending().request.encode(headers);
                gather[n++] = headers.slice(at, Nbd.REQUEST_HEADER_SIZE);
                if (o.payload() != null) {
                    gather[n++] = o.payload();
                }
            }
            if (failure != null) {
                // Failed meanwhile: every request in flight, these included, has failed with the cause.
                return;
            }
            try {
                Channels.writeFully(channel, java.util.Arrays.copyOf(gather, n));
                if (disconnect) {
                    channel.finish();
                }
            } catch (IOException e) {
                if (disconnect) {
                    LOG.log(Level.DEBUG, () -> name + ": NBD_CMD_DISC not sent: " + e);
                } else {
                    fail(new IOException(name + ": sending " + batch.get(0).pending().request.describe()
                        + (batch.size() > 1 ? " and " + (batch.size() - 1) + " more requests" : "") + " failed: "
                        + e.getMessage(), e));
                }
                return;
            } finally {
                java.util.Arrays.fill(gather, null);
            }
            if (disconnect) {
                return;
            }
            for (Outgoing o : batch) {
                if (o == STOP) {
                    return;
                }
                o.pending().sent = true;
            }
        }
    }

    /** Sends a BLOCK_STATUS request; the stage gives the extents of {@code base:allocation}. */
    CompletableFuture<List<Extent>> blockStatus(long offset, long length) {
        Request request = new Request(0, Nbd.CMD_BLOCK_STATUS, cookies.incrementAndGet(), offset, length);
        IOException failed = failure;
        if (failed != null) {
            return CompletableFuture.failedFuture(lost(request, failed));
        }
        Pending p = new Pending(request, null);
        pending.put(request.cookie(), p);
        p.timeout = timer.schedule(() -> timedOut(p), timeoutMillis, TimeUnit.MILLISECONDS);
        outgoing.add(new Outgoing(p, null));
        return p.future.thenApply(ok -> List.copyOf(p.extents));
    }

    private IOException lost(Request request, IOException cause) {
        return new IOException(request.describe() + " on " + name + " failed: " + cause.getMessage(), cause);
    }

    private void timedOut(Pending p) {
        if (!p.sent) {
            // The server has not taken the request in all this time: sending blocks (and with it
            // the callers waiting for the write lock) until the connection is dropped.
            fail(new IOException("sending " + p.request.describe() + " stalled for the request timeout of "
                + timeoutMillis + " ms (the server does not read)"));
            return;
        }
        if (p.state.compareAndSet(Pending.WAITING, Pending.FINISHED)) {
            p.future.completeExceptionally(new IOException(p.request.describe() + " on " + name + " timed out: no reply"
                + " within the request timeout of " + timeoutMillis + " ms"));
        } else if (p.state.get() == Pending.RECEIVING) {
            // The reply's data stopped halfway: the connection is of no further use.
            fail(new IOException("the reply to " + p.request.describe() + " stalled for the request timeout of "
                + timeoutMillis + " ms"));
        }
    }

    private void readReplies() {
        try {
            while (true) {
                ByteBuffer buffer = in.require(Nbd.SIMPLE_REPLY_SIZE, "a reply header");
                boolean structured = ReplyHeader.isStructured(buffer);
                if (structured) {
                    buffer = in.require(Nbd.STRUCTURED_REPLY_HEADER_SIZE, "a structured reply header");
                }
                ReplyHeader reply = ReplyHeader.decode(buffer);
                Pending p = pending.get(reply.cookie());
                if (p == null) {
                    throw new ProtocolException("reply for cookie " + reply.cookie() + ", which no request in flight has");
                }
                if (structured) {
                    chunk(p, reply);
                } else {
                    simple(p, reply);
                }
            }
        } catch (java.nio.channels.ClosedChannelException e) {
            fail(new IOException(closing ? "the connection was closed" : "its socket was closed", e));
        } catch (IOException e) {
            fail(closing ? new IOException("the connection was closed") : e);
        } catch (RuntimeException e) {
            fail(new IOException("the reply reader failed: " + e, e));
        }
    }

    private void simple(Pending p, ReplyHeader reply) throws IOException {
        if (structured() && p.request.type() == Nbd.CMD_READ) {
            throw new ProtocolException("simple reply to " + p.request.describe() + " after structured replies were agreed");
        }
        if (reply.error() != 0) {
            p.error = Nbd.errorName(reply.error());
        } else if (p.request.type() == Nbd.CMD_READ) {
            receiveData(p, 0, (int) p.request.length());
        }
        finish(p);
    }

    private void chunk(Pending p, ReplyHeader reply) throws IOException {
        Request request = p.request;
        int type = reply.type();
        long length = reply.length();
        if (type == Nbd.REPLY_TYPE_OFFSET_DATA || type == Nbd.REPLY_TYPE_OFFSET_HOLE) {
            if (request.type() != Nbd.CMD_READ) {
                throw new ProtocolException("data chunk in the reply to " + request.describe());
            }
            if (type == Nbd.REPLY_TYPE_OFFSET_DATA) {
                if (length <= ChunkPayloads.DATA_OFFSET_SIZE) {
                    throw new ProtocolException("NBD_REPLY_TYPE_OFFSET_DATA of " + length + " bytes (at least 9)");
                }
                long offset = in.require(ChunkPayloads.DATA_OFFSET_SIZE, "a data chunk's offset").getLong();
                long size = length - ChunkPayloads.DATA_OFFSET_SIZE;
                receiveData(p, within(request, offset, size), (int) size);
            } else {
                if (length != ChunkPayloads.HOLE_SIZE) {
                    throw new ProtocolException("NBD_REPLY_TYPE_OFFSET_HOLE of " + length + " bytes, expected 12");
                }
                ByteBuffer payload = in.require(ChunkPayloads.HOLE_SIZE, "a hole chunk");
                Hole hole = Hole.decode(payload.slice(payload.position(), ChunkPayloads.HOLE_SIZE));
                payload.position(payload.position() + ChunkPayloads.HOLE_SIZE);
                zero(p, within(request, hole.offset(), hole.size()), (int) hole.size());
            }
        } else if (type == Nbd.REPLY_TYPE_NONE) {
            if (length != 0 || !reply.done()) {
                throw new ProtocolException("NBD_REPLY_TYPE_NONE with length " + length + " and flags " + reply.flags());
            }
        } else {
            if (length > MAX_CONTROL_CHUNK) {
                throw new ProtocolException("chunk type " + type + " of " + length + " bytes is over the limit "
                    + MAX_CONTROL_CHUNK);
            }
            ByteBuffer payload = ByteBuffer.allocate((int) length);
            in.readFully(payload, "a chunk's payload");
            payload.flip();
            if ((type & Nbd.REPLY_TYPE_FLAG_ERROR) != 0) {
                ErrorChunk error = ErrorChunk.decode(type, payload);
                if (p.error == null) {
                    p.error = Nbd.errorName(error.error()) + (error.message().isEmpty() ? "" : ": " + error.message())
                        + (error.offset() >= 0 ? " (at offset " + error.offset() + ")" : "");
                }
            } else if (type == Nbd.REPLY_TYPE_BLOCK_STATUS && request.type() == Nbd.CMD_BLOCK_STATUS) {
                long id = Integer.toUnsignedLong(payload.getInt(0));
                List<Extent> extents = Extent.decodeAll(payload);
                if (id == info.metaContextId()) {
                    p.extents.addAll(extents);
                }
            } else {
                throw new ProtocolException("unexpected chunk type " + type + " in the reply to " + request.describe());
            }
        }
        if (reply.done()) {
            if (request.type() == Nbd.CMD_READ && p.error == null && p.covered != request.length()) {
                p.error = "the server's chunks covered " + p.covered + " of " + request.length() + " bytes";
            }
            finish(p);
        }
    }

    private static int within(Request request, long offset, long size) throws ProtocolException {
        long start = offset - request.offset();
        if (start < 0 || size > request.length() - start) {
            throw new ProtocolException("chunk of " + size + " bytes at offset " + offset + " lies outside "
                + request.describe());
        }
        return (int) start;
    }

    private void receiveData(Pending p, int at, int size) throws IOException {
        if (p.state.compareAndSet(Pending.WAITING, Pending.RECEIVING)) {
            try {
                ByteBuffer target = p.destination.duplicate();
                target.limit(at + size).position(at);
                in.readFully(target, "the data of " + p.request.describe());
                p.covered += size;
            } finally {
                p.state.compareAndSet(Pending.RECEIVING, Pending.WAITING);
            }
        } else {
            in.skip(size, "the data of " + p.request.describe() + " after it ended");
        }
    }

    private void zero(Pending p, int at, int size) {
        if (p.state.compareAndSet(Pending.WAITING, Pending.RECEIVING)) {
            ByteBuffer target = p.destination.duplicate();
            for (int i = at; i < at + size; i++) {
                target.put(i, (byte) 0);
            }
            p.covered += size;
            p.state.compareAndSet(Pending.RECEIVING, Pending.WAITING);
        }
    }

    private void finish(Pending p) {
        pending.remove(p.request.cookie());
        if (p.timeout != null) {
            p.timeout.cancel(false);
        }
        if (p.state.compareAndSet(Pending.WAITING, Pending.FINISHED)) {
            if (p.error == null) {
                p.future.complete(null);
            } else {
                p.future.completeExceptionally(new IOException(p.request.describe() + " on " + name + " failed: "
                    + p.error));
            }
        }
    }

    private boolean structured() {
        return info.structured();
    }

    /**
     * @return completed, with why, once the connection failed by itself (dropped, broke the
     *         protocol, stalled past the request timeout) after its requests in flight failed; never
     *         if it is closed first. Completed on the connection's reader, sender or timer thread.
     */
    CompletableFuture<IOException> whenLost() {
        return lost;
    }

    /** Fails every request in flight and every later one with {@code cause}; closes the channel. */
    private void fail(IOException cause) {
        boolean lostNow = false;
        synchronized (this) {
            if (failure == null) {
                failure = new IOException("connection " + name + " lost: " + cause.getMessage(), cause);
                lostNow = !closing;
                if (!closing) {
                    LOG.log(Level.DEBUG, () -> failure.getMessage());
                }
            }
        }
        outgoing.add(STOP);
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, () -> name + ": closing failed: " + e);
        }
        for (Pending p : pending.values()) {
            // A request whose data the reader is receiving is left to the reader: the closed
            // channel fails its read, and it calls this again once it has let go of the buffer.
            if (p.state.compareAndSet(Pending.WAITING, Pending.FINISHED)) {
                pending.remove(p.request.cookie());
                if (p.timeout != null) {
                    p.timeout.cancel(false);
                }
                p.future.completeExceptionally(lost(p.request, failure));
            } else if (p.state.get() == Pending.FINISHED) {
                pending.remove(p.request.cookie());
            }
        }
        if (lostNow) {
            lost.complete(failure);
        }
    }

    /**
     * Sends NBD_CMD_DISC after the requests queued before it (when the connection still works) and
     * closes the connection; requests in flight fail. Waits up to 5 s for the sender to send it.
     */
    void close() {
        closing = true;
        if (failure == null) {
            outgoing.add(DISCONNECT);
            join(sender);
        }
        fail(new IOException("the device was closed"));
        join(sender);
        join(reader);
    }

    private static void join(Thread thread) {
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
