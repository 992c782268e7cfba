package org.kcopyd.nbd.internal.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.Extent;

/**
 * A device opened without {@code READ_WRITE}: {@link #isReadOnly()} is true; writes, write-zeroes
 * and discards fail with an {@link IOException} naming the device, and it claims support for
 * neither write-zeroes nor discard. Every other {@link BlockDevice} method goes to the device and
 * answers as it does: reads, flushes, its {@link #extents} (NBD block status, so that sparse copies
 * skip the export's holes), its sequential-write requirement, closing, and offload as a source
 * ({@link #canOffloadTo}, {@link #offloadBeatsPagesTo}, {@link #offloadTo}: an offload reads this
 * device and writes only the destination, so {@link BlockDevice#canOffloadTo}'s rule for wrappers,
 * which is about writes through the wrapped device, is kept). ReadOnlyDeviceTest checks with
 * {@code Forwarding.assertForwards} that every method of the interface is passed on but those
 * refused here, so a method the API gains fails that test until it is decided here.
 *
 * <p>Equal to the device it shows, and to another view of it, as {@link NbdBlockDevice} is to it
 * (H48-1: a view equal only to itself made a job from an export to the same export under another
 * host name look like two devices, and its overlapping regions were copied, mixing the data).
 * Thread-safe as the device is.
 */
public final class ReadOnlyDevice implements BlockDevice {

    private final BlockDevice device;

    /** @param device the device to show read-only */
    public ReadOnlyDevice(BlockDevice device) {
        this.device = device;
    }

    /** @return the device this view shows */
    BlockDevice device() {
        return device;
    }

    @Override
    public boolean equals(Object o) {
        return o == this || device.equals(o instanceof ReadOnlyDevice view ? view.device : o);
    }

    @Override
    public int hashCode() {
        return device.hashCode();
    }

    @Override
    public String name() {
        return device.name();
    }

    @Override
    public long sizeInSectors() {
        return device.sizeInSectors();
    }

    @Override
    public boolean isReadOnly() {
        return true;
    }

    @Override
    public CompletionStage<Void> read(long sector, ByteBuffer dst) {
        return device.read(sector, dst);
    }

    @Override
    public CompletionStage<Void> write(long sector, ByteBuffer src) {
        return refused("write");
    }

    @Override
    public CompletionStage<Void> flush() {
        return device.flush();
    }

    @Override
    public CompletionStage<IOException> whenLost() {
        return device.whenLost();
    }

    /** @return false: write-zeroes is refused on this device, whatever the device supports */
    @Override
    public boolean supportsWriteZeroes() {
        return false;
    }

    @Override
    public CompletionStage<Void> writeZeroes(long sector, long count) {
        return refused("write-zeroes");
    }

    @Override
    public CompletionStage<List<Extent>> extents(long sector, long count) {
        return device.extents(sector, count);
    }

    @Override
    public boolean canOffloadTo(BlockDevice destination) {
        return device.canOffloadTo(destination);
    }

    @Override
    public boolean offloadBeatsPagesTo(BlockDevice destination) {
        return device.offloadBeatsPagesTo(destination);
    }

    @Override
    public CompletionStage<Void> offloadTo(long sector, long count, BlockDevice destination, long destSector) {
        return device.offloadTo(sector, count, destination, destSector);
    }

    /** @return false: discard is refused on this device, whatever the device supports */
    @Override
    public boolean supportsDiscard() {
        return false;
    }

    @Override
    public CompletionStage<Void> discard(long sector, long count) {
        return refused("discard");
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
        return refused("write of the last bytes");
    }

    private CompletionStage<Void> refused(String what) {
        return CompletableFuture.failedStage(new IOException(what + " refused: " + device.name()
            + " was opened read-only"));
    }

    @Override
    public void close() throws IOException {
        device.close();
    }
}
