package org.kcopyd.api;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A block device: the service provider interface the engine reads and writes through.
 * kcopyd ships devices for files, raw block devices and memory ({@link BlockDeviceOpener});
 * users implement it too (a snapshot, a mirror, a remote volume).
 *
 * <p><b>Units.</b> Sectors are {@value #SECTOR_SIZE} bytes. Buffers passed to {@link #read}
 * and {@link #write} hold a whole number of sectors between their position and limit.
 *
 * <p><b>Threading.</b> The engine calls {@code read}, {@code write}, {@code flush} and
 * {@code writeZeroes} from its I/O threads, many at a time, on disjoint or overlapping
 * ranges. An implementation may do the I/O in the calling thread and return a completed
 * stage (a local file does), or start it and complete the stage later from any thread (a
 * remote device does). The engine never waits on a stage; it continues when it completes.
 * The buffer belongs to the device until the stage completes and must not be kept after.
 * A device whose calls never block ({@link #isNonBlocking}) is called from the engine's
 * scheduling threads too.
 *
 * <p><b>Errors.</b> An I/O failure completes the stage exceptionally (an exception thrown
 * by the method is treated the same). The engine reports it in the job's completion.
 */
@ConsumerType
public interface BlockDevice extends Closeable {

    /** Bytes per sector: every sector number and count in this API is in these units. */
    int SECTOR_SIZE = 512;

    /**
     * Service property of a {@code BlockDevice} service: what the device is to the bundle that
     * registered it, one {@code String}. kcopyd's bundles register {@code origin} and
     * {@code snapshot} (org.kcopyd.snapshot) and {@code mirror} (org.kcopyd.mirror) devices, so
     * that a writer can find, for instance, the origin device through which writes to a
     * snapshotted file must go: {@code (kcopyd.device.role=origin)}.
     */
    String ROLE = "kcopyd.device.role";

    /**
     * Service property of a {@code BlockDevice} service: the name, or names ({@code String} or
     * {@code String[]}), by which configurations refer to the service, for instance a mirror leg
     * {@code service:NAME}. A bundle that offers a device for others to use registers it with
     * this property; unlike {@link #name()}, which only labels messages, it is a key that must
     * be unique among the services that carry it.
     */
    String NAME = "kcopyd.device.name";

    /** @return a short human-readable name, used in error messages (e.g. the file path) */
    String name();

    /** @return the device size in sectors; constant for the life of the device */
    long sizeInSectors();

    /** @return true if writes are refused; the engine refuses jobs writing to such a device */
    boolean isReadOnly();

    /**
     * The smallest unit of I/O the device takes, in bytes: every request on it must start and end
     * on a multiple of it (an NBD server's minimum block size, a disk's logical block size under
     * O_DIRECT). {@link IoRegion} refuses regions of the device that are not aligned to it, so a
     * job that could only fail is refused before anything is written.
     *
     * <p>The default answers {@value #SECTOR_SIZE}: any whole sectors.
     *
     * @return a power of two, at least {@value #SECTOR_SIZE}; constant for the life of the device
     * @since 1.5
     */
    default int minimumBlockBytes() {
        return SECTOR_SIZE;
    }

    /**
     * The bytes the device holds past its last whole sector, which {@link #read} and {@link #write}
     * do not address: an NBD export whose size is not a multiple of {@value #SECTOR_SIZE} (nbdkit
     * serves files of any size). A byte-exact copy of the whole device is its sectors, then this
     * tail ({@link #readTail}, {@link #writeTail}), as the command line copies it; the engine's jobs
     * copy sectors only. A file device answers 0 (a file's length may change while it is open: the
     * command line copies a file's last bytes through the file itself), as does the default.
     *
     * @return 0 to {@value #SECTOR_SIZE} - 1; constant for the life of the device
     * @since 1.6
     */
    default int tailBytes() {
        return 0;
    }

    /**
     * Reads the device's {@linkplain #tailBytes() tail}, the bytes after its last whole sector.
     *
     * @param dst the buffer: exactly {@link #tailBytes()} bytes remaining, filled when the stage completes
     * @return a stage completed when the bytes are in {@code dst}; exceptionally with an
     *         {@link IllegalArgumentException} if {@code dst} has another length (the default: this
     *         device has no tail), or with the I/O error
     * @since 1.6
     */
    default CompletionStage<Void> readTail(ByteBuffer dst) {
        return CompletableFuture.failedStage(new IllegalArgumentException("device '" + name() + "' has no bytes past "
                + "its last whole sector; " + dst.remaining() + " were asked"));
    }

    /**
     * Writes the device's {@linkplain #tailBytes() tail}, the bytes after its last whole sector.
     *
     * @param src the bytes: exactly {@link #tailBytes()} remaining
     * @return a stage completed when the device has accepted them (durable after {@link #flush()});
     *         exceptionally with an {@link IllegalArgumentException} if {@code src} has another length
     *         (the default: this device has no tail), or with the I/O error (a read-only device, say)
     * @since 1.6
     */
    default CompletionStage<Void> writeTail(ByteBuffer src) {
        return CompletableFuture.failedStage(new IllegalArgumentException("device '" + name() + "' has no bytes past "
                + "its last whole sector; " + src.remaining() + " were given"));
    }

    /**
     * Reads {@code dst.remaining()} bytes starting at {@code sector} into {@code dst},
     * advancing its position to its limit.
     *
     * @param sector first sector to read
     * @param dst    destination buffer; remaining is a multiple of {@value #SECTOR_SIZE}
     * @return a stage completed when the data is in {@code dst}, or exceptionally on error
     */
    CompletionStage<Void> read(long sector, ByteBuffer dst);

    /**
     * Writes {@code src.remaining()} bytes from {@code src} starting at {@code sector}.
     *
     * @param sector first sector to write
     * @param src    source buffer; remaining is a multiple of {@value #SECTOR_SIZE}
     * @return a stage completed when the device has accepted the data (not necessarily
     *         durable: see {@link #flush()}), or exceptionally on error
     */
    CompletionStage<Void> write(long sector, ByteBuffer src);

    /**
     * Makes every completed write durable (fdatasync for a file).
     *
     * @return a stage completed when the data is durable
     */
    CompletionStage<Void> flush();

    /**
     * @return true if {@link #writeZeroes} is implemented more cheaply than writing a buffer
     *         of zeros (a sparse device, a device with a write-zeroes command); the engine then
     *         writes zero chunks of {@link CopyFlag#SPARSE} copies with it, which on files
     *         punches holes
     */
    default boolean supportsWriteZeroes() {
        return false;
    }

    /**
     * Sets {@code count} sectors starting at {@code sector} to zero. Called by the engine
     * only when {@link #supportsWriteZeroes()} returns true.
     *
     * @param sector first sector
     * @param count  number of sectors
     * @return a stage completed when the sectors read back as zeros
     */
    default CompletionStage<Void> writeZeroes(long sector, long count) {
        return CompletableFuture.failedStage(new IOException("device '" + name() + "' has no write-zeroes command"));
    }

    /**
     * Tells where the device's data is in {@code count} sectors starting at {@code sector}: runs
     * of {@link Extent.Type#DATA data}, {@link Extent.Type#ZERO zeros} and
     * {@link Extent.Type#HOLE holes} (a hole reads as zeros). A hint for speed, never needed for
     * correctness: the engine uses it (with {@link CopyFlag#SPARSE}) to skip reading holes, and
     * on destinations to skip writing zeros where the device already reads as zeros; an answer
     * of {@code DATA} everywhere is always right. Files answer from the file system
     * ({@code SEEK_DATA}/{@code SEEK_HOLE}), NBD devices with {@code NBD_CMD_BLOCK_STATUS}.
     *
     * <p><b>The answer.</b> Runs in ascending order, contiguous, the first starting at
     * {@code sector}, together covering {@code [sector, sector + count)} or a prefix of it (at
     * least one sector: a device may answer less than it was asked, as NBD servers do; the
     * caller asks again for the rest, or takes it as data). A run must not reach past
     * {@code sector + count}. Callers treat an answer that breaks these rules, or a failed
     * stage, as {@code DATA}. {@code ZERO} and {@code HOLE} must be true when the stage
     * completes: a device that is written concurrently may only report what was zero before and
     * after those writes.
     *
     * <p><b>Threading.</b> Called from the engine's I/O threads, many at a time, as
     * {@link #read} is; may complete in the calling thread or later from any thread.
     *
     * <p>The default answers one {@code DATA} run: the device does not know.
     *
     * @param sector first sector asked about
     * @param count  number of sectors asked about, at least 1
     * @return a stage completed with the runs
     * @since 1.2.0
     */
    default CompletionStage<List<Extent>> extents(long sector, long count) {
        return CompletableFuture.completedStage(List.of(new Extent(sector, count, Extent.Type.DATA)));
    }

    /**
     * Tells whether this device, as a source, can have {@code destination} written without the
     * data passing through the engine's pages: the kernel or file system copies it
     * ({@code copy_file_range}, a reflink). A cheap check, with no I/O: it says the pair may work,
     * and {@link #offloadTo} may still be refused. The engine asks once per job and destination,
     * unless the job has {@link CopyFlag#NO_OFFLOAD}; without {@link CopyFlag#OFFLOAD_ALWAYS} it
     * offloads only where the source also advises that the kernel's copy beats the pages
     * ({@link #offloadBeatsPagesTo}).
     *
     * <p>A device that wraps another (a snapshot's origin, a mirror, a hashing or counting view)
     * must not pass the question on unless every byte written through the wrapped device would be
     * handled exactly as its own writes are: an offloaded range never reaches the wrapper's
     * {@link #write}. The default answers false.
     *
     * @param destination a destination device of a copy job
     * @return true if {@link #offloadTo} may copy to it
     * @since 1.3.0
     */
    default boolean canOffloadTo(BlockDevice destination) {
        return false;
    }

    /**
     * Advises whether this device's {@linkplain #offloadTo offload} to {@code destination} is
     * faster than the engine's page path (reading the data into its pages and writing it out).
     * The engine's default for copies ({@code --offload=auto}: neither {@link CopyFlag#NO_OFFLOAD}
     * nor {@link CopyFlag#OFFLOAD_ALWAYS}) offloads only to a destination this device
     * {@linkplain #canOffloadTo accepts} and advises; {@link CopyFlag#OFFLOAD_ALWAYS} offloads
     * without asking. A file device advises it where both files are on one file system that shares
     * blocks (a reflink: metadata only) or that copies on the server (a network file system), and
     * nowhere else: on ext4 or tmpfs the kernel's copy moves the same bytes as the pages do.
     *
     * <p><b>Threading.</b> A cheap check, with no I/O, made once per job and destination from the
     * submitting thread; must be thread-safe.
     *
     * <p>A device that wraps another and passes {@link #canOffloadTo} and {@link #offloadTo} on
     * (under the rule told there) should pass this on too, or its offloads happen only with
     * {@link CopyFlag#OFFLOAD_ALWAYS}. The default answers false: a device that gives no advice is
     * not offloaded from by default.
     *
     * @param destination a destination device of a copy job
     * @return true if the kernel's copy to {@code destination} beats reading and writing the data
     *         through the engine's pages; meaningful only where {@link #canOffloadTo} accepts it
     * @since 1.3.0
     */
    default boolean offloadBeatsPagesTo(BlockDevice destination) {
        return false;
    }

    /**
     * Copies {@code count} sectors starting at {@code sector} of this device to
     * {@code destination} at {@code destSector} without the engine's buffers: by the kernel or
     * the file system. Called by the engine only for a pair {@link #canOffloadTo} accepted, one
     * chunk at a time (a few MiB), from its I/O threads, many at a time, as {@link #write} is.
     *
     * <p><b>Refusals.</b> A device whose kernel or file system refuses the pair (the files are on
     * different file systems, the file system has no such copy) completes the stage exceptionally
     * with an {@link UnsupportedOperationException}. Whatever the failure, the destination range's
     * content is then unspecified, and the engine copies it again through its pages (where a read
     * or write error is then told apart) and stops offloading to that destination for the rest of
     * the job.
     *
     * <p>The default refuses.
     *
     * @param sector      first sector of this device to copy
     * @param count       number of sectors, at least 1
     * @param destination where to copy them; {@link #canOffloadTo} accepted it
     * @param destSector  first sector written on {@code destination}
     * @return a stage completed when {@code destination} reads as this device's range (not
     *         necessarily durable: see {@link #flush()}), or exceptionally
     * @since 1.3.0
     */
    default CompletionStage<Void> offloadTo(long sector, long count, BlockDevice destination, long destSector) {
        return CompletableFuture.failedStage(new UnsupportedOperationException("device '" + name()
                + "' cannot copy to '" + destination.name() + "' without the engine's buffers"));
    }

    /** @return true if {@link #discard} is implemented */
    default boolean supportsDiscard() {
        return false;
    }

    /**
     * Tells the device that {@code count} sectors starting at {@code sector} are no longer
     * needed (TRIM). Their content afterwards is unspecified.
     *
     * @param sector first sector
     * @param count  number of sectors
     * @return a stage completed when the hint has been taken
     */
    default CompletionStage<Void> discard(long sector, long count) {
        return CompletableFuture.failedStage(new IOException("device '" + name() + "' does not support discard"));
    }

    /**
     * Whether every I/O call of this device ({@link #read}, {@link #write}, {@link #flush},
     * {@link #writeZeroes}, {@link #discard}, {@link #extents}, {@link #offloadTo}) only starts
     * its I/O and returns at once, the stage completed later on a thread of the device's own (a
     * network device: NBD). The engine then issues a copy's reads of it from its scheduling thread
     * instead of handing each one to an I/O thread, which saves a thread switch per chunk. A
     * device answering true must never block in these calls: not on I/O, not on a lock held
     * across I/O, not waiting for room in a queue. The default answers false: the engine calls
     * the device only from its I/O threads.
     *
     * @return true if the I/O calls never block the calling thread
     * @since 1.4
     */
    default boolean isNonBlocking() {
        return false;
    }

    /**
     * @return true if writes must arrive in ascending sector order (a zoned or append-only
     *         device); jobs writing to it get {@link CopyFlag#WRITE_SEQ} automatically
     */
    default boolean requiresSequentialWrites() {
        return false;
    }

    /**
     * Completes, with the reason, once the device has lost what it reads and writes for good, by
     * no fault of its user: a network device whose connection to its server dropped or stalled
     * past its request timeout. Every request fails from then on; the device stays open until it
     * is closed. Its user may close it and open it again, checking what it opens as at any opening
     * (a server restarted may serve another disk at the same address): a snapshot of an NBD export
     * does so. It never completes for a device that cannot be lost that way (a file), nor because
     * it was closed. A device that forwards to another forwards this too. Completed on a thread of
     * the device's own, which a callback must not hold up. The default never completes.
     *
     * @return a stage completed with the {@link IOException} that says why the device was lost
     * @since 1.7
     */
    default CompletionStage<IOException> whenLost() {
        return new CompletableFuture<>();
    }

    /**
     * Releases the device's resources. The default does nothing.
     *
     * @throws IOException if closing fails
     */
    @Override
    default void close() throws IOException {
        // A device without resources has nothing to release.
    }
}
