package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * A copy run by the daemon as a job and cancelled, with real processes (issue 11's tests): the engine's
 * default throttle is set through the daemon ({@code config set throttleBytesPerSecond=1048576}) so that
 * a 32 MiB copy takes half a minute; {@code copy --daemon --no-wait} starts it, {@code jobs} shows it
 * running, {@code jobs cancel ID} stops it and names the destination as incomplete. The destination, a
 * file that held a pattern, then holds the source's bytes up to where the job stopped (the job's
 * {@code bytesDone}) and the pattern, untouched, from there to its end. A destination removed while the
 * daemon writes it fails the job, naming it: what was written is not at its name.
 */
class DaemonCopyCancelIT {

    private static final int SIZE = 32 << 20;
    private static final byte PATTERN = 0x5a;

    @TempDir
    Path dir;

    @Test
    void aCancelledDaemonCopyStopsAndLeavesTheRestOfItsDestinationUntouched() throws Exception {
        Path state = dir.resolve("state");
        byte[] source = new byte[SIZE];
        new Random(23).nextBytes(source);
        Path src = Files.write(dir.resolve("src.img"), source);
        byte[] pattern = new byte[SIZE];
        Arrays.fill(pattern, PATTERN);
        Path dst = Files.write(dir.resolve("dst.img"), pattern);

        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "jobs")) {
            JsonObject config = RunningDaemon.clientJson(dir, state, "config", "set", "throttleBytesPerSecond=1048576");
            assertThat(config.getAsJsonObject("configuration").get("throttleBytesPerSecond").getAsLong())
                    .isEqualTo(1 << 20);

            JsonObject started = RunningDaemon.clientJson(dir, state, "copy", "--daemon", "src.img", "dst.img",
                    "--no-wait");
            String id = started.get("id").getAsString();
            assertThat(started.get("kind").getAsString()).isEqualTo("copy");
            assertThat(started.get("bytesTotal").getAsLong()).isEqualTo(SIZE);

            AtomicReference<JsonObject> running = new AtomicReference<>();
            await().atMost(RunningDaemon.WAIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                JsonObject job = job(RunningDaemon.clientJson(dir, state, "jobs"), id);
                assertThat(job.get("state").getAsString()).as("%s", job).isEqualTo("running");
                assertThat(job.get("bytesDone").getAsLong()).as("%s", job).isGreaterThanOrEqualTo(2 << 20);
                running.set(job);
            });
            assertThat(running.get().get("description").getAsString()).contains(src.toString()).contains(dst.toString());
            assertThat(RunningDaemon.clientOk(dir, state, "jobs").out()).contains(id + "  copy  running  ");

            KcopydProcess.Run cancel = RunningDaemon.clientOk(dir, state, "jobs", "cancel", id);
            assertThat(cancel.out()).startsWith(id + "  copy  cancelled  ").contains("  incomplete: " + dst + "\n");
            JsonObject ended = RunningDaemon.clientJson(dir, state, "jobs", id);
            assertThat(ended.get("state").getAsString()).isEqualTo("cancelled");
            JsonObject destination = ended.getAsJsonObject("result").getAsJsonArray("destinations").get(0)
                    .getAsJsonObject();
            assertThat(destination.get("device").getAsString()).isEqualTo(dst.toString());
            assertThat(destination.get("complete").getAsBoolean()).isFalse();
            assertThat(destination.get("error").isJsonNull()).isTrue();
            long done = ended.get("bytesDone").getAsLong();
            assertThat(done).as("stopped well before the end").isBetween(2L << 20, SIZE / 2L);

            byte[] now = Files.readAllBytes(dst);
            assertThat(now).hasSize(SIZE);
            assertThat(Arrays.copyOf(now, (int) done)).as("the source's bytes up to bytesDone")
                    .isEqualTo(Arrays.copyOf(source, (int) done));
            assertThat(Arrays.copyOfRange(now, (int) done, SIZE)).as("the destination beyond bytesDone is untouched")
                    .isEqualTo(Arrays.copyOfRange(pattern, (int) done, SIZE));
            assertThat(src).as("the source is only read").hasBinaryContent(source);
            assertThat(daemon.sigterm()).as("errors: %s", daemon.errors()).isZero();
        }
    }

    @Test
    void aDestinationRemovedWhileTheDaemonWritesItFailsTheJob() throws Exception {
        Path state = dir.resolve("state");
        byte[] source = new byte[6 << 20];
        new Random(29).nextBytes(source);
        Files.write(dir.resolve("src.img"), source);
        Path dst = dir.resolve("dst.img");
        Path kept = dir.resolve("kept.img");

        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "jobs")) {
            RunningDaemon.clientJson(dir, state, "config", "set", "throttleBytesPerSecond=1048576");
            String id = RunningDaemon.clientJson(dir, state, "copy", "--daemon", "src.img", "dst.img", "kept.img",
                    "--no-wait").get("id").getAsString();
            await().atMost(RunningDaemon.WAIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
                    assertThat(job(RunningDaemon.clientJson(dir, state, "jobs"), id).get("bytesDone").getAsLong())
                            .isGreaterThanOrEqualTo(1 << 20));
            Files.delete(dst);

            AtomicReference<JsonObject> ended = new AtomicReference<>();
            await().atMost(RunningDaemon.WAIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                JsonObject job = RunningDaemon.clientJson(dir, state, "jobs", id);
                assertThat(job.get("endedAt").isJsonNull()).as("%s", job).isFalse();
                ended.set(job);
            });
            assertThat(ended.get().get("state").getAsString()).isEqualTo("failed");
            JsonObject lost = ended.get().getAsJsonObject("result").getAsJsonArray("destinations").get(0)
                    .getAsJsonObject();
            assertThat(lost.get("complete").getAsBoolean()).isFalse();
            assertThat(lost.get("error").getAsString()).isEqualTo("it was removed while kcopyd wrote it; what was "
                    + "written is not at that name");
            JsonObject other = ended.get().getAsJsonObject("result").getAsJsonArray("destinations").get(1)
                    .getAsJsonObject();
            assertThat(other.get("complete").getAsBoolean()).isTrue();
            assertThat(kept).hasBinaryContent(source);
            assertThat(dst).doesNotExist();
            assertThat(daemon.sigterm()).as("errors: %s", daemon.errors()).isZero();
        }
    }

    private static JsonObject job(JsonObject list, String id) {
        for (JsonElement e : list.getAsJsonArray("jobs")) {
            if (e.getAsJsonObject().get("id").getAsString().equals(id)) {
                return e.getAsJsonObject();
            }
        }
        throw new AssertionError("job " + id + " is not listed: " + list);
    }
}
