package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.List;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.BlockIo;
import org.kcopyd.device.DeviceIdentity;

/**
 * What tells a snapshot's origin from any other file or disk of the same size, recorded in its
 * COW store's header: an identity when the store is made ({@link DeviceIdentity}, a short string a
 * person can copy into the {@code originId} setting), and a fingerprint of its content whenever
 * the store is closed. A file restored from a backup or copied elsewhere is another identity: the
 * user must say it is the origin. An origin named by URI is known by its normalized URI, which
 * names the export, not the data behind it: another disk served at the same address is the same
 * identity, which only the fingerprint can catch.
 *
 * <p><b>Fingerprint</b> ({@link #fingerprint(BlockDevice)}): a hash of the origin's first and last
 * {@value #SAMPLE_SECTORS} sectors. A disk's first sectors hold its partition table or file system
 * superblock with their UUIDs, so two disks of one size almost never agree there; a file whose
 * inode number was reused by a new file after the origin was deleted is caught the same way. It
 * also catches an origin written while no snapshot of it was open, which no longer matches its
 * COW store. A fingerprint says nothing about the sectors between, so it only adds to the
 * identity.
 */
final class OriginIdentity {

    /** Sectors hashed at each end of the origin for its fingerprint. */
    static final int SAMPLE_SECTORS = 128;
    /** Bytes of a fingerprint. */
    static final int FINGERPRINT_BYTES = 16;

    private OriginIdentity() {
    }

    /**
     * @param s a snapshot's settings
     * @return the identity of its origin now: {@link DeviceIdentity#of(java.net.URI)} or
     *         {@link DeviceIdentity#of(java.nio.file.Path)}
     * @throws IOException if an origin file cannot be examined
     */
    static String of(SnapshotSettings s) throws IOException {
        return s.remoteOrigin() ? DeviceIdentity.of(s.originUri()) : DeviceIdentity.of(s.origin());
    }

    /** Places sampled for a snapshot's view fingerprint: its first and last ones and evenly between. */
    static final int VIEW_SAMPLES = 16;

    /**
     * @param sizeInSectors the device's size
     * @return the ranges, {@code {first sector, sectors}}, of up to {@value #VIEW_SAMPLES} samples of
     *         {@value #SAMPLE_SECTORS} sectors: the first, the last, and evenly between, aligned to
     *         their size, none overlapping
     */
    static List<long[]> viewSamples(long sizeInSectors) {
        List<long[]> ranges = new java.util.ArrayList<>();
        long end = 0;
        for (int k = 0; k < VIEW_SAMPLES; k++) {
            long start = k == VIEW_SAMPLES - 1 ? Math.max(0, sizeInSectors - SAMPLE_SECTORS)
                    : sizeInSectors * k / VIEW_SAMPLES / SAMPLE_SECTORS * SAMPLE_SECTORS;
            start = Math.max(start, end);
            long count = Math.min(SAMPLE_SECTORS, sizeInSectors - start);
            if (count > 0) {
                ranges.add(new long[] {start, count});
                end = start + count;
            }
        }
        return ranges;
    }

    /**
     * @param device a snapshot's device (its view: the store's copies, else the origin)
     * @return a hash of its {@linkplain #viewSamples samples}: unlike the origin's fingerprint, spread over
     *         the whole device, so that another disk is told even when both ends were written
     * @throws IOException if it cannot be read
     */
    static byte[] viewFingerprint(BlockDevice device) throws IOException {
        MessageDigest sha = sha256();
        for (long[] range : viewSamples(device.sizeInSectors())) {
            ByteBuffer b = ByteBuffer.allocate((int) range[1] * BlockDevice.SECTOR_SIZE);
            BlockIo.await(device.read(range[0], b));
            sha.update(b.flip());
        }
        return Arrays.copyOf(sha.digest(), FINGERPRINT_BYTES);
    }

    /** @return whether sectors {@code [sector, end)} overlap one of {@code samples} (from {@link #viewSamples}) */
    static boolean inViewSample(long sector, long end, List<long[]> samples) {
        for (long[] range : samples) {
            if (sector < range[0] + range[1] && end > range[0]) {
                return true;
            }
        }
        return false;
    }

    /**
     * @param device the origin's own device (not a snapshot-aware view of it)
     * @return a hash of its first and last {@value #SAMPLE_SECTORS} sectors
     * @throws IOException if it cannot be read
     */
    static byte[] fingerprint(BlockDevice device) throws IOException {
        long size = device.sizeInSectors();
        int head = (int) Math.min(SAMPLE_SECTORS, size);
        int tail = (int) Math.min(SAMPLE_SECTORS, size - head);
        MessageDigest sha = sha256();
        for (long[] range : List.of(new long[] {0, head}, new long[] {size - tail, tail})) {
            if (range[1] == 0) {
                continue;
            }
            ByteBuffer b = ByteBuffer.allocate((int) range[1] * BlockDevice.SECTOR_SIZE);
            BlockIo.await(device.read(range[0], b));
            sha.update(b.flip());
        }
        return Arrays.copyOf(sha.digest(), FINGERPRINT_BYTES);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
