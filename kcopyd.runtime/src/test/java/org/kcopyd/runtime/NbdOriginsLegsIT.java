package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.testdevices.Peers;

/**
 * NBD exports as a mirror's leg and a snapshot's origin, through the runtime jar against nbdkit's
 * {@code memory} plugin (issue 10): {@code mirror create m log.img a.img nbd+unix:///?socket=S --wait},
 * sent to a daemon (issue 11), resyncs the export from the file, and the export read back by our
 * client equals the file; a
 * snapshot whose origin is an nbdkit export, configured in {@code --config-dir} with its origin
 * and itself exported by {@code org.kcopyd.nbd.export} (a one-shot command cannot write through an
 * origin: the origin device lives only while the process does), written through its origin's
 * export: nbdkit's export holds the write, the snapshot's export the content before it. nbdkit is
 * required with {@link Peers#require} (skipped when missing, failed with
 * {@code -Dkcopyd.peers.required=true}).
 */
class NbdOriginsLegsIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    /** The socket of the snapshots' nbdkit in the restart tests. */
    private static final String DISK_SOCKET = "disk.sock";

    @TempDir
    Path dir;
    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (Process p : processes) {
            p.toHandle().destroy();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    private Path image(String name, int size, long seed) throws IOException {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        return Files.write(dir.resolve(name), data);
    }

    /**
     * Starts {@code nbdkit memory SIZE} on a Unix socket in the test directory, with nbdkit's
     * {@code options} if any ({@code -r}: read-only); returns its URI.
     */
    private String nbdkitMemory(String socketName, String size, String... options) throws Exception {
        String nbdkit = Peers.require("nbdkit", "nbdkit").toString();
        Path socket = dir.resolve(socketName);
        List<String> command = new ArrayList<>(List.of(nbdkit, "--foreground", "--exit-with-parent", "--unix",
            socket.toString()));
        command.addAll(Arrays.asList(options));
        command.addAll(List.of("memory", size));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        processes.add(p);
        await().atMost(WAIT).until(() -> Files.exists(socket));
        return "nbd+unix:///?socket=" + socket;
    }

    /** Starts {@code nbdkit file FILE} on a Unix socket in the test directory (again, after a stop); returns it. */
    private Process nbdkitFile(Path socket, Path file) throws Exception {
        String nbdkit = Peers.require("nbdkit", "nbdkit").toString();
        Files.deleteIfExists(socket);
        Process p = new ProcessBuilder(nbdkit, "--foreground", "--exit-with-parent", "--unix", socket.toString(),
            "file", file.toString()).directory(dir.toFile()).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("nbdkit.out").toFile())).start();
        processes.add(p);
        await().atMost(WAIT).until(() -> Files.exists(socket));
        return p;
    }

    /** What a test does with a running daemon. */
    private interface DaemonStep {
        void run() throws Exception;
    }

    /**
     * Serves {@code disk} with nbdkit at {@link #DISK_SOCKET}, makes snapshot s1 of that export in a
     * daemon with its state in {@code state} and runs {@code meanwhile}, then stops the daemon
     * (cleanly) and nbdkit.
     *
     * @return the export's URI
     */
    private String snapshotThenStop(Path disk, Path state, DaemonStep meanwhile) throws Exception {
        Path socket = dir.resolve(DISK_SOCKET);
        String export = "nbd+unix:///?socket=" + socket;
        Process server = nbdkitFile(socket, disk);
        try (RunningDaemon first = RunningDaemon.start(dir, state, "first")) {
            RunningDaemon.clientOk(dir, state, "snapshot", "create", "s1", export, "s1.cow", "--size-mib", "16");
            meanwhile.run();
            assertThat(first.sigterm()).as("errors: %s", first.errors()).isZero();
        }
        server.toHandle().destroy();
        assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
        Files.deleteIfExists(socket);
        return export;
    }

    private void copy(String... args) {
        List<String> words = new ArrayList<>(List.of("copy"));
        words.addAll(List.of(args));
        KcopydProcess.Run r = KcopydProcess.run(dir, words.toArray(new String[0]));
        assertThat(r.exit()).as(String.join(" ", words) + ": " + r.err()).isZero();
    }

    @Test
    void aMirrorWithAnNbdkitLegResyncsItFromTheFileLeg() throws Exception {
        String export = nbdkitMemory("mem.sock", "64M");
        Path a = image("a.img", 64 << 20, 1);

        Path state = dir.resolve("state");
        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "mirror")) {
            KcopydProcess.Run r = RunningDaemon.clientOk(dir, state, "mirror", "create", "m", "log.img", "a.img", export,
                    "--wait");
            assertThat(r.out()).contains("m  128 regions  in sync").contains("leg 0  in-sync  " + a)
                    .contains("leg 1  in-sync  " + export);

            // H39: the leg's export was accepted as a snapshot's origin and as another mirror's leg.
            KcopydProcess.Run origin = RunningDaemon.client(dir, state, "snapshot", "create", "s9", export, "s9.cow");
            assertThat(origin.exit()).as("the leg as a snapshot's origin").isNotZero();
            assertThat(origin.err()).contains(" is open for writing by bundle kcopyd.mirror already (in this process)");
            image("b.img", 64 << 20, 2);
            KcopydProcess.Run second = RunningDaemon.client(dir, state, "mirror", "create", "m3", "m3.log", "b.img",
                    export);
            assertThat(second.exit()).as("the leg as another mirror's").isNotZero();
            assertThat(second.err()).contains(" is open for writing by bundle kcopyd.mirror already (in this process)");

            copy(export, "back.img");
            assertThat(dir.resolve("back.img")).as("the leg, written by its mirror only").hasSameBinaryContentAs(a);
            assertThat(dir.resolve("s9.cow")).doesNotExist();
            RunningDaemon.clientOk(dir, state, "mirror", "remove", "m");
            assertThat(daemon.sigterm()).as("errors: %s", daemon.errors()).isZero();
        }
    }

    /**
     * A daemon restarted while the NBD server of a snapshot's origin is down: the snapshot waits,
     * and the control API says why (the cause, the attempt, when the next is made: the snapshot
     * component's not-open status), not a generic guess; once nbdkit serves the export again the
     * snapshot opens by itself with its COW store, showing the origin as it was.
     */
    @Test
    void aSnapshotWhoseNbdServerIsDownAtDaemonStartSaysWhyAndOpensOnceTheServerIsBack() throws Exception {
        Path disk = image("disk.img", 4 << 20, 4);
        byte[] original = Files.readAllBytes(disk);
        Path state = dir.resolve("state");
        String export = snapshotThenStop(disk, state, () -> {
            RunningDaemon.clientOk(dir, state, "export", "add", "origin", "origin:s1", "--socket", "origin.sock");
            copy("--flush", image("written.img", 1 << 20, 5).toString(), "nbd+unix:///origin?socket="
                + dir.resolve("origin.sock"));
        });
        Path socket = dir.resolve(DISK_SOCKET);

        try (RunningDaemon second = RunningDaemon.start(dir, state, "second")) {
            DaemonApi api = new DaemonApi(state);
            await().atMost(WAIT).untilAsserted(() -> {
                var s1 = api.get("/api/v1/snapshots/s1");
                assertThat(s1.get("state").getAsString()).isEqualTo("waiting");
                assertThat(s1.get("invalidReason").getAsString()).as("why, in the component's words")
                    .contains("snapshot 's1'", export)
                    .containsPattern("\\(attempt [0-9]+ (under way|failed; next attempt in [0-9]+ (s|ms))\\)$")
                    .doesNotContain(export + ": " + export);
                // An export of the snapshot's origin says why too (it said '0 BlockDevice services match (&(...))').
                var origin = api.get("/api/v1/exports/origin");
                assertThat(origin.get("state").getAsString()).isEqualTo("waiting");
                assertThat(origin.get("reason").getAsString()).startsWith("its device origin:s1 is not open: snapshot 's1': "
                    + "cannot open its origin " + export);
            });
            KcopydProcess.Run refused = RunningDaemon.client(dir, state, "export", "add", "snap", "snapshot:s1",
                "--socket", "snap.sock", "--read-only");
            assertThat(refused.exit()).as("an export of a snapshot that is not open").isNotZero();
            assertThat(refused.err()).contains("snapshot s1 is waiting (snapshot 's1': cannot open its origin "
                + export);

            nbdkitFile(socket, disk);
            await().atMost(WAIT).untilAsserted(() -> assertThat(api.get("/api/v1/snapshots/s1").get("state")
                .getAsString()).isEqualTo("active"));
            RunningDaemon.clientOk(dir, state, "export", "add", "snap", "snapshot:s1", "--socket", "snap.sock",
                "--read-only");
            copy("nbd+unix:///snap?socket=" + dir.resolve("snap.sock"), "snap-copy.img");
            assertThat(Files.readAllBytes(dir.resolve("snap-copy.img"))).as("the snapshot, as the origin was")
                .isEqualTo(original);
            assertThat(second.sigterm()).as("errors: %s", second.errors()).isZero();
        }
    }

    /**
     * A daemon restarted with another disk of the same size served at the address of a snapshot's
     * origin: the snapshot is refused at the attempt that reaches it (its COW store recorded the
     * disk it left), nothing is written, and the API and {@code snapshot list} say {@code failed}
     * with why (it said {@code waiting} for ever, and a script polling for a change waited with it);
     * the way back it advises (the right disk served, the snapshot removed and created again with
     * its store's identity) adopts the store as it was.
     */
    @Test
    void aSnapshotWhoseServerComesBackWithAnotherDiskIsListedAsFailed() throws Exception {
        Path other = image("other.img", 4 << 20, 6);
        byte[] otherBefore = Files.readAllBytes(other);
        Path disk = image("disk.img", 4 << 20, 4);
        Path state = dir.resolve("state");
        String export = snapshotThenStop(disk, state, () -> { });
        Process wrong = nbdkitFile(dir.resolve(DISK_SOCKET), other);
        byte[] cowBefore = Files.readAllBytes(dir.resolve("s1.cow"));

        try (RunningDaemon second = RunningDaemon.start(dir, state, "second")) {
            DaemonApi api = new DaemonApi(state);
            await().atMost(WAIT).untilAsserted(() -> {
                var s1 = api.get("/api/v1/snapshots/s1");
                assertThat(s1.get("state").getAsString()).isEqualTo("failed");
                assertThat(s1.get("invalidReason").getAsString()).as("why, in the component's words")
                    .contains("snapshot 's1'", "(refused: not tried again until");
            });
            KcopydProcess.Run list = RunningDaemon.clientOk(dir, state, "snapshot", "list");
            assertThat(list.out()).startsWith("s1  failed  id ").doesNotContain("chunks");
            assertThat(Files.readAllBytes(dir.resolve("s1.cow"))).as("the COW store untouched").isEqualTo(cowBefore);
            assertThat(Files.readAllBytes(other)).as("the other disk untouched").isEqualTo(otherBefore);

            // The way back the refusal gives: the right disk served again, the snapshot removed and created with its store.
            String id = api.get("/api/v1/snapshots/s1").get("cowStoreId").getAsString();
            assertThat(api.get("/api/v1/snapshots/s1").get("invalidReason").getAsString())
                .contains("snapshot remove, then snapshot create with --cow-store-id " + id + ": the store is adopted");
            wrong.toHandle().destroy();
            assertThat(wrong.waitFor(30, TimeUnit.SECONDS)).isTrue();
            nbdkitFile(dir.resolve(DISK_SOCKET), disk);
            RunningDaemon.clientOk(dir, state, "snapshot", "remove", "s1");
            RunningDaemon.clientOk(dir, state, "snapshot", "create", "s1", export, "s1.cow", "--size-mib", "16",
                "--cow-store-id", id);
            var s1 = api.get("/api/v1/snapshots/s1");
            assertThat(s1.get("state").getAsString()).as("adopted as it was").isEqualTo("active");
            assertThat(s1.get("cowStoreId").getAsString()).isEqualTo(id);
            assertThat(second.sigterm()).as("errors: %s", second.errors()).isZero();
        }
    }

    /**
     * H40 finding 4: nbdkit restarted while a snapshot of its export is open. The snapshot said
     * {@code active} while every origin write and every read of an uncopied chunk failed, until it
     * was removed and created again. It now goes {@code waiting} when the connection drops, and is
     * adopted again (checked as at a start) once nbdkit serves the disk again: writes through the
     * origin's export reach the disk, and the snapshot's export shows the disk as it was.
     */
    @Test
    void aSnapshotWhoseNbdServerRestartsIsAdoptedAgainOnceItIsBack() throws Exception {
        Path disk = image("disk.img", 4 << 20, 8);
        byte[] original = Files.readAllBytes(disk);
        Path socket = dir.resolve(DISK_SOCKET);
        String export = "nbd+unix:///?socket=" + socket;
        Process server = nbdkitFile(socket, disk);
        Path state = dir.resolve("state");
        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "restart")) {
            RunningDaemon.clientOk(dir, state, "snapshot", "create", "s1", export, "s1.cow", "--size-mib", "16");
            RunningDaemon.clientOk(dir, state, "export", "add", "origin", "origin:s1", "--socket", "origin.sock");
            DaemonApi api = new DaemonApi(state);

            // Killed (nbdkit's SIGTERM waits for its clients to leave): the kernel closes the connection.
            server.toHandle().destroyForcibly();
            assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
            await().atMost(WAIT).untilAsserted(() -> {
                var s1 = api.get("/api/v1/snapshots/s1");
                assertThat(s1.get("state").getAsString()).as("not open while its server is gone").isEqualTo("waiting");
                assertThat(s1.get("invalidReason").getAsString()).contains("snapshot 's1'", export);
            });

            nbdkitFile(socket, disk);
            await().atMost(WAIT).untilAsserted(() -> assertThat(api.get("/api/v1/snapshots/s1").get("state")
                .getAsString()).isEqualTo("active"));
            Path written = image("written.img", 1 << 20, 9);
            await().atMost(WAIT).untilAsserted(() -> assertThat(api.get("/api/v1/exports/origin").get("state")
                .getAsString()).isEqualTo("serving"));
            copy("--flush", written.toString(), "nbd+unix:///origin?socket=" + dir.resolve("origin.sock"));
            RunningDaemon.clientOk(dir, state, "export", "add", "snap", "snapshot:s1", "--socket", "snap.sock",
                "--read-only");
            copy("nbd+unix:///snap?socket=" + dir.resolve("snap.sock"), "snap-copy.img");
            assertThat(Files.readAllBytes(dir.resolve("snap-copy.img"))).as("the snapshot, as the disk was")
                .isEqualTo(original);
            byte[] now = Files.readAllBytes(disk);
            assertThat(Arrays.copyOf(now, 1 << 20)).as("the disk, written through the origin")
                .isEqualTo(Files.readAllBytes(written));
            assertThat(daemon.sigterm()).as("errors: %s", daemon.errors()).isZero();
        }
    }

    /**
     * H39 finding 5: {@code snapshot create} of an NBD server that accepts and never answers. The
     * snapshot's origin is connected to after its component's activation, on a thread of its own
     * (the activation held Config Admin's event thread for the NBD client's 60 s: every other
     * creation waited, and was reported not created while its store was made later): meanwhile
     * {@code snapshot list} says it is being connected to and other changes are made at once (H41:
     * the control's wait held them); removed, its connection is given up at once (H41: it held the
     * export for 60 s); when the server goes away a create fails with the refusal and nothing is
     * made. A refusal on
     * that thread keeps its exit code, as when the activation refused it: an export of a part
     * sector is a bad value (2), a read-only one the server's state (1).
     */
    @Test
    void aNewSnapshotOfASilentServerIsConnectedToAfterItsActivation() throws Exception {
        String readOnly = nbdkitMemory("ro.sock", "4M", "-r");
        String oddSize = nbdkitMemory("odd.sock", String.valueOf((4 << 20) + 1));
        Path socket = dir.resolve("silent.sock");
        Path disk = image("disk.img", 4 << 20, 7);
        Path state = dir.resolve("state");
        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "silent");
                SilentServer silent = new SilentServer(socket)) {
            CompletableFuture<KcopydProcess.Run> create = CompletableFuture.supplyAsync(() -> RunningDaemon.client(dir,
                    state, "snapshot", "create", "s1", "nbd+unix:///?socket=" + socket, "s1.cow", "--size-mib", "4"));
            DaemonApi api = new DaemonApi(state);
            await().atMost(WAIT).untilAsserted(() -> {
                var s1 = api.get("/api/v1/snapshots/s1");
                assertThat(s1.get("state").getAsString()).isEqualTo("waiting");
                assertThat(s1.get("invalidReason").getAsString()).as("the component's status, not SCR's")
                    .isEqualTo("opening: its origin nbd+unix:///?socket=" + socket + " is being connected to (attempt 1 "
                        + "under way)");
            });
            // Connected by the kernel before the acceptor thread takes it: one connection, the attempt's.
            await().atMost(WAIT).until(() -> silent.accepted() == 1);

            // H41 C1: the wait held the control's change lock, and every other change waited up to 30 s with it.
            RunningDaemon.clientOk(dir, state, "snapshot", "create", "s3", disk.toString(), "s3.cow", "--size-mib", "4");
            assertThat(api.get("/api/v1/snapshots/s1").get("invalidReason").getAsString()).as("made while s1 waits")
                .startsWith("opening: ");
            // H41 B1: removed, its connection is given up at once (it held the export's claim for the NBD client's 60 s).
            RunningDaemon.clientOk(dir, state, "snapshot", "remove", "s1");
            KcopydProcess.Run first = create.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(first.exit()).as("removed meanwhile: %s", first.err()).isEqualTo(1);
            assertThat(first.err()).contains("snapshot s1 not created: removed by another request while it was being "
                + "created");
            await().atMost(WAIT).until(() -> silent.closedByClients() == 1);
            CompletableFuture<KcopydProcess.Run> again = CompletableFuture.supplyAsync(() -> RunningDaemon.client(dir,
                    state, "snapshot", "create", "s4", "nbd+unix:///?socket=" + socket, "s4.cow", "--size-mib", "4"));
            await().atMost(WAIT).until(() -> silent.accepted() == 2);

            silent.close();
            KcopydProcess.Run refused = again.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(refused.exit()).as("refused: %s", refused.err()).isEqualTo(1);
            // The server's close is seen either before the component's activation is confirmed (Config Admin's
            // create refuses it) or after (the wait for the origin does): one refusal, worded by either step.
            assertThat(refused.err()).containsPattern("snapshot '?s4'? not created: (refused \\()?snapshot 's4': "
                + "cannot open its origin nbd\\+unix:///\\?socket=" + Pattern.quote(socket.toString()) + ": ");
            assertThat(dir.resolve("s1.cow")).as("nothing made").doesNotExist();
            assertThat(dir.resolve("s4.cow")).as("nothing made").doesNotExist();

            KcopydProcess.Run odd = RunningDaemon.client(dir, state, "snapshot", "create", "s2", oddSize, "s2.cow");
            assertThat(odd.exit()).as("an origin of a part sector is a bad value: %s", odd.err()).isEqualTo(2);
            assertThat(odd.err()).contains("has 1 bytes past its last whole sector");
            KcopydProcess.Run ro = RunningDaemon.client(dir, state, "snapshot", "create", "s2", readOnly, "s2.cow");
            assertThat(ro.exit()).as("a read-only export is the server's state: %s", ro.err()).isEqualTo(1);
            assertThat(ro.err()).contains("cannot open for writing: the server exports it read-only");
            assertThat(dir.resolve("s2.cow")).doesNotExist();

            assertThat(RunningDaemon.clientOk(dir, state, "snapshot", "list").out()).as("s4's configuration removed")
                .startsWith("s3  active").doesNotContain("s4");
            assertThat(daemon.sigterm()).as("errors: %s", daemon.errors()).isZero();
        }
    }

    /**
     * H41 A1: the daemon is killed while a {@code mirror create} waits for its NBD leg's server
     * (silent); its user was never told the mirror was made. At the next start, the server now
     * answering, the mirror is listed as failed and says why: no region log made, nothing resynced
     * onto the export. It can be removed, and created again.
     */
    @Test
    void aMirrorCreateCutShortByTheDaemonsEndIsRefusedAtTheNextStart() throws Exception {
        Path socket = dir.resolve("leg.sock");
        Path a = image("a.img", 4 << 20, 11);
        Path state = dir.resolve("state");
        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "killed");
                SilentServer silent = new SilentServer(socket)) {
            CompletableFuture<KcopydProcess.Run> create = CompletableFuture.supplyAsync(() -> RunningDaemon.client(dir,
                    state, "mirror", "create", "m", "m.log", a.toString(), "nbd+unix:///?socket=" + socket));
            await().atMost(WAIT).until(() -> silent.accepted() == 1);
            daemon.kill9();
            assertThat(create.get(WAIT.toSeconds(), TimeUnit.SECONDS).exit()).as("not confirmed").isNotZero();
        }
        Files.deleteIfExists(socket);
        String export = nbdkitMemory("leg.sock", "4M");
        try (RunningDaemon again = RunningDaemon.start(dir, state, "again")) {
            DaemonApi api = new DaemonApi(state);
            var m = api.get("/api/v1/mirrors/m");
            assertThat(m.get("state").getAsString()).isEqualTo("failed");
            assertThat(m.get("reason").getAsString()).contains("mirror 'm': not opened: its configuration was being "
                + "created or changed when the kcopyd process doing it stopped (creating=", "Remove it and create it "
                + "again, or make the change again");
            assertThat(dir.resolve("m.log")).as("no log made").doesNotExist();
            copy(export, "before.img");
            assertThat(Files.readAllBytes(dir.resolve("before.img"))).as("nothing resynced onto the export")
                .isEqualTo(new byte[4 << 20]);

            RunningDaemon.clientOk(dir, state, "mirror", "remove", "m");
            RunningDaemon.clientOk(dir, state, "mirror", "create", "m", "m.log", a.toString(), export, "--wait");
            copy(export, "after.img");
            assertThat(dir.resolve("after.img")).as("created again: resynced").hasSameBinaryContentAs(a);
            RunningDaemon.clientOk(dir, state, "mirror", "remove", "m");
            assertThat(again.sigterm()).as("errors: %s", again.errors()).isZero();
        }
    }

    /**
     * H43 F3: the daemon killed while {@code mirror replace-leg} waits for the new leg's server (silent)
     * left the new leg configured, and at the next start the mirror resynced onto whatever disk
     * answered there, although its user was never told the leg was replaced. Marked, the change is
     * refused then: that disk is not written; replacing the leg with the old file again opens the
     * mirror as it was.
     */
    @Test
    void aReplaceLegCutShortByTheDaemonsEndIsRefusedAtTheNextStart() throws Exception {
        Path socket = dir.resolve("new.sock");
        Path a = image("a.img", 4 << 20, 31);
        Path b = image("b.img", 4 << 20, 0);
        Path state = dir.resolve("state");
        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "killed");
                SilentServer silent = new SilentServer(socket)) {
            RunningDaemon.clientOk(dir, state, "mirror", "create", "m", "m.log", a.toString(), b.toString(), "--wait");
            CompletableFuture<KcopydProcess.Run> replace = CompletableFuture.supplyAsync(() -> RunningDaemon.client(dir,
                    state, "mirror", "replace-leg", "m", "1", "nbd+unix:///?socket=" + socket));
            await().atMost(WAIT).until(() -> silent.accepted() == 1);
            daemon.kill9();
            assertThat(replace.get(WAIT.toSeconds(), TimeUnit.SECONDS).exit()).as("not confirmed").isNotZero();
        }
        Files.deleteIfExists(socket);
        Path victim = image("victim.img", 4 << 20, 32);
        byte[] before = Files.readAllBytes(victim);
        nbdkitFile(socket, victim);
        try (RunningDaemon again = RunningDaemon.start(dir, state, "again")) {
            DaemonApi api = new DaemonApi(state);
            var m = api.get("/api/v1/mirrors/m");
            assertThat(m.get("state").getAsString()).isEqualTo("failed");
            assertThat(m.get("reason").getAsString()).contains("its configuration was being created or changed");
            assertThat(Files.readAllBytes(victim)).as("the disk served at the new leg's address not written")
                .isEqualTo(before);

            RunningDaemon.clientOk(dir, state, "mirror", "replace-leg", "m", "1", b.toString());
            var back = api.get("/api/v1/mirrors/m");
            assertThat(back.get("state").getAsString()).isEqualTo("active");
            assertThat(back.get("regionsToResync").getAsLong()).as("the leg it had: nothing to resync").isZero();
            assertThat(Files.readAllBytes(victim)).isEqualTo(before);
            assertThat(b).hasSameBinaryContentAs(a);
            assertThat(again.sigterm()).as("errors: %s", again.errors()).isZero();
        }
    }

    /**
     * H43 F8: leg 0 is replaced once it has failed while another leg is in sync (it could not be
     * replaced at all, "the source every other leg is copied from" although leg 1 was); in sync it is
     * still refused, exit 2. The new leg 0 is resynced from leg 1.
     */
    @Test
    void aFailedLeg0IsReplacedAndResyncedFromTheLegInSync() throws Exception {
        Path socket = dir.resolve("leg0.sock");
        String export = "nbd+unix:///?socket=" + socket;
        image("w.img", 1 << 20, 42);
        Path c = image("c.img", 4 << 20, 43);
        image("b.img", 4 << 20, 44);
        Path state = dir.resolve("state");
        Process server = nbdkitFile(socket, image("a.img", 4 << 20, 41));
        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "leg0")) {
            RunningDaemon.clientOk(dir, state, "mirror", "create", "m", "m.log", export, "b.img", "--wait");
            KcopydProcess.Run inSync = RunningDaemon.client(dir, state, "mirror", "replace-leg", "m", "0", c.toString());
            assertThat(inSync.exit()).as(inSync.err()).isEqualTo(2);
            assertThat(inSync.err()).contains("leg 0 is mirror m's default leg and in-sync: replacing it would copy the "
                + "new device over the others");
            server.toHandle().destroyForcibly();
            assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
            RunningDaemon.clientOk(dir, state, "copy", "--daemon", "w.img", "mirror:m");

            RunningDaemon.clientOk(dir, state, "mirror", "replace-leg", "m", "0", c.toString());
            DaemonApi api = new DaemonApi(state);
            await().atMost(WAIT).untilAsserted(() -> assertThat(api.get("/api/v1/mirrors/m").getAsJsonArray("legs")
                .get(0).getAsJsonObject().get("state").getAsString()).isEqualTo("in-sync"));
            assertThat(c).as("resynced from leg 1").hasSameBinaryContentAs(dir.resolve("b.img"));
            assertThat(Arrays.copyOf(Files.readAllBytes(c), 1 << 20)).isEqualTo(Files.readAllBytes(dir.resolve("w.img")));
            assertThat(daemon.sigterm()).as("errors: %s", daemon.errors()).isZero();
        }
    }

    /**
     * H42 #5 against nbdkit: a mirror whose NBD leg failed (nbdkit killed, then a write through the
     * mirror) opens at the daemon's next start while that server is still down: a failed leg is
     * neither read nor written, so it is not waited for; the file leg takes the writes.
     */
    @Test
    void aMirrorWhoseNbdLegFailedOpensAtTheNextStartWithoutItsServer() throws Exception {
        Path socket = dir.resolve("leg.sock");
        String export = "nbd+unix:///?socket=" + socket;
        Path a = image("a.img", 4 << 20, 21);
        image("w1.img", 1 << 20, 22);
        Path w2 = image("w2.img", 1 << 20, 23);
        Path state = dir.resolve("state");
        Process server = nbdkitFile(socket, image("b.img", 4 << 20, 24));
        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "before")) {
            RunningDaemon.clientOk(dir, state, "mirror", "create", "m", "m.log", a.toString(), export, "--wait");
            server.toHandle().destroyForcibly();
            assertThat(server.waitFor(30, TimeUnit.SECONDS)).isTrue();
            RunningDaemon.clientOk(dir, state, "copy", "--daemon", "w1.img", "mirror:m");
            var leg = new DaemonApi(state).get("/api/v1/mirrors/m").getAsJsonArray("legs").get(1).getAsJsonObject();
            assertThat(leg.get("state").getAsString()).isEqualTo("failed");
            assertThat(daemon.sigterm()).as("errors: %s", daemon.errors()).isZero();
        }
        try (RunningDaemon again = RunningDaemon.start(dir, state, "after")) {
            DaemonApi api = new DaemonApi(state);
            await().atMost(WAIT).untilAsserted(() -> assertThat(api.get("/api/v1/mirrors/m").get("state").getAsString())
                .as("open without the failed leg's server").isEqualTo("active"));
            var leg = api.get("/api/v1/mirrors/m").getAsJsonArray("legs").get(1).getAsJsonObject();
            assertThat(leg.get("state").getAsString()).isEqualTo("failed");
            assertThat(leg.get("failure").getAsString()).endsWith("; not opened at this start (not connected to)");
            RunningDaemon.clientOk(dir, state, "copy", "--daemon", "w2.img", "mirror:m");
            assertThat(Arrays.copyOf(Files.readAllBytes(a), 1 << 20)).as("leg 0 takes the writes")
                .isEqualTo(Files.readAllBytes(w2));

            // H44 F1-F2: asked while its server is still down, the bring-back is refused and undone at once: the
            // mirror serves degraded again, and nothing is left to run later over whatever disk comes to the address.
            KcopydProcess.Run down = RunningDaemon.client(dir, state, "mirror", "replace-leg", "m", "1", export);
            assertThat(down.exit()).as(down.err()).isEqualTo(1);
            assertThat(down.err()).contains("not brought back: ", "; its configuration is as it was, the leg failed");
            await().atMost(WAIT).untilAsserted(() -> assertThat(api.get("/api/v1/mirrors/m").get("state").getAsString())
                .isEqualTo("active"));
            RunningDaemon.clientOk(dir, state, "copy", "--daemon", "w2.img", "mirror:m");

            // H43 F6: its server serves the disk again; replace-leg with the leg's own URI brings it back.
            nbdkitFile(socket, dir.resolve("b.img"));
            KcopydProcess.Run back = RunningDaemon.clientOk(dir, state, "mirror", "replace-leg", "m", "1", export);
            assertThat(back.out()).contains("leg 1 of mirror m brought back: " + export + " is resynced fully");
            await().atMost(WAIT).untilAsserted(() -> assertThat(api.get("/api/v1/mirrors/m").getAsJsonArray("legs")
                .get(1).getAsJsonObject().get("state").getAsString()).isEqualTo("in-sync"));
            assertThat(dir.resolve("b.img")).as("resynced fully from leg 0").hasSameBinaryContentAs(a);
            assertThat(again.sigterm()).as("errors: %s", again.errors()).isZero();
        }
    }

    /**
     * A snapshot in {@code --config-dir} whose new snapshot is refused once its export is opened
     * (after its component's activation, on the snapshot's own thread): the directory's check
     * waits for that outcome and reports it, exit 2 for a bad value, as it reported a refused
     * activation; nothing is made.
     */
    @Test
    void aConfigurationDirectorySnapshotRefusedWhenItsExportOpensIsReported() throws Exception {
        String oddSize = nbdkitMemory("odd.sock", String.valueOf((4 << 20) + 1));
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(etc.resolve("org.kcopyd.snapshot-s1.cfg"), "name = s1\norigin = " + oddSize
            + "\ncowStore = " + dir.resolve("s1.cow") + "\n");

        KcopydProcess.Run r = KcopydProcess.run(dir, "--config-dir", "etc", "config");

        assertThat(r.exit()).as(r.err()).isEqualTo(2);
        // One line each, in either order: the check's report, and the snapshot component's error as it logs it.
        assertThat(r.err().lines()).hasSize(2)
            .anySatisfy(l -> assertThat(l).startsWith("kcopyd: ").contains("org.kcopyd.snapshot-s1.cfg was not applied: ",
                "has 1 bytes past its last whole sector"))
            .anySatisfy(l -> assertThat(l).startsWith("kcopyd: SEVERE snapshot 's1': not made: its origin "));
        assertThat(dir.resolve("s1.cow")).doesNotExist();
    }

    /** A Unix socket server that accepts connections and never answers; closing it closes them too. */
    private static final class SilentServer implements AutoCloseable {
        private final ServerSocketChannel server;
        private final List<SocketChannel> connections = new CopyOnWriteArrayList<>();
        private final Thread acceptor;

        SilentServer(Path socket) throws IOException {
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socket));
            acceptor = new Thread(() -> {
                try {
                    while (true) {
                        connections.add(server.accept());
                    }
                } catch (IOException closed) {
                    // Closed: no more connections.
                }
            }, "silent NBD server");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int accepted() {
            return connections.size();
        }

        /** @return the connections their client has closed (a read at their end of stream) */
        int closedByClients() throws IOException {
            int closed = 0;
            for (SocketChannel c : connections) {
                c.configureBlocking(false);
                if (c.read(java.nio.ByteBuffer.allocate(64)) < 0) {
                    closed++;
                }
            }
            return closed;
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (SocketChannel c : connections) {
                c.close();
            }
        }
    }

    @Test
    void aSnapshotOfAnNbdkitExportKeepsItsContentWhileTheOriginIsWrittenThroughKcopyd() throws Exception {
        int size = 4 << 20;
        String export = nbdkitMemory("mem.sock", "4M");
        Path initial = image("initial.img", size, 2);
        copy("--flush", initial.toString(), export);

        Path etc = Files.createDirectories(dir.resolve("etc"));
        Path originSocket = dir.resolve("origin.sock");
        Path snapshotSocket = dir.resolve("snap.sock");
        Files.writeString(etc.resolve("org.kcopyd.snapshot-s1.cfg"), "name = s1\norigin = " + export
            + "\ncowStore = " + dir.resolve("s1.cow") + "\ncowStoreSizeMiB = 16\n");
        Files.writeString(etc.resolve("org.kcopyd.nbd.export-origin.cfg"), "device = (&(kcopyd.device.role=origin)"
            + "(kcopyd.snapshot.origin=" + export + "))\nsocket = " + originSocket + "\n");
        Files.writeString(etc.resolve("org.kcopyd.nbd.export-snap.cfg"), "name = s1\ndevice = "
            + "(&(kcopyd.device.role=snapshot)(kcopyd.snapshot.name=s1))\nsocket = " + snapshotSocket
            + "\nreadOnly = true\n");
        Process shell = new ProcessBuilder(KcopydProcess.command(List.of(), List.of("--config-dir", "etc")))
            .directory(dir.toFile()).redirectOutput(dir.resolve("shell.out").toFile())
            .redirectError(dir.resolve("shell.err").toFile()).start();
        processes.add(shell);
        try (PrintWriter in = new PrintWriter(shell.getOutputStream(), true, StandardCharsets.UTF_8)) {
            await().atMost(WAIT).until(() -> Files.exists(originSocket) && Files.exists(snapshotSocket));

            Path written = image("written.img", 1 << 20, 3);
            copy("--flush", written.toString(), "nbd+unix:///?socket=" + originSocket);

            copy("nbd+unix:///s1?socket=" + snapshotSocket, "snap-copy.img");
            assertThat(dir.resolve("snap-copy.img")).as("the snapshot: the export before the write")
                .hasSameBinaryContentAs(initial);
            copy(export, "export-copy.img");
            byte[] expected = Files.readAllBytes(initial);
            System.arraycopy(Files.readAllBytes(written), 0, expected, 0, 1 << 20);
            byte[] now = Files.readAllBytes(dir.resolve("export-copy.img"));
            assertThat(Arrays.mismatch(now, expected)).as("nbdkit's export holds the write, the rest as it was")
                .isEqualTo(-1);
            in.println("exit 0");
        }
        assertThat(shell.waitFor(60, TimeUnit.SECONDS)).isTrue();
    }
}
