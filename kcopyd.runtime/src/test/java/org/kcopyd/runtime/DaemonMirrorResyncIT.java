package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.testdevices.Peers;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * A mirror in the daemon killed twice, with real processes (issue 11's tests): leg 0 a file, leg 1 a
 * file served by {@code nbdkit} (nbdkit package) on a Unix socket, the mirror's device exported by the
 * daemon and written by {@code qemu-io} (qemu-utils).
 *
 * <ol>
 * <li>The mirror is made, resynced and removed cleanly, then made again on its region log
 *     ({@code --log-id}): in sync at once, with a resync cap of 8192 bytes per second (two 4 KiB regions
 *     a second: the 32 regions below take 16 s, and status is asked in a process of its own).</li>
 * <li>nbdkit now delays every write by 60 s, so a 128 KiB write through the mirror's export (32 regions)
 *     reaches leg 0 and stays in flight on leg 1. Leg 0 is written only after the regions are marked
 *     dirty durably in the log; once leg 0 holds the new bytes the daemon is killed (kill -9), and
 *     nbdkit too, so leg 1 never gets them.</li>
 * <li>A new daemon resyncs exactly those 32 regions, not the mirror's 256 ({@code mirror status
 *     --json}: regions to resync plus regions resynced). It is killed again mid-resync, after at least
 *     4 regions were copied.</li>
 * <li>A third daemon resumes with only the regions still dirty: fewer than 32, at most 32 minus those
 *     reported copied before the kill; at the end leg 1 holds exactly leg 0's bytes, and SIGTERM ends
 *     the daemon with exit code 0.</li>
 * </ol>
 */
class DaemonMirrorResyncIT {

    private static final int SIZE = 1 << 20;
    private static final int REGION = 8 * 512;
    private static final int WRITTEN = 128 << 10;
    private static final long DIRTY = WRITTEN / REGION;

    @TempDir
    Path dir;
    private final List<Process> peers = new ArrayList<>();

    @AfterEach
    void stopPeers() throws InterruptedException {
        for (Process p : peers) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aMirrorKilledMidResyncResumesWithOnlyItsDirtyRegions() throws Exception {
        String nbdkit = Peers.require("nbdkit", "nbdkit").toString();
        String qemuIo = Peers.require("qemu-io", "qemu-utils").toString();
        Path state = dir.resolve("state");
        byte[] data = new byte[SIZE];
        new Random(17).nextBytes(data);
        Path leg0 = Files.write(dir.resolve("leg0.img"), data);
        Path leg1 = Files.write(dir.resolve("leg1.img"), new byte[SIZE]);
        Path socket = dir.resolve("leg1.sock");
        String leg1Uri = "nbd+unix:///?socket=" + socket;
        Process server = nbdkit(nbdkit, socket, leg1, false);

        String logId;
        try (RunningDaemon first = RunningDaemon.start(dir, state, "first")) {
            JsonObject made = RunningDaemon.clientJson(dir, state, "mirror", "create", "m1", "m1.log", "leg0.img",
                    leg1Uri, "--region-sectors", "8", "--wait");
            assertLegs(made, "in-sync", "in-sync");
            assertThat(made.get("regions").getAsLong()).isEqualTo(SIZE / REGION);
            logId = made.get("regionLogId").getAsString();
            assertThat(leg1).as("the new leg was resynced from leg 0").hasBinaryContent(data);
            // The printed command makes the mirror again as it was: its region size, which its log refuses another of.
            assertThat(RunningDaemon.clientOk(dir, state, "mirror", "remove", "m1").out()).contains("to use them again: "
                    + "mirror create m1 " + dir.resolve("m1.log") + " ").contains(" --region-sectors 8 --log-id " + logId);

            stop(server);
            server = nbdkit(nbdkit, socket, leg1, true);
            JsonObject again = RunningDaemon.clientJson(dir, state, "mirror", "create", "m1", "m1.log", "leg0.img",
                    leg1Uri, "--region-sectors", "8", "--bandwidth", "8192", "--log-id", logId);
            assertLegs(again, "in-sync", "in-sync");
            assertThat(again.get("regionsToResync").getAsLong()).as("a log closed cleanly needs no resync").isZero();
            assertThat(again.get("regionSectors").getAsLong()).isEqualTo(8);
            assertThat(again.get("throttleBytesPerSecond").getAsLong()).isEqualTo(8192);
            RunningDaemon.clientJson(dir, state, "export", "add", "m", "mirror:m1", "--socket", "m.sock");

            Process write = new ProcessBuilder(qemuIo, "-f", "raw", "-c", "write -P 0xee 0 128k",
                    "nbd+unix:///m?socket=" + dir.resolve("m.sock")).directory(dir.toFile())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("qemu-io.out").toFile()).start();
            peers.add(write);
            byte[] ee = new byte[WRITTEN];
            Arrays.fill(ee, (byte) 0xee);
            await().atMost(RunningDaemon.WAIT).pollInterval(Duration.ofMillis(50)).untilAsserted(() ->
                    assertThat(Arrays.copyOf(Files.readAllBytes(leg0), WRITTEN)).as("leg 0 written").isEqualTo(ee));
            assertThat(write.isAlive()).as("the write waits for leg 1 (nbdkit delays it by 60 s)").isTrue();
            first.kill9();
        }
        stop(server);
        assertThat(Arrays.copyOf(Files.readAllBytes(leg1), WRITTEN)).as("leg 1 never got the write")
                .isEqualTo(Arrays.copyOf(data, WRITTEN));
        server = nbdkit(nbdkit, socket, leg1, false);

        long copiedBeforeKill;
        try (RunningDaemon second = RunningDaemon.start(dir, state, "second")) {
            AtomicLong copied = new AtomicLong();
            await().atMost(RunningDaemon.WAIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                JsonObject m = RunningDaemon.clientJson(dir, state, "mirror", "status", "m1");
                assertThat(m.get("state").getAsString()).isEqualTo("active");
                long toResync = m.get("regionsToResync").getAsLong();
                long resynced = m.get("regionsResynced").getAsLong();
                assertThat(toResync + resynced).as("only the regions written when the daemon died: %s", m)
                        .isEqualTo(DIRTY);
                assertThat(toResync).as("still resyncing: %s", m).isPositive();
                assertThat(resynced).isGreaterThanOrEqualTo(4);
                copied.set(resynced);
            });
            copiedBeforeKill = copied.get();
            second.kill9();
        }

