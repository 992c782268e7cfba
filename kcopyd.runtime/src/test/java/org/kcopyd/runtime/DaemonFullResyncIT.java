package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * A mirror's full resync (a new leg) in the daemon, killed twice, with real processes (issue 11's
 * "a mirror killed mid-resync resumes"): the region log keeps the full resync's progress, so each
 * new daemon copies only the regions the one before had not.
 *
 * <ol>
 * <li>{@code mirror create} over leg 0 (data) and a new leg 1 (zeros), regions of 8 sectors, a resync
 *     cap of 16 KiB/s (four regions a second): leg 1 resyncs all 64 regions. Once at least 4 are
 *     copied, the daemon is killed (kill -9).</li>
 * <li>A second daemon restores the mirror from its configuration: leg 1 still resyncing, its resync
 *     has at most 64 minus the regions copied before the kill to do (not 64 again). Killed once it
 *     has copied at least 4 more.</li>
 * <li>A third daemon resumes with fewer still, and finishes: both legs in sync, leg 1 holds leg 0's
 *     bytes; SIGTERM ends it with exit code 0.</li>
 * </ol>
 */
class DaemonFullResyncIT {

    private static final int SIZE = 256 << 10;
    private static final int REGION = 8 * 512;
    private static final long REGIONS = SIZE / REGION;

    @TempDir
    Path dir;

    @Test
    void aFullResyncKilledTwiceResumesWithOnlyTheRegionsNotCopiedYet() throws Exception {
        Path state = dir.resolve("state");
        byte[] data = new byte[SIZE];
        new Random(23).nextBytes(data);
        Path leg0 = Files.write(dir.resolve("leg0.img"), data);
        Path leg1 = Files.write(dir.resolve("leg1.img"), new byte[SIZE]);

        long copiedFirst;
        try (RunningDaemon first = RunningDaemon.start(dir, state, "first")) {
            JsonObject made = RunningDaemon.clientJson(dir, state, "mirror", "create", "m1", "m1.log", "leg0.img",
                    "leg1.img", "--region-sectors", "8", "--bandwidth", "16384");
            assertThat(made.get("regions").getAsLong()).isEqualTo(REGIONS);
            copiedFirst = copiedAtLeast(state, 4, REGIONS);
            first.kill9();
        }

        long leftSecond;
        long copiedSecond;
        try (RunningDaemon second = RunningDaemon.start(dir, state, "second")) {
            JsonObject resumed = RunningDaemon.clientJson(dir, state, "mirror", "status", "m1");
            assertLegs(resumed, "in-sync", "resyncing");
            leftSecond = resumed.get("regionsToResync").getAsLong() + resumed.get("regionsResynced").getAsLong();
            assertThat(leftSecond).as("the full resync resumes without the regions copied before: %s", resumed)
                    .isPositive().isLessThanOrEqualTo(REGIONS - copiedFirst);
            copiedSecond = copiedAtLeast(state, 4, leftSecond);
            second.kill9();
        }

        try (RunningDaemon third = RunningDaemon.start(dir, state, "third")) {
            JsonObject resumed = RunningDaemon.clientJson(dir, state, "mirror", "status", "m1");
            long left = resumed.get("regionsToResync").getAsLong() + resumed.get("regionsResynced").getAsLong();
            assertThat(left).as("resumed again: %s", resumed).isPositive()
                    .isLessThanOrEqualTo(leftSecond - copiedSecond);
            await().atMost(RunningDaemon.WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                JsonObject m = RunningDaemon.clientJson(dir, state, "mirror", "status", "m1");
                assertLegs(m, "in-sync", "in-sync");
                assertThat(m.get("regionsToResync").getAsLong()).isZero();
                assertThat(m.get("regionsResynced").getAsLong()).as("%s", m).isEqualTo(left);
            });
            assertThat(leg0).hasBinaryContent(data);
            assertThat(leg1).as("leg 1 holds leg 0's bytes").hasBinaryContent(data);
            assertThat(third.sigterm()).as("errors: %s", third.errors()).isZero();
        }
    }

    /**
     * Waits until this daemon's resync of m1 has copied at least {@code least} regions of the
     * {@code total} it started with, and is not done.
     *
     * @return the regions it reported copied
     */
    private long copiedAtLeast(Path state, long least, long total) {
        AtomicLong copied = new AtomicLong();
        await().atMost(RunningDaemon.WAIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            JsonObject m = RunningDaemon.clientJson(dir, state, "mirror", "status", "m1");
            assertThat(m.get("state").getAsString()).isEqualTo("active");
            long toResync = m.get("regionsToResync").getAsLong();
            long resynced = m.get("regionsResynced").getAsLong();
            assertThat(toResync + resynced).as("%s", m).isEqualTo(total);
            assertThat(toResync).as("still resyncing: %s", m).isPositive();
            assertThat(resynced).isGreaterThanOrEqualTo(least);
            copied.set(resynced);
        });
        return copied.get();
    }

    private static void assertLegs(JsonObject mirror, String... states) {
        List<String> got = new ArrayList<>();
        for (JsonElement leg : mirror.getAsJsonArray("legs")) {
            got.add(leg.getAsJsonObject().get("state").getAsString());
        }
        assertThat(got).as("%s", mirror).containsExactly(states);
    }
}
