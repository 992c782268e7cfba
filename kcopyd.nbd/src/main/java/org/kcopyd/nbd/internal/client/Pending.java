package org.kcopyd.nbd.internal.client;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicInteger;

import org.kcopyd.nbd.internal.protocol.ChunkPayloads.Extent;
import org.kcopyd.nbd.internal.protocol.Request;

/**
 * A request sent and not yet answered. Its state decides who may touch the caller's buffer:
 * the reader thread only while it holds {@link #RECEIVING}; once {@link #FINISHED} (answered,
 * timed out or failed) nobody does, and a late answer is read and thrown away.
 */
final class Pending {

    static final int WAITING = 0;
    static final int RECEIVING = 1;
    static final int FINISHED = 2;

    final Request request;
    /** For a READ: where the data goes (position 0 = the request's offset); else null. */
    final ByteBuffer destination;
    final CompletableFuture<Void> future = new CompletableFuture<>();
    final AtomicInteger state = new AtomicInteger(WAITING);
    final List<Extent> extents = new ArrayList<>();
    /** Bytes of a READ covered by data and hole chunks so far (reader thread only). */
    long covered;
    /** The first error chunk's description (reader thread only). */
    String error;
    volatile ScheduledFuture<?> timeout;
    /** True once the whole request (header and payload) is in the socket. */
    volatile boolean sent;

    Pending(Request request, ByteBuffer destination) {
        this.request = request;
        this.destination = destination;
    }
}
