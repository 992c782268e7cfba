package org.kcopyd.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kcopyd.snapshot.internal.SnapshotFixture.assertSameBytes;
import static org.kcopyd.snapshot.internal.SnapshotFixture.pattern;
import static org.kcopyd.snapshot.internal.SnapshotFixture.read;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.DeviceIdentity;
import org.kcopyd.snapshot.SnapshotState;

/** A process killed in the middle of copy-on-write leaves a consistent snapshot. */
class SnapshotCrashTest {

    @TempDir
    Path dir;

    @Test
    void aSnapshotReopensConsistentAfterItsProcessIsKilledMidCopy() throws Exception {
        int sectors = 16384;
        byte[] initial = pattern(sectors * 512, 21);
        Path originPath = Files.write(dir.resolve("origin.img"), initial);
        Path cowPath = dir.resolve("cow.img");
        UUID id = UUID.randomUUID();
        try (BlockDevice cow = SnapshotFixture.FILES.createNew(cowPath, 4L * sectors, "a test file")) {
            CowStore.format(cow, 16, sectors, id, DeviceIdentity.of(originPath), originPath.toString());
        }

        for (int round = 0; round < 3; round++) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    SnapshotCrashChild.class.getName(), originPath.toString(), cowPath.toString(), id.toString())
                    .redirectErrorStream(true).start();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream()))) {
                String line;
                int batches = 0;
                // Kill it at a different moment each round, while copies are in flight.
                while ((line = out.readLine()) != null && batches < 20 + round * 15) {
                    if (line.startsWith("batch ")) {
                        batches++;
                    }
                }
                assertThat(batches).as("the child ran; last line: " + line).isGreaterThanOrEqualTo(20);
                child.destroyForcibly();
                assertThat(child.waitFor(20, TimeUnit.SECONDS)).isTrue();
            }

            try (SnapshotFixture fixture = new SnapshotFixture()) {
                Origin origin = fixture.origin(fixture.open(originPath));
                CowStore store = fixture.reopenStore(cowPath);
                assertThat(store.id()).isEqualTo(id);
                assertThat(store.used()).as("chunks copied before the kill").isPositive();
                SnapshotVolume snapshot = origin.attach("crash", store);
                assertThat(snapshot.state()).isEqualTo(SnapshotState.ACTIVE);
                assertSameBytes(read(snapshot.device()), initial, "the snapshot after kill " + (round + 1));
                assertThat(Arrays.equals(read(origin), initial)).as("the origin did change").isFalse();
            }
        }
    }
}
