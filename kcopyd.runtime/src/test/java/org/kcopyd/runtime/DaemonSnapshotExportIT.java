package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.testdevices.Peers;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * The daemon end to end (issue 11's tests), with real processes only: {@code kcopyd daemon --state
 * DIR} started with ProcessBuilder, the thin client run as a separate {@code java -jar kcopyd.jar}
 * per command as a user types it, and NBD peers ({@code qemu-io} of qemu-utils, {@code nbdcopy} of
 * libnbd-bin) required through {@link Peers#require}.
 *
 * <p>A snapshot is taken through the daemon, its device and its origin's exported on Unix sockets;
 * a write through the origin's export reaches the origin while the snapshot's export keeps showing
 * the original bytes. After kill -9 a new daemon on the same state directory brings the snapshot
 * (with its copied chunks) and both exports back by itself, replacing the dead daemon's socket files,
 * and copy-on-write still works; SIGTERM then ends it with exit code 0 and removes what it published.
 */
class DaemonSnapshotExportIT {

    private static final int SIZE = 8 << 20;
    private static final int MIB = 1 << 20;
    /** The default chunk: 16 sectors. */
    private static final int CHUNK = 16 * 512;

    @TempDir
    Path dir;

    @Test
    void aSnapshotAndItsExportsSurviveKillMinus9AndTheDaemonEndsAtSigtermWithZero() throws Exception {
        String qemuIo = Peers.require("qemu-io", "qemu-utils").toString();
        String nbdcopy = Peers.require("nbdcopy", "libnbd-bin").toString();
        Path state = dir.resolve("state");
        byte[] original = new byte[SIZE];
        new Random(11).nextBytes(original);
        Path origin = Files.write(dir.resolve("origin.img"), original);
        Path originSocket = dir.resolve("origin.sock");
        Path snapSocket = dir.resolve("snap.sock");
        String originUri = "nbd+unix:///origin?socket=" + originSocket;
        String snapUri = "nbd+unix:///snap?socket=" + snapSocket;

        try (RunningDaemon first = RunningDaemon.start(dir, state, "first")) {
            // Relative paths, as a user types them: the client makes them absolute against its directory.
            JsonObject created = RunningDaemon.clientJson(dir, state, "snapshot", "create", "s1", "origin.img", "s1.cow");
            assertThat(created.get("name").getAsString()).isEqualTo("s1");
            assertThat(created.get("origin").getAsString()).isEqualTo(origin.toString());
            assertThat(created.get("cowStore").getAsString()).isEqualTo(dir.resolve("s1.cow").toString());
            assertThat(created.get("state").getAsString()).isEqualTo("active");
            String storeId = created.get("cowStoreId").getAsString();
            assertThat(dir.resolve("s1.cow")).exists();

            JsonObject originExport = RunningDaemon.clientJson(dir, state, "export", "add", "origin", "origin:s1",
                    "--socket", "origin.sock");
            assertThat(originExport.get("state").getAsString()).isEqualTo("serving");
            assertThat(originExport.get("uri").getAsString()).isEqualTo(originUri);
            JsonObject snapExport = RunningDaemon.clientJson(dir, state, "export", "add", "snap", "snapshot:s1",
                    "--socket", snapSocket.toString());
            assertThat(snapExport.get("state").getAsString()).isEqualTo("serving");
            assertThat(snapExport.get("uri").getAsString()).isEqualTo(snapUri);

            // 1 MiB of 0xab at 1 MiB through the origin's export.
            assertThat(RunningDaemon.peer(dir, qemuIo, "-f", "raw", "-c", "write -P 0xab 1M 1M", originUri))
                    .contains("wrote 1048576/1048576 bytes");
            byte[] changed = original.clone();
            Arrays.fill(changed, MIB, 2 * MIB, (byte) 0xab);
            assertExport(nbdcopy, snapUri, "snap-1.img", original);
            assertExport(nbdcopy, originUri, "origin-1.img", changed);
            assertThat(origin).as("the write reached the origin file").hasBinaryContent(changed);

            JsonObject listed = onlySnapshot(RunningDaemon.clientJson(dir, state, "snapshot", "list"));
            assertThat(listed.get("name").getAsString()).isEqualTo("s1");
            assertThat(listed.get("state").getAsString()).isEqualTo("active");
            assertThat(listed.get("cowStoreId").getAsString()).isEqualTo(storeId);
            assertThat(listed.get("chunksUsed").getAsLong()).as("the chunks the write copied first").isEqualTo(MIB / CHUNK);
            assertThat(RunningDaemon.clientOk(dir, state, "snapshot", "list").out())
                    .startsWith("s1  active  " + MIB / CHUNK + "/");

            first.kill9();
            assertThat(originSocket).as("kill -9 leaves the socket file behind").exists();
            assertThat(listens(originSocket)).isFalse();
            assertThat(snapSocket).exists();
            assertThat(listens(snapSocket)).isFalse();
            KcopydProcess.Run dead = RunningDaemon.client(dir, state, "snapshot", "list");
            assertThat(dead.exit()).isEqualTo(1);
            assertThat(dead.err()).isEqualTo("kcopyd: no kcopyd daemon for " + state + "; start one with kcopyd daemon "
                    + "--state " + state + "\n");

            try (RunningDaemon second = RunningDaemon.start(dir, state, "second")) {
                // Nothing is sent again: the daemon restores the snapshot and the exports from its state directory.
                await().atMost(RunningDaemon.WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                    JsonObject exports = RunningDaemon.clientJson(dir, state, "export", "list");
                    assertThat(exports.getAsJsonArray("exports")).hasSize(2);
                    for (JsonElement e : exports.getAsJsonArray("exports")) {
                        assertThat(e.getAsJsonObject().get("state").getAsString()).as("%s", e).isEqualTo("serving");
                    }
                });
                // A dead socket file cannot be listened on again: one that listens was made anew.
                assertThat(listens(originSocket)).as("the stale socket file was replaced").isTrue();
                assertThat(listens(snapSocket)).as("the stale socket file was replaced").isTrue();
                JsonObject back = onlySnapshot(RunningDaemon.clientJson(dir, state, "snapshot", "list"));
                assertThat(back.get("state").getAsString()).isEqualTo("active");
                assertThat(back.get("cowStoreId").getAsString()).isEqualTo(storeId);
                assertThat(back.get("chunksUsed").getAsLong()).isEqualTo(MIB / CHUNK);
                assertExport(nbdcopy, snapUri, "snap-2.img", original);
                assertExport(nbdcopy, originUri, "origin-2.img", changed);

                // Copy-on-write goes on after the restart: 64 KiB of 0xcd at 4 MiB, the snapshot unchanged.
                assertThat(RunningDaemon.peer(dir, qemuIo, "-f", "raw", "-c", "write -P 0xcd 4M 64K", originUri))
                        .contains("wrote 65536/65536 bytes");
                Arrays.fill(changed, 4 * MIB, 4 * MIB + 65536, (byte) 0xcd);
                assertExport(nbdcopy, snapUri, "snap-3.img", original);
                assertExport(nbdcopy, originUri, "origin-3.img", changed);
                assertThat(onlySnapshot(RunningDaemon.clientJson(dir, state, "snapshot", "list")).get("chunksUsed")
                        .getAsLong()).isEqualTo((MIB + 65536) / CHUNK);

                assertThat(second.sigterm()).as("SIGTERM is a normal stop; errors: %s", second.errors()).isZero();
                assertThat(state.resolve("control.json")).as("a stopped daemon withdraws control.json").doesNotExist();
                assertThat(originSocket).as("a stopped export removes its socket").doesNotExist();
                assertThat(snapSocket).doesNotExist();
            }
        }
        assertThat(Files.readAllBytes(origin)).isEqualTo(changedAfterBothWrites(original));
    }

    /**
     * An exported file swapped for another at its path while the daemon was down (moved over it, restored from a
     * backup) is not served at the next start: the export says why, naming both identities, and the file is left as
     * it is. Removed and added again, the file now there is served.
     */
    @Test
    void anotherFileAtAnExportedPathIsNotServedAfterARestart() throws Exception {
        String nbdcopy = Peers.require("nbdcopy", "libnbd-bin").toString();
        Path state = dir.resolve("state");
        byte[] first = new byte[MIB];
        new Random(21).nextBytes(first);
        Path disk = Files.write(dir.resolve("disk.img"), first);
        Path socket = dir.resolve("d.sock");
        String uri = "nbd+unix:///d?socket=" + socket;
        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "before")) {
            RunningDaemon.clientOk(dir, state, "export", "add", "d", "disk.img", "--socket", "d.sock");
            assertExport(nbdcopy, uri, "d-1.img", first);
            assertThat(daemon.sigterm()).as("errors: %s", daemon.errors()).isZero();
        }
        byte[] second = new byte[MIB];
        new Random(22).nextBytes(second);
        Files.move(Files.write(dir.resolve("restored.img"), second), disk, StandardCopyOption.REPLACE_EXISTING);

        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "after")) {
            await().atMost(RunningDaemon.WAIT).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                JsonObject d = RunningDaemon.clientJson(dir, state, "export", "list").getAsJsonArray("exports").get(0)
                        .getAsJsonObject();
                assertThat(d.get("state").getAsString()).as("%s", d).isEqualTo("failed");
                assertThat(d.get("reason").getAsString()).contains("device " + disk + " is file:")
                        .contains("another file or disk is at that path now");
            });
            assertThat(listens(socket)).as("nothing served").isFalse();
            assertThat(disk).hasBinaryContent(second);

            RunningDaemon.clientOk(dir, state, "export", "remove", "d");
            RunningDaemon.clientOk(dir, state, "export", "add", "d", "disk.img", "--socket", "d.sock");
            assertExport(nbdcopy, uri, "d-2.img", second);
            assertThat(daemon.sigterm()).as("errors: %s", daemon.errors()).isZero();
        }
    }

    private static byte[] changedAfterBothWrites(byte[] original) {
        byte[] b = original.clone();
        Arrays.fill(b, MIB, 2 * MIB, (byte) 0xab);
        Arrays.fill(b, 4 * MIB, 4 * MIB + 65536, (byte) 0xcd);
        return b;
    }

    /** Copies an export to a new file with nbdcopy and compares it with {@code expected}. */
    private void assertExport(String nbdcopy, String uri, String file, byte[] expected) {
        RunningDaemon.peer(dir, nbdcopy, uri, dir.resolve(file).toString());
        assertThat(dir.resolve(file)).as("%s read by nbdcopy", uri).hasBinaryContent(expected);
    }

    private static JsonObject onlySnapshot(JsonObject list) {
        assertThat(list.getAsJsonArray("snapshots")).as("%s", list).hasSize(1);
        return list.getAsJsonArray("snapshots").get(0).getAsJsonObject();
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
