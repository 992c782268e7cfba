package org.kcopyd.testdevices;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;

/**
 * A test device with bytes past its last whole sector, as an NBD export of any size (nbdkit's
 * file plugin) is: the sectors are another device's, the tail is kept here. Its tail calls check
 * the length as {@link BlockDevice#readTail} says and answer at once; a read-only inner device makes
 * the tail read-only too. Thread-safe.
 */
public class TailedDevice extends ForwardingDevice {

    private final byte[] tail;

    /**
     * @param sectors the device of the whole sectors
     * @param tail    the bytes past them, 1 to 511 (copied)
     */
    public TailedDevice(BlockDevice sectors, byte[] tail) {
        super(sectors);
        if (tail.length < 1 || tail.length >= SECTOR_SIZE) {
            throw new IllegalArgumentException("a tail of " + tail.length + " bytes is outside 1.." + (SECTOR_SIZE - 1));
        }
        this.tail = tail.clone();
    }

    @Override
    public int tailBytes() {
        return tail.length;
    }

    @Override
    public synchronized CompletionStage<Void> readTail(ByteBuffer dst) {
        if (dst.remaining() != tail.length) {
            return wrongLength(dst.remaining());
        }
        dst.put(tail);
        return CompletableFuture.completedStage(null);
    }

    @Override
    public synchronized CompletionStage<Void> writeTail(ByteBuffer src) {
        if (src.remaining() != tail.length) {
            return wrongLength(src.remaining());
        }
        if (isReadOnly()) {
            return CompletableFuture.failedStage(new java.io.IOException("device '" + name() + "' is read-only"));
        }
        src.get(tail);
        return CompletableFuture.completedStage(null);
    }

    /** @return the tail now */
    public synchronized byte[] tail() {
        return tail.clone();
    }

    /** @return the whole content: the sectors, then the tail */
    public synchronized byte[] content() {
        ByteBuffer all = ByteBuffer.allocate(Math.toIntExact(sizeInSectors() * SECTOR_SIZE));
        inner.read(0, all).toCompletableFuture().join();
        byte[] bytes = Arrays.copyOf(all.array(), all.capacity() + tail.length);
        System.arraycopy(tail, 0, bytes, all.capacity(), tail.length);
        return bytes;
    }

    private CompletionStage<Void> wrongLength(int bytes) {
        return CompletableFuture.failedStage(new IllegalArgumentException("device '" + name() + "' has "
                + tail.length + " bytes past its last whole sector, not " + bytes));
    }
}
