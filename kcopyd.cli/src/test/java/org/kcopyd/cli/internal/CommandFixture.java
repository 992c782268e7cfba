package org.kcopyd.cli.internal;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.Kcopyd;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.api.KcopydEngine;
import org.kcopyd.testdevices.ForwardingDevice;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * A real engine outside OSGi, and a console that captures what the commands print. The opener
 * and factory the commands get can be replaced, to make a device fail.
 */
final class CommandFixture implements AutoCloseable {

    final KcopydEngine engine = Kcopyd.start(EngineSettings.defaults());
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();
    BlockDeviceOpener opener = engine.devices();
    KcopydClientFactory factory = engine;

    /** Only the engine's services; snapshots and mirrors are tested in the runtime. */
    final Services services = new NoVolumeServices() {
        @Override
        public KcopydClientFactory factory(Duration wait) {
            return factory;
        }

        @Override
        public BlockDeviceOpener devices(Duration wait) {
            return opener;
        }

        @Override
        public Map<String, Object> factoryProperties() {
            return engine.settings().toMap();
        }

        @Override
        public ConfigurationAdmin configurationAdmin() {
            throw new IllegalStateException("no Config Admin outside OSGi");
        }

        @Override
        public org.kcopyd.control.KcopydControl control() {
            throw new IllegalStateException("no kcopyd control service outside OSGi");
        }
    };

    Console console() {
        return new Console(services, new PrintWriter(out, true), new PrintWriter(err, true), false);
    }

    int run(String... args) {
        return Commands.run(console(), args);
    }

    String out() {
        return out.toString();
    }

    String err() {
        return err.toString();
    }

    static Path image(Path dir, String name, int bytes, long seed) throws IOException {
        byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        return Files.write(dir.resolve(name), data);
    }

    /** @return the names in {@code dir} */
    static List<String> names(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /**
     * An opener whose devices for {@code failing} fail every write (or, for a source, every read
     * from {@code fromSector} on) with {@code cause}; everything else is the engine's.
     */
    void failing(Path failing, long fromSector, IOException cause) {
        BlockDeviceOpener real = engine.devices();
        opener = new BlockDeviceOpener() {
            @Override
            public BlockDevice open(Path path, org.kcopyd.api.DeviceOption... options) throws IOException {
                BlockDevice device = real.open(path, options);
                return path.equals(failing) ? new FailingDevice(device, fromSector, cause) : device;
            }

            @Override
            public BlockDevice open(java.net.URI uri, org.kcopyd.api.DeviceOption... options) throws IOException {
                return real.open(uri, options);
            }

            @Override
            public BlockDevice create(Path path, long sizeInSectors, org.kcopyd.api.DeviceOption... options)
                    throws IOException {
                return real.create(path, sizeInSectors, options);
            }
        };
    }

    @Override
    public void close() {
        engine.close();
    }

    /** A device that fails reads and writes from a sector on. */
    private static final class FailingDevice extends ForwardingDevice {
        private final long fromSector;
        private final IOException cause;

        FailingDevice(BlockDevice device, long fromSector, IOException cause) {
            super(device);
            this.fromSector = fromSector;
            this.cause = cause;
        }

        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            return sector + dst.remaining() / SECTOR_SIZE > fromSector ? CompletableFuture.failedStage(cause)
                    : inner.read(sector, dst);
        }

        @Override
        public CompletionStage<Void> write(long sector, ByteBuffer src) {
            return sector + src.remaining() / SECTOR_SIZE > fromSector ? CompletableFuture.failedStage(cause)
                    : inner.write(sector, src);
        }
    }
}
