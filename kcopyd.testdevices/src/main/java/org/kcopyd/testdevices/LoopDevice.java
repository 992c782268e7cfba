package org.kcopyd.testdevices;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A block device backed by an image file ({@code losetup --find --show}), for tests of what
 * kcopyd does with block devices as opposed to files. Needs root, loop devices and
 * {@code losetup}: {@link #unavailable} says what is missing. {@link #close()} detaches it
 * ({@code losetup -d}); the image stays. Each command has {@value LoopMount#COMMAND_SECONDS}
 * seconds. Thread-safe ({@link #close()} is synchronized).
 */
public final class LoopDevice implements Closeable {

    private final Path device;
    private final Path image;
    private boolean attached = true; // guarded by this
    private boolean partitioned; // guarded by this

    private LoopDevice(Path device, Path image) {
        this.device = device;
        this.image = image;
    }

    /**
     * @return null if this machine can attach loop devices, else what is missing, e.g. "a loop
     *         device needs root: not running as root"
     */
    public static String unavailable() {
        if (!LoopMount.isRoot()) {
            return "a loop device needs root: not running as root";
        }
        if (!Files.exists(Path.of("/dev/loop-control"))) {
            return "a loop device needs loop devices: no /dev/loop-control";
        }
        if (Peers.find("losetup") == null) {
            return "losetup not installed (Debian package mount)";
        }
        return null;
    }

    /**
     * Attaches {@code image} (an existing file, its size a multiple of 512 bytes) to a free loop
     * device.
     *
     * @throws IOException if {@link #unavailable} names what is missing or {@code losetup} fails
     *                     (its output in the message)
     */
    public static LoopDevice attach(Path image) throws IOException {
        String missing = unavailable();
        if (missing != null) {
            throw new IOException(missing);
        }
        String out = LoopMount.run(List.of(Peers.find("losetup").toString(), "--find", "--show", image.toString()));
        Path device = Path.of(out.lines().reduce((first, last) -> last).orElse(""));
        if (!device.startsWith("/dev/")) {
            throw new IOException("losetup attached " + image + " but named no device: '" + out + "'");
        }
        return new LoopDevice(device, image);
    }

    /**
     * Attaches {@code image} to the loop device {@code device}, which must be free: as another disk
     * takes a device's number (and node) after a reboot.
     *
     * @throws IOException if {@link #unavailable} names what is missing or {@code losetup} fails
     *                     (its output in the message)
     */
    public static LoopDevice attachAt(Path device, Path image) throws IOException {
        String missing = unavailable();
        if (missing != null) {
            throw new IOException(missing);
        }
        LoopMount.run(List.of(Peers.find("losetup").toString(), device.toString(), image.toString()));
        return new LoopDevice(device, image);
    }

    /** @return the block device, e.g. {@code /dev/loop3} */
    public Path device() {
        return device;
    }

    /**
     * Tells the kernel about the partitions of the image's partition table ({@code partx --add}), so
     * that they become block devices of their own, {@code /dev/loopNpK}; {@link #close()} removes them
     * ({@code partx --delete}) before it detaches the device, which would leave them behind. The device
     * node may appear a moment after this returns (devtmpfs).
     *
     * @param number a partition's number in the table, from 1
     * @return the partition's device, e.g. {@code /dev/loop3p1}
     * @throws IOException if {@code partx} is missing (Debian package util-linux) or fails
     */
    public synchronized Path addPartitions(int number) throws IOException {
        Path partx = Peers.find("partx");
        if (partx == null) {
            throw new IOException("partx not installed (Debian package util-linux)");
        }
        partitioned = true;
        LoopMount.run(List.of(partx.toString(), "--add", device.toString()));
        return Path.of(device + "p" + number);
    }

    /** Detaches the device; idempotent. The image stays. */
    @Override
    public synchronized void close() throws IOException {
        if (attached) {
            if (partitioned) {
                LoopMount.run(List.of(Peers.find("partx").toString(), "--delete", device.toString()));
            }
            LoopMount.run(List.of(Peers.find("losetup").toString(), "-d", device.toString()));
            attached = false;
        }
    }

    @Override
    public synchronized String toString() {
        return device + " on " + image + (attached ? "" : " (detached)");
    }
}
