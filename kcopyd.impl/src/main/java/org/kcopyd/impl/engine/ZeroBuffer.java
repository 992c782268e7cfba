package org.kcopyd.impl.engine;

import java.nio.ByteBuffer;

/**
 * One read-only direct buffer of zeros shared by the clients of an engine: the source of zero
 * jobs (which therefore need no pages) and of zero-filled chunks after an ignored read error.
 *
 * <p>Counted: the engine holds it while it is current, and each client created with it until
 * the client ends. The last to let go frees its memory at once, as a client's pages are freed,
 * rather than at a garbage collection that may never come (an engine restarted or reconfigured
 * many times would otherwise pile them up). A client that ended with device I/O possibly still
 * reading it (aborted on a device that never answered) marks it: it is then left to the garbage
 * collector, never freed under such a device.
 */
final class ZeroBuffer {

    private final ByteBuffer owner;
    private final ByteBuffer zeros;
    /** Guarded by this. */
    private int users = 1;
    /** Guarded by this. */
    private boolean mayStillBeRead;

    /** @param bytes its size; the creator is its first user */
    ZeroBuffer(int bytes) {
        this.owner = ByteBuffer.allocateDirect(bytes);
        this.zeros = owner.asReadOnlyBuffer();
    }

    int capacity() {
        return zeros.capacity();
    }

    /** @return a read-only view of {@code bytes} zeros (at most {@link #capacity()}) */
    ByteBuffer slice(int bytes) {
        return zeros.slice(0, bytes);
    }

    /** Overwrites {@code target}'s remaining bytes with zeros, leaving its position unchanged. */
    void fill(ByteBuffer target) {
        int pos = target.position();
        while (target.hasRemaining()) {
            target.put(slice(Math.min(target.remaining(), zeros.capacity())));
        }
        target.position(pos);
    }

    /**
     * One more user.
     *
     * @throws IllegalStateException if every user has let go already (its memory may be freed)
     */
    synchronized void retain() {
        if (users == 0) {
            throw new IllegalStateException("the zero buffer was released by all its users");
        }
        users++;
    }

    /**
     * A user lets go; the last one frees the memory, unless a user's I/O may still read it.
     *
     * @param quiet false if device I/O the user started may still read the buffer
     */
    synchronized void release(boolean quiet) {
        mayStillBeRead |= !quiet;
        if (--users == 0 && !mayStillBeRead) {
            DirectMemory.free(owner);
        }
    }
}
