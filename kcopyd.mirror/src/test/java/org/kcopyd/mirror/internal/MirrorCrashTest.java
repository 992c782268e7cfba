package org.kcopyd.mirror.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kcopyd.mirror.internal.MirrorFixture.read;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.MirrorStatus;

/** After its process is killed mid-write, a mirror resyncs only the dirty regions and converges. */
class MirrorCrashTest {

    @TempDir
    Path dir;

    @Test
    void afterAKillOnlyDirtyRegionsAreResyncedAndTheLegsConverge() throws Exception {
        byte[] data = MirrorFixture.random(8192 * 512, 31);
        Files.write(dir.resolve("leg0.img"), data);
        Files.write(dir.resolve("leg1.img"), data);

        for (int round = 0; round < 2; round++) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    MirrorCrashChild.class.getName(), dir.toString()).redirectErrorStream(true).start();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream()))) {
                String line;
                int batches = 0;
                while ((line = out.readLine()) != null && batches < 10 + round * 10) {
                    if (line.startsWith("batch ")) {
                        batches++;
                    }
                }
                assertThat(batches).as("the child ran; last line: " + line).isGreaterThanOrEqualTo(10);
                child.destroyForcibly();
                assertThat(child.waitFor(20, TimeUnit.SECONDS)).isTrue();
            }

            try (MirrorFixture fixture = new MirrorFixture()) {
                List<Path> paths = List.of(dir.resolve("leg0.img"), dir.resolve("leg1.img"));
                List<BlockDevice> legs = List.of(fixture.leg(paths.get(0), null), fixture.leg(paths.get(1), null));
                MirrorVolume mirror = fixture.mirror(dir.resolve("log"), paths, legs);
                mirror.whenInSync().toCompletableFuture().get(30, TimeUnit.SECONDS);

                MirrorStatus after = mirror.status();
                long resynced = after.regionsResynced();
                assertThat(resynced).as("writes were in flight at the kill: dirty regions resynced").isPositive();
                assertThat(resynced).as("only the dirty regions, not all " + after.regions())
                        .isLessThan(after.regions() / 4);
                assertThat(after.regionsToResync()).isZero();
                assertThat(mirror.status().legs()).allSatisfy(l -> assertThat(l.state()).isEqualTo(LegState.IN_SYNC));
                assertThat(read(legs.get(1))).as("the legs converged").isEqualTo(read(legs.get(0)));
                mirror.close();
            }
        }
    }
}
