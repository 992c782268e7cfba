package org.kcopyd.impl.standalone;

import static org.assertj.core.api.Assertions.assertThat;

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
}
