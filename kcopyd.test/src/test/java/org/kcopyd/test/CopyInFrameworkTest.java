package org.kcopyd.test;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydClientFactory;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;

@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class CopyInFrameworkTest extends KcopydTestSupport {

    @Test
    public void copiesRealFilesToTwoDestinationsByteForByte() throws Exception {
        Path dir = Files.createTempDirectory("kcopyd-it");
        byte[] data = new byte[5 << 20];
        new Random(11).nextBytes(data);
        Path source = Files.write(dir.resolve("src.img"), data);
        BlockDeviceOpener devices = service(BlockDeviceOpener.class);
        KcopydClientFactory factory = service(KcopydClientFactory.class);
        try (BlockDevice src = devices.open(source);
                BlockDevice a = devices.create(dir.resolve("a.img"), src.sizeInSectors());
                BlockDevice b = devices.create(dir.resolve("b.img"), src.sizeInSectors());
                KcopydClient client = factory.createClient(256)) {
            CopyResult r = client.copy(IoRegion.whole(src), List.of(IoRegion.whole(a), IoRegion.whole(b)),
                    Set.of(CopyFlag.FLUSH)).toCompletableFuture().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
            assertTrue(r.toString(), r.isSuccess());
            CopyResult z = client.zero(List.of(IoRegion.of(b, 0, 16)), Set.of(), null, null).toCompletableFuture()
                    .get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
            assertTrue(z.isSuccess());
        }
        assertArrayEquals(data, Files.readAllBytes(dir.resolve("a.img")));
        byte[] expected = data.clone();
        java.util.Arrays.fill(expected, 0, 16 * 512, (byte) 0);
        assertArrayEquals(expected, Files.readAllBytes(dir.resolve("b.img")));
        for (String f : List.of("src.img", "a.img", "b.img")) {
            Files.delete(dir.resolve(f));
        }
        Files.delete(dir);
    }
}
