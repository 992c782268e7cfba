package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * A snapshot merge interrupted by {@code kill -9} of the daemon, with real processes (found by H23):
 * the COW store records the merge, so the daemon started again resumes it; the snapshot then goes
 * away when the merge completes, as a merge the daemon saw to its end does, instead of staying as
 * a fresh empty snapshot that nothing removes. The origin ends as the snapshot was.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class DaemonMergeResumeIT {

    private static final int SIZE = 8 << 20;

    @TempDir
    Path dir;

    @Test
    void aMergeResumedAfterTheDaemonWasKilledRemovesTheSnapshotWhenItCompletes() throws Exception {
        byte[] original = new byte[SIZE];
        new Random(41).nextBytes(original);
        Path origin = Files.write(dir.resolve("origin.img"), original);
        byte[] later = new byte[SIZE];
        new Random(42).nextBytes(later);
        Files.write(dir.resolve("later.img"), later);
        Path state = dir.resolve("state");

        try (RunningDaemon first = RunningDaemon.start(dir, state, "first")) {
            RunningDaemon.clientOk(dir, state, "snapshot", "create", "s1", "origin.img", "s1.cow", "--size-mib", "32");
            // Every chunk of the origin is written through its origin device: all of it is copied to the store.
            RunningDaemon.clientOk(dir, state, "copy", "--daemon", "later.img", "origin:s1");
            assertThat(origin).hasBinaryContent(later);
            RunningDaemon.clientJson(dir, state, "config", "set", "throttleBytesPerSecond=1048576");
            JsonObject job = new DaemonApi(state).call("POST", "/api/v1/snapshots/s1/merge", 202);
            String id = job.get("id").getAsString();
            await().atMost(RunningDaemon.WAIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                JsonObject now = new DaemonApi(state).get("/api/v1/jobs/" + id);
                assertThat(now.get("state").getAsString()).isEqualTo("running");
                assertThat(now.get("bytesDone").getAsLong()).isGreaterThanOrEqualTo(1 << 20);
            });
            first.kill9();
        }

        try (RunningDaemon second = RunningDaemon.start(dir, state, "second")) {
            RunningDaemon.clientJson(dir, state, "config", "set", "throttleBytesPerSecond=0");
            await().atMost(RunningDaemon.WAIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
                    assertThat(snapshots(state)).as("snapshot s1 removed once its resumed merge completed").isZero());
            assertThat(origin).as("the origin rolled back to the snapshot").hasBinaryContent(original);
            assertThat(dir.resolve("s1.cow")).as("the COW store stays").exists();
            assertThat(second.sigterm()).as("errors: %s", second.errors()).isZero();
        }
    }

    private static int snapshots(Path state) {
        int n = 0;
        for (JsonElement ignored : new DaemonApi(state).get("/api/v1/snapshots").getAsJsonArray("snapshots")) {
            n++;
        }
        return n;
    }
}
