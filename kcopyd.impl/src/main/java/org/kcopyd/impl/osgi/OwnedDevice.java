package org.kcopyd.impl.osgi;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;

/**
 * A device a provider opened for one bundle's opener: every {@link BlockDevice} method goes to the
 * provider's device, the optional ones included (its {@link #extents}, so that sparse copies skip
 * its holes, and its offload), and answers as it does; closing it also tells the opener, which then
 * forgets it (it cannot ask an arbitrary device whether it is still open, as it asks its files).
 * OwnedDeviceTest checks with {@code Forwarding.assertForwards} that every method of the interface
 * is passed on, so a method the API gains fails that test until it is forwarded here.
 *
 * <p><b>Offload.</b> As a source it passes {@link #canOffloadTo}, {@link #offloadBeatsPagesTo} and
 * {@link #offloadTo} on. That is within {@link BlockDevice#canOffloadTo}'s rule for wrappers: this
 * device's writes are the provider device's writes, nothing else. A destination that is itself an
 * owned device is unwrapped first, for the same reason: writing to the provider's device is exactly
 * writing through its owned device, and the provider's device can only recognise its own kind (two
 * devices of one provider, each opened through an opener, can then offload between them). Any other
 * destination is passed on as it is.
 *
 * <p>Thread-safe as the device is.
 */
final class OwnedDevice implements BlockDevice {

    private final BlockDevice device;
    private final Consumer<OwnedDevice> closed;

    OwnedDevice(BlockDevice device, Consumer<OwnedDevice> closed) {
        this.device = device;
        this.closed = closed;
    }

    @Override
    public String name() {
        return device.name();
    }

    /**
     * Equal to another owned device whose provider's devices are equal (the provider says when two
     * are one storage, e.g. one NBD export opened twice), so that a job's overlap check sees them as
     * one device; never equal to a device that is not owned (that one could not say the same back).
     */
    @Override
    public boolean equals(Object o) {
        return o instanceof OwnedDevice other && device.equals(other.device);
    }

    @Override
    public int hashCode() {
        return device.hashCode();
    }

    @Override
    public long sizeInSectors() {
        return device.sizeInSectors();
    }

    @Override
    public boolean isReadOnly() {
        return device.isReadOnly();
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        return device.read(sector, dst);
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        return device.write(sector, src);
    }

    @Override
    public CompletionStage<Void> flush() {
        return device.flush();
    }

    @Override
    public CompletionStage<IOException> whenLost() {
        return device.whenLost();
    }

    @Override
    public boolean supportsWriteZeroes() {
        return device.supportsWriteZeroes();
    }

    @Override
    public CompletionStage<Void> writeZeroes(long sector, long count) {
        return device.writeZeroes(sector, count);
    }

    @Override
    public CompletionStage<List<Extent>> extents(long sector, long count) {
        return device.extents(sector, count);
    }

    @Override
    public boolean canOffloadTo(BlockDevice destination) {
        return device.canOffloadTo(unwrapped(destination));
    }

    @Override
    public boolean offloadBeatsPagesTo(BlockDevice destination) {
        return device.offloadBeatsPagesTo(unwrapped(destination));
    }

    @Override
    public CompletionStage<Void> offloadTo(long sector, long count, BlockDevice destination, long destSector) {
        return device.offloadTo(sector, count, unwrapped(destination), destSector);
    }

    /** @return the provider's device of an owned device, any other device as it is */
    private static BlockDevice unwrapped(BlockDevice destination) {
        return destination instanceof OwnedDevice owned ? owned.device : destination;
    }

    @Override
    public boolean supportsDiscard() {
        return device.supportsDiscard();
    }

    @Override
    public CompletionStage<Void> discard(long sector, long count) {
        return device.discard(sector, count);
    }

    @Override
    public boolean requiresSequentialWrites() {
        return device.requiresSequentialWrites();
    }

    @Override
    public boolean isNonBlocking() {
        return device.isNonBlocking();
    }

    @Override
    public int minimumBlockBytes() {
        return device.minimumBlockBytes();
    }

    @Override
    public int tailBytes() {
        return device.tailBytes();
    }

    @Override
    public CompletionStage<Void> readTail(ByteBuffer dst) {
        return device.readTail(dst);
    }

    @Override
    public CompletionStage<Void> writeTail(ByteBuffer src) {
        return device.writeTail(src);
    }

    @Override
    public void close() throws IOException {
        try {
            device.close();
        } finally {
            closed.accept(this);
        }
    }

    @Override
    public String toString() {
        return device.toString();
    }
}
