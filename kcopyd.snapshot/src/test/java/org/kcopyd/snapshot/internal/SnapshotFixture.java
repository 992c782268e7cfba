package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.time.Duration;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.ClientBinding;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.Kcopyd;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydEngine;
import org.kcopyd.device.FileDeviceOpener;

/** An engine, a client and file devices in a directory, for snapshot tests and the crash child. */
final class SnapshotFixture implements AutoCloseable {

    static final FileDeviceOpener FILES = new FileDeviceOpener(false);

    final KcopydEngine engine = Kcopyd.start(EngineSettings.builder().subJobKiB(64).build());
    final KcopydClient client = engine.createClient(256);
    final ClientBinding kcopyd = new ClientBinding(f -> client);
    static final Duration WAIT = Duration.ofSeconds(5);

    SnapshotFixture() {
        kcopyd.bind(engine);
    }

    Origin origin(BlockDevice device) {
        return new Origin(device, kcopyd, WAIT, 64);
    }

    static byte[] pattern(int bytes, long seed) {
        byte[] b = new byte[bytes];
        new Random(seed).nextBytes(b);
        return b;
    }

    static BlockDevice file(Path path, byte[] content) throws IOException {
        Files.write(path, content);
        return FILES.open(path, DeviceOption.READ_WRITE);
    }

    static BlockDevice emptyFile(Path path, long sectors) throws IOException {
        return FILES.create(path, sectors);
    }

    static byte[] read(BlockDevice device) {
        ByteBuffer b = ByteBuffer.allocate((int) (device.sizeInSectors() * BlockDevice.SECTOR_SIZE));
        device.read(0, b).toCompletableFuture().join();
        return b.array();
    }

    static void write(BlockDevice device, long sector, byte[] data) {
        device.write(sector, ByteBuffer.wrap(data)).toCompletableFuture().join();
    }

    /** Compares contents, reporting the first differing sector rather than two megabyte-long arrays. */
    static void assertSameBytes(byte[] actual, byte[] expected, String what) {
        if (actual.length != expected.length) {
            throw new AssertionError(what + ": " + actual.length + " bytes, expected " + expected.length);
        }
        int mismatch = java.util.Arrays.mismatch(actual, expected);
        if (mismatch >= 0) {
            int differing = 0;
            for (int s = 0; s < actual.length / 512; s++) {
                if (!java.util.Arrays.equals(actual, s * 512, s * 512 + 512, expected, s * 512, s * 512 + 512)) {
                    differing++;
                }
            }
            throw new AssertionError(what + ": first difference in sector " + mismatch / 512 + " (byte " + mismatch
                    + "), " + differing + " sectors differ");
        }
    }

    @Override
    public void close() {
        client.close();
        engine.close();
    }
}
