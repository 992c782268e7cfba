package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
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

    /** Devices to close with the fixture: a device left open keeps its file claimed for the whole JVM. */
    private final List<BlockDevice> devices = new ArrayList<>();
    private final List<Runnable> closers = new ArrayList<>();

    SnapshotFixture() {
        kcopyd.bind(engine);
    }

    Origin origin(BlockDevice device) {
        return new Origin(device, kcopyd, WAIT, 64);
    }

    /** The bundle's Origins component, activated in a fake framework, with the fixture's engine bound. */
    Origins origins(FakeFramework framework) {
        Origins origins = new Origins();
        origins.activate(framework.context());
        origins.bindFactory(engine);
        closers.add(origins::deactivate);
        return origins;
    }

    /** Settings for a snapshot of {@code origin} in {@code cowStore} (8 MiB if made), 16-sector chunks. */
    static SnapshotSettings settings(String name, Path origin, Path cowStore, UUID cowStoreId, boolean format) {
        return settings(name, origin, cowStore, cowStoreId, format, null);
    }

    /** {@link #settings(String, Path, Path, UUID, boolean)} confirming the origin's identity {@code originId}. */
    static SnapshotSettings settings(String name, Path origin, Path cowStore, UUID cowStoreId, boolean format,
            String originId) {
        return new SnapshotSettings(name, origin, cowStore, 16, 16384, 64, WAIT, cowStoreId, format, originId);
    }

    static String sha256(Path file) throws IOException {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(Files.readAllBytes(file)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] pattern(int bytes, long seed) {
        byte[] b = new byte[bytes];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Writes {@code content} to a file and opens it read-write, closed (and so unclaimed) with the fixture. */
    BlockDevice file(Path path, byte[] content) throws IOException {
        Files.write(path, content);
        return open(path);
    }

    /** A new sparse file, open read-write, closed with the fixture. */
    BlockDevice emptyFile(Path path, long sectors) throws IOException {
        return track(FILES.createNew(path, sectors, "a test file"));
    }

    /** Opens an existing file read-write, closed with the fixture. */
    BlockDevice open(Path path) throws IOException {
        return track(FILES.open(path, "a test file", DeviceOption.READ_WRITE));
    }

    /** A new COW store in a new file of {@code sectors}, for an origin of {@code originSectors} known to no file. */
    CowStore newStore(Path path, long sectors, int chunkSectors, long originSectors) throws IOException {
        return CowStore.format(emptyFile(path, sectors), chunkSectors, originSectors, UUID.randomUUID(),
                "file:dev=0:0:ino=0", "/a/test/origin");
    }

    /** Opens the existing COW store at {@code path}, whatever its header says (the tests know it). */
    CowStore reopenStore(Path path) throws IOException {
        BlockDevice device = open(path);
        return CowStore.adopt(device, CowStore.readHeader(device));
    }

    BlockDevice track(BlockDevice device) {
        devices.add(device);
        return device;
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
        closers.forEach(Runnable::run);
        client.close();
        engine.close();
        for (BlockDevice device : devices) {
            try {
                device.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
