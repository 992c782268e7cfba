package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.ClientBinding;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.Kcopyd;
import org.kcopyd.api.KcopydEngine;
import org.kcopyd.device.FileClaims;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.testdevices.ForwardingDevice;

/** An engine bound to a {@link ClientBinding}, file legs and a region log, for mirror tests and the crash child. */
final class MirrorFixture implements AutoCloseable {

    static final FileDeviceOpener FILES = new FileDeviceOpener(false);
    static final int REGION = 64;
    /** The identity of the logs the fixture makes: the crash test reopens the child's log. */
    static final UUID LOG_ID = UUID.fromString("6b63706d-6972-726f-7220-746573740001");

    final KcopydEngine engine = Kcopyd.start(EngineSettings.builder().subJobKiB(16).build());
    final ClientBinding kcopyd = new ClientBinding(f -> f.createClient(64));
    final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor();
    final List<BlockDevice> opened = new ArrayList<>();
    private final List<MirrorVolume> mirrors = new ArrayList<>();
    /** The region log of the last mirror made. */
    RegionLog log;
    /** What the next mirror's region log is written through: a test may wrap the log's file to watch it. */
    java.util.function.UnaryOperator<BlockDevice> logDevice = d -> d;

    MirrorFixture() {
        kcopyd.bind(engine);
    }

    static byte[] random(int bytes, long seed) {
        byte[] b = new byte[bytes];
        new Random(seed).nextBytes(b);
        return b;
    }

    static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    BlockDevice leg(Path path, byte[] content) throws IOException {
        if (content != null) {
            Files.write(path, content);
        }
        BlockDevice d = FILES.open(path, DeviceOption.READ_WRITE);
        opened.add(d);
        return d;
    }

    /** The resync's clients: both the fixture's, unthrottled. */
    ResyncClients clients() {
        return new ResyncClients(kcopyd, kcopyd);
    }

    Backoff backoff() {
        return new Backoff(retries, Duration.ofMillis(1), Duration.ofMillis(20));
    }

    MirrorVolume mirror(Path logPath, List<Path> paths, List<BlockDevice> legs) throws IOException {
        return mirror(logPath, paths, legs, kcopyd, backoff());
    }

    /** A started mirror over {@code legs}, its log made with {@link #LOG_ID} if {@code logPath} does not exist. */
    MirrorVolume mirror(Path logPath, List<Path> paths, List<BlockDevice> legs, ClientBinding binding, Backoff backoff)
            throws IOException {
        long sectors = legs.stream().mapToLong(BlockDevice::sizeInSectors).min().orElseThrow();
        long regions = MirrorVolume.regionsOf(sectors, REGION);
        List<String> names = paths.stream().map(Path::toString).toList();
        List<RegionLog.Leg> recorded = new ArrayList<>();
        for (int i = 0; i < paths.size(); i++) {
            // A test may give the volume devices that are not at their paths: they are recognised by the path.
            String identity = Files.exists(paths.get(i)) ? String.valueOf(FileClaims.identityOf(paths.get(i)))
                    : "test:" + names.get(i);
            recorded.add(new RegionLog.Leg(names.get(i), identity, legs.get(i).sizeInSectors(), legs.get(i)));
        }
        RegionLog.Geometry g = new RegionLog.Geometry(LOG_ID, "m", recorded, REGION, sectors);
        RegionLog log;
        if (Files.exists(logPath)) {
            BlockDevice logDevice = FILES.open(logPath, "the region log of mirror m", DeviceOption.READ_WRITE);
            opened.add(logDevice);
            log = RegionLog.open(this.logDevice.apply(logDevice), g, false);
        } else {
            BlockDevice logDevice = FILES.createNew(logPath, RegionLog.sizeInSectors(regions), "the region log of mirror m");
            opened.add(logDevice);
            log = RegionLog.format(this.logDevice.apply(logDevice), g, LOG_ID);
        }
        this.log = log;
        // The fixture's client copies at full speed what a write waits for, as a mirror's unthrottled client does.
        MirrorVolume mirror = new MirrorVolume("m", names, legs, log, REGION, new ResyncClients(binding, kcopyd), backoff);
        mirrors.add(mirror);
        mirror.start();
        return mirror;
    }

    /** Stops every mirror and closes every device the fixture opened, releasing their claims. */
    void closeDevices() throws IOException {
        mirrors.forEach(MirrorVolume::close);
        mirrors.clear();
        for (BlockDevice d : opened) {
            d.close();
        }
        opened.clear();
    }

    static byte[] read(BlockDevice device) {
        ByteBuffer b = ByteBuffer.allocate((int) device.sizeInSectors() * 512);
        device.read(0, b).toCompletableFuture().join();
        return b.array();
    }

    @Override
    public void close() throws IOException {
        mirrors.forEach(MirrorVolume::close);
        kcopyd.close();
        engine.close();
        retries.shutdownNow();
        closeDevices();
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
