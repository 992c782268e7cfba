package org.kcopyd.impl.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.Kcopyd;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydEngine;
import org.kcopyd.device.NoDeviceProviderException;

/** The plain-Java entry point: only API types, the implementation found by ServiceLoader. */
class StandaloneTest {

    @Test
    void copiesFilesThroughTheApiAlone(@TempDir Path dir) throws Exception {
        byte[] data = new byte[3 << 20];
        new Random(42).nextBytes(data);
        Path source = Files.write(dir.resolve("disk.img"), data);
        try (KcopydEngine engine = Kcopyd.start(EngineSettings.defaults());
                BlockDevice src = engine.devices().open(source);
                BlockDevice a = engine.devices().create(dir.resolve("a.img"), src.sizeInSectors());
                BlockDevice b = engine.devices().create(dir.resolve("b.img"), src.sizeInSectors(), DeviceOption.DIRECT);
                KcopydClient client = engine.createClient()) {
            CopyResult r = client.copy(IoRegion.whole(src), List.of(IoRegion.whole(a), IoRegion.whole(b)), Set.of())
                    .toCompletableFuture().join();
            assertThat(r.isSuccess()).isTrue();
        }
        assertThat(Files.readAllBytes(dir.resolve("a.img"))).isEqualTo(data);
        assertThat(Files.readAllBytes(dir.resolve("b.img"))).isEqualTo(data);
    }

    @Test
    void devicesNamedByUriComeFromTheProvidersServiceLoaderFinds(@TempDir Path dir) throws Exception {
        byte[] data = new byte[8 * 512];
        new Random(7).nextBytes(data);
        Path source = Files.write(dir.resolve("disk.img"), data);
        try (KcopydEngine engine = Kcopyd.start(EngineSettings.defaults());
                BlockDevice src = engine.devices().open(source.toUri());
                BlockDevice dst = engine.devices().open(URI.create("testmem://a?sectors=8"), DeviceOption.READ_WRITE);
                KcopydClient client = engine.createClient()) {
            assertThat(client.copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)), Set.of())
                    .toCompletableFuture().join().isSuccess()).isTrue();
            ByteBuffer back = ByteBuffer.allocate(data.length);
            dst.read(0, back).toCompletableFuture().join();
            assertThat(back.array()).isEqualTo(data);

            // Every provider on the class path is known: this module's test one and kcopyd.nbd's (a test dependency).
            assertThatThrownBy(() -> engine.devices().open(URI.create("foo://x")))
                    .isInstanceOf(NoDeviceProviderException.class)
                    .hasMessage("no device provider for scheme 'foo' in 'foo://x' (known schemes: file, nbd, nbd+unix, "
                            + "nbds, nbds+unix, testmem)");
            assertThatThrownBy(() -> engine.devices().open(URI.create("testmem://b")))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("'testmem://b' has no size");
        }
    }
}
