package org.kcopyd.testdevices;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;

/**
 * A test device that passes every call to another device; a test's subclass overrides only what
 * it changes (fails, delays or holds requests). It forwards the required operations,
 * {@link #close()} and {@link #whenLost()}, the wrapped device's minimum block and its bytes past
 * the last whole sector. The optional ones keep
 * {@link BlockDevice}'s defaults (no write-zeroes, no discard, no sequential-write requirement,
 * extents all data, no offload, blocking calls), so that a subclass
 * overriding {@code read} or {@code write} sees every request, including the zeros of a zero job.
 * Not for wrapping a device in production code: a wrapper there forwards every method (see
 * {@link Forwarding#assertForwards}); ForwardingTest checks which ones this one keeps.
 */
public class ForwardingDevice implements BlockDevice {

    /** The device every call goes to. */
    protected final BlockDevice inner;

    /** @param inner the device every call goes to */
    public ForwardingDevice(BlockDevice inner) {
        this.inner = Objects.requireNonNull(inner, "inner");
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public long sizeInSectors() {
        return inner.sizeInSectors();
    }

    @Override
    public boolean isReadOnly() {
        return inner.isReadOnly();
    }

    /** The wrapped device's: its constraint holds for whatever reaches it. */
    @Override
    public int minimumBlockBytes() {
        return inner.minimumBlockBytes();
    }

    @Override
    public int tailBytes() {
        return inner.tailBytes();
    }

    @Override
    public CompletionStage<Void> readTail(ByteBuffer dst) {
        return inner.readTail(dst);
    }

    @Override
    public CompletionStage<Void> writeTail(ByteBuffer src) {
        return inner.writeTail(src);
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        return inner.read(sector, dst);
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        return inner.write(sector, src);
    }

    @Override
    public CompletionStage<Void> flush() {
        return inner.flush();
    }

    @Override
    public CompletionStage<IOException> whenLost() {
        return inner.whenLost();
    }

    @Override
    public void close() throws IOException {
        inner.close();
    }
}
