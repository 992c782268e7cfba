package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.ClientBinding;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.Kcopyd;
import org.kcopyd.api.KcopydEngine;
import org.kcopyd.device.FileDeviceOpener;

/** An engine bound to a {@link ClientBinding}, file legs and a region log, for mirror tests and the crash child. */
final class MirrorFixture implements AutoCloseable {

    static final FileDeviceOpener FILES = new FileDeviceOpener(false);
    static final int REGION = 64;

    final KcopydEngine engine = Kcopyd.start(EngineSettings.builder().subJobKiB(16).build());
    final ClientBinding kcopyd = new ClientBinding(f -> f.createClient(64));
    final List<BlockDevice> opened = new ArrayList<>();

    MirrorFixture() {
        kcopyd.bind(engine);
    }

    static byte[] random(int bytes, long seed) {
        byte[] b = new byte[bytes];
        new Random(seed).nextBytes(b);
        return b;
    }

    BlockDevice leg(Path path, byte[] content) throws IOException {
        if (content != null) {
            Files.write(path, content);
        }
        BlockDevice d = FILES.open(path, DeviceOption.READ_WRITE);
        opened.add(d);
        return d;
    }

    MirrorVolume mirror(Path logPath, List<Path> paths, List<BlockDevice> legs) throws IOException {
        long sectors = legs.stream().mapToLong(BlockDevice::sizeInSectors).min().orElseThrow();
        long regions = MirrorVolume.regionsOf(sectors, REGION);
        BlockDevice logDevice = Files.exists(logPath) ? FILES.open(logPath, DeviceOption.READ_WRITE)
                : FILES.create(logPath, RegionLog.sizeInSectors(regions));
        opened.add(logDevice);
        RegionLog log = RegionLog.open(logDevice, paths.stream().map(Path::toString).toList(), REGION, regions);
        MirrorVolume mirror = new MirrorVolume("m", paths.stream().map(Path::toString).toList(), legs, log, REGION,
                kcopyd, false);
        mirror.start();
        return mirror;
    }

    static byte[] read(BlockDevice device) {
        ByteBuffer b = ByteBuffer.allocate((int) device.sizeInSectors() * 512);
        device.read(0, b).toCompletableFuture().join();
        return b.array();
    }

    @Override
    public void close() throws IOException {
        kcopyd.close();
        engine.close();
        for (BlockDevice d : opened) {
            d.close();
        }
    }

    /** A leg whose writes fail from a given sector on, once armed, and whose reads can be made to fail. */
    static final class FailingLeg extends ForwardingDevice {
        volatile long failWritesFrom = Long.MAX_VALUE;
        volatile boolean failReads;

        FailingLeg(BlockDevice inner) {
            super(inner);
        }

        @Override
        public CompletionStage<Void> read(long sector, ByteBuffer dst) {
            return failReads ? CompletableFuture.failedFuture(new IOException("injected read error at " + sector))
                    : inner.read(sector, dst);
        }

        @Override
        public CompletionStage<Void> write(long sector, ByteBuffer src) {
            if (sector + src.remaining() / 512 > failWritesFrom) {
                return CompletableFuture.failedFuture(new IOException("injected write error at " + sector));
            }
            return inner.write(sector, src);
        }
    }
}