        try (RunningDaemon third = RunningDaemon.start(dir, state, "third")) {
            // Its leg named by URI is opened on a thread of its own: the mirror is active once it has.
            JsonObject resumed = await().atMost(RunningDaemon.WAIT).pollInterval(Duration.ofMillis(200)).until(
                    () -> RunningDaemon.clientJson(dir, state, "mirror", "status", "m1"),
                    m -> m.get("state").getAsString().equals("active"));
            long left = resumed.get("regionsToResync").getAsLong() + resumed.get("regionsResynced").getAsLong();
            assertThat(left).as("the resync resumes with the regions still dirty: %s", resumed)
                    .isPositive().isLessThanOrEqualTo(DIRTY - copiedBeforeKill);
            await().atMost(RunningDaemon.WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                JsonObject m = RunningDaemon.clientJson(dir, state, "mirror", "status", "m1");
                assertLegs(m, "in-sync", "in-sync");
                assertThat(m.get("regionsToResync").getAsLong()).isZero();
                assertThat(m.get("regionsResynced").getAsLong()).as("%s", m).isEqualTo(left);
            });
            byte[] expected = data.clone();
            Arrays.fill(expected, 0, WRITTEN, (byte) 0xee);
            assertThat(leg0).hasBinaryContent(expected);
            assertThat(leg1).as("leg 1 holds leg 0's bytes").hasBinaryContent(expected);
            assertThat(third.sigterm()).as("errors: %s", third.errors()).isZero();
        }
        stop(server);
    }

    private static void assertLegs(JsonObject mirror, String... states) {
        List<String> got = new ArrayList<>();
        for (JsonElement leg : mirror.getAsJsonArray("legs")) {
            got.add(leg.getAsJsonObject().get("state").getAsString());
        }
        assertThat(got).as("%s", mirror).containsExactly(states);
    }

    /** Starts nbdkit serving {@code file} on {@code socket}, writes delayed by 60 s if asked; waits until it listens. */
    private Process nbdkit(String nbdkit, Path socket, Path file, boolean slowWrites) throws IOException {
        List<String> command = new ArrayList<>(List.of(nbdkit, "--foreground", "--exit-with-parent", "--unix",
                socket.toString()));
        if (slowWrites) {
            command.add("--filter=delay");
        }
        command.addAll(List.of("file", file.toString()));
        if (slowWrites) {
            command.add("wdelay=60");
        }
        Files.deleteIfExists(socket); // a killed nbdkit leaves its socket behind
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("nbdkit-" + peers.size() + ".out").toFile()).start();
        peers.add(p);
        await().atMost(RunningDaemon.WAIT).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
            assertThat(p.isAlive()).as("nbdkit runs: %s", String.join(" ", command)).isTrue();
            assertThat(listens(socket)).isTrue();
        });
        return p;
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroyForcibly();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }

    private static boolean listens(Path socket) {
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
