package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Claims hold across processes, the daemon's included (issue 11): while the daemon holds a
 * snapshot and a mirror, one-shot commands run from other processes — {@code copy}, and the
 * shell's own {@code snapshot create} and {@code mirror create} — are refused the daemon's files,
 * with the daemon's process named; while a shell holds a snapshot and a mirror, the daemon refuses
 * them to {@code snapshot create} and {@code mirror create} sent through the thin client, naming
 * the shell's process, and a one-shot copy is refused them too. Nothing changes and nothing is
 * made by a refused command. The claims go with their process: once the shell has ended, the
 * daemon takes its origin; once the daemon has stopped, a copy writes the daemon's origin. Every
 * process uses the user's default claims directory, as users run them. The files the claims and the
 * daemon's state lock live in are never opened as devices (closing such a descriptor would drop a
 * POSIX lock of the process), and a job naming them drops neither lock.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class CrossProcessClaimsIT {

    @TempDir
    Path dir;

    private Path image(String name, int bytes, long seed) throws IOException {
        byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        return Files.write(dir.resolve(name), data);
    }

    @Test
    void theDaemonAndOneShotProcessesAreRefusedEachOthersFiles() throws Exception {
        image("a.img", 4 << 20, 1);
        image("other.img", 4 << 20, 2);
        image("x.img", 1 << 20, 3);
        image("y.img", 1 << 20, 4);
        image("b.img", 4 << 20, 5);
        image("c.img", 1 << 20, 6);
        image("d.img", 1 << 20, 7);
        image("e.img", 1 << 20, 8);
        image("f.img", 1 << 20, 9);
        Path state = dir.resolve("state");
        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "claims")) {
            long pid = daemon.pid();
            assertThat(RunningDaemon.clientOk(dir, state, "snapshot", "create", "s1", "a.img", "s1.cow", "--size-mib",
                    "4").out()).contains("snapshot s1 of " + dir.resolve("a.img"));
            assertThat(RunningDaemon.clientOk(dir, state, "mirror", "create", "m", "m.log", "x.img", "y.img", "--wait")
                    .out()).contains("in sync");

            Process p = new ProcessBuilder(KcopydProcess.command(List.of(), List.of())).directory(dir.toFile())
                    .redirectErrorStream(true).start();
            long shell = p.pid();
            try (PrintWriter in = new PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8);
                    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                            StandardCharsets.UTF_8))) {
                assertThat(ask(in, out, "kcopyd:snapshot create t1 b.img t1.cow --size-mib 4"))
                        .contains("snapshot t1 of b.img");
                assertThat(ask(in, out, "kcopyd:mirror create n n.log c.img d.img --wait")).contains("in sync");
                Map<String, String> before = hashes();

                // One-shot processes are refused the daemon's files, naming the daemon's process.
                KcopydProcess.Run onOrigin = KcopydProcess.run(dir, "copy", "other.img", "a.img");
                assertThat(onOrigin.exit()).as(onOrigin.err()).isEqualTo(1);
                assertThat(onOrigin.err().lines()).contains("kcopyd copy: a.img is the origin of snapshot s1; write "
                        + "through its origin device (kcopyd process " + pid + ")");
                KcopydProcess.Run onLeg = KcopydProcess.run(dir, "copy", "other.img:0+2048", "y.img");
                assertThat(onLeg.exit()).as(onLeg.err()).isEqualTo(1);
                assertThat(onLeg.err()).contains("y.img is leg 1 of mirror m (kcopyd process " + pid + ")");
                KcopydProcess.Run onLog = KcopydProcess.run(dir, "copy", "other.img:0+8", "m.log");
                assertThat(onLog.exit()).as(onLog.err()).isEqualTo(1);
                assertThat(onLog.err()).contains("m.log is the region log of mirror m (kcopyd process " + pid + ")");
                assertThat(ask(in, out, "kcopyd:snapshot create s2 e.img s1.cow --format --size-mib 4"))
                        .contains("s1.cow is the COW store of snapshot s1");
                assertThat(ask(in, out, "kcopyd:mirror create m2 m.log e.img f.img --format"))
                        .contains("is the region log of mirror m (kcopyd process " + pid + ")");

                // The daemon is refused the shell's files, naming the shell's process.
                KcopydProcess.Run shellOrigin = RunningDaemon.client(dir, state, "snapshot", "create", "s3", "b.img",
                        "s3.cow", "--size-mib", "4");
                assertThat(shellOrigin.exit()).as(shellOrigin.err()).isEqualTo(1);
                assertThat(shellOrigin.err()).contains(dir.resolve("b.img") + " is the origin of snapshot t1; write "
                        + "through its origin device (kcopyd process " + shell + ")");
                KcopydProcess.Run shellCow = RunningDaemon.client(dir, state, "snapshot", "create", "s4", "e.img",
                        "t1.cow", "--format", "--size-mib", "4");
                assertThat(shellCow.exit()).as(shellCow.err()).isEqualTo(1);
                assertThat(shellCow.err()).contains(dir.resolve("t1.cow") + " is the COW store of snapshot t1");
                KcopydProcess.Run shellLog = RunningDaemon.client(dir, state, "mirror", "create", "m3", "n.log", "e.img",
                        "f.img", "--format");
                assertThat(shellLog.exit()).as(shellLog.err()).isEqualTo(1);
                assertThat(shellLog.err()).contains(dir.resolve("n.log") + " is the region log of mirror n (kcopyd "
                        + "process " + shell + ")");
                KcopydProcess.Run shellLeg = RunningDaemon.client(dir, state, "mirror", "create", "m4", "m4.log",
                        "c.img", "f.img");
                assertThat(shellLeg.exit()).as(shellLeg.err()).isEqualTo(1);
                assertThat(shellLeg.err()).contains(dir.resolve("c.img") + " is leg 0 of mirror n (kcopyd process "
                        + shell + ")");
                // And a one-shot copy is refused them as before.
                KcopydProcess.Run onShellOrigin = KcopydProcess.run(dir, "copy", "other.img", "b.img");
                assertThat(onShellOrigin.exit()).as(onShellOrigin.err()).isEqualTo(1);
                assertThat(onShellOrigin.err()).contains("b.img is the origin of snapshot t1; write through its origin "
                        + "device (kcopyd process " + shell + ")");

                assertThat(hashes()).as("no file changed, none was made").isEqualTo(before);
                assertThat(new DaemonApi(state).held()).as("the daemon took nothing")
                        .containsExactlyInAnyOrder("snapshot:s1", "mirror:m");
                in.println("exit 0");
            } finally {
                p.getOutputStream().close();
                assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            }

            // The shell's claims went with it: the daemon now takes its origin.
            assertThat(RunningDaemon.clientOk(dir, state, "snapshot", "create", "s3", "b.img", "s3.cow", "--size-mib",
                    "4").out()).contains("snapshot s3 of " + dir.resolve("b.img"));
            assertThat(daemon.sigterm()).as("errors: %s", daemon.errors()).isZero();
        }

        // The daemon's claims went with it: the same copy now runs.
        KcopydProcess.Run copy = KcopydProcess.run(dir, "copy", "other.img", "a.img");
        assertThat(copy.exit()).as(copy.err()).isZero();
        assertThat(Files.mismatch(dir.resolve("other.img"), dir.resolve("a.img"))).isEqualTo(-1);
    }

    /**
     * Readers across processes (found by H28, where a one-shot copy overwrote a daemon job's source and a
     * served file through a loop device over it): while a one-shot {@code serve --read-only} reads a file,
     * a one-shot copy to it, or to a loop device over it, and a daemon's {@code mirror create} naming it
     * as a leg are refused, naming the reading process (exit 1: in use, not a bad argument); while it
     * reads the loop device, a copy to the file is refused likewise. Inside the daemon, a job is refused a
     * file its own read-only export serves, and so is a read-write export of it. Nothing changes.
     */
    @Test
    void aFileAnotherProcessOrADaemonsExportReadsIsWrittenThroughNoNameNorLoopDevice() throws Exception {
        String missing = org.kcopyd.testdevices.LoopDevice.unavailable();
        if (missing != null) {
            org.kcopyd.testdevices.Peers.missing(missing);
        }
        Path src = image("src.img", 1 << 20, 21);
        image("other.img", 1 << 20, 22);
        image("leg.img", 1 << 20, 23);
        Map<String, String> before = hashes();
        Path state = dir.resolve("state");
        try (org.kcopyd.testdevices.LoopDevice loop = org.kcopyd.testdevices.LoopDevice.attach(src);
                RunningDaemon daemon = RunningDaemon.start(dir, state, "readers")) {
            String device = loop.device().toString();
            Process reader = serveReadOnly("src.img", "ro.sock");
            String by = " is open for reading by kcopyd; writing it now would change what that process reads (kcopyd "
                    + "process " + reader.pid() + ")";
            KcopydProcess.Run onFile = KcopydProcess.run(dir, "copy", "other.img", "src.img");
            assertThat(onFile.exit()).as(onFile.err()).isEqualTo(1);
            assertThat(onFile.err()).contains("src.img" + by);
            KcopydProcess.Run onLoop = KcopydProcess.run(dir, "copy", "other.img", device);
            assertThat(onLoop.exit()).as(onLoop.err()).isEqualTo(1);
            assertThat(onLoop.err()).contains(device + " (a loop device over " + src + " from byte 0) shares bytes with "
                    + src + ", which" + by);
            KcopydProcess.Run leg = RunningDaemon.client(dir, state, "mirror", "create", "m", "m.log", "leg.img",
                    "src.img");
            assertThat(leg.exit()).as(leg.err()).isEqualTo(1);
            assertThat(leg.err()).contains(by);
            reader.destroy();
            assertThat(reader.waitFor(60, TimeUnit.SECONDS)).isTrue();

            Process loopReader = serveReadOnly(device, "rol.sock");
            KcopydProcess.Run underLoop = KcopydProcess.run(dir, "copy", "other.img:0+8", "src.img");
            assertThat(underLoop.exit()).as(underLoop.err()).isEqualTo(1);
            assertThat(underLoop.err()).contains("shares bytes with " + device + ", which is open for reading by kcopyd")
                    .contains("(kcopyd process " + loopReader.pid() + ")");
            loopReader.destroy();
            assertThat(loopReader.waitFor(60, TimeUnit.SECONDS)).isTrue();

            RunningDaemon.clientOk(dir, state, "export", "add", "ro", src.toString(), "--read-only", "--socket",
                    dir.resolve("d.sock").toString());
            KcopydProcess.Run job = RunningDaemon.client(dir, state, "copy", "--daemon", "other.img", "src.img");
            assertThat(job.exit()).as(job.err()).isEqualTo(1);
            assertThat(job.err()).contains(src + " is open for reading in this daemon (a read-only export serves it, "
                    + "say): a job writing it now would change what is read");
            KcopydProcess.Run readWrite = RunningDaemon.client(dir, state, "export", "add", "rw", src.toString(),
                    "--socket", dir.resolve("w.sock").toString());
            assertThat(readWrite.exit()).as(readWrite.err()).isEqualTo(1);
            assertThat(readWrite.err()).contains("is open for reading in this daemon");
            assertThat(dir.resolve("m.log")).doesNotExist();
            assertThat(hashes()).as("no file changed").isEqualTo(before);
            assertThat(daemon.sigterm()).as("errors: %s", daemon.errors()).isZero();
        }
    }

    /** Starts a one-shot {@code serve DEVICE --read-only} and waits until it serves. */
    private Process serveReadOnly(String device, String socket) throws Exception {
        Process p = new ProcessBuilder(KcopydProcess.command(List.of(), List.of("serve", device, "--read-only",
                "--socket", dir.resolve(socket).toString()))).directory(dir.toFile()).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        assertThat(line).as("serve %s", device).startsWith("kcopyd serve: serving ");
        return p;
    }

    @Test
    void jobsNamingTheClaimsOrStateLockFilesAreRefusedAndTheDaemonKeepsItsLocks() throws Exception {
        image("a.img", 1 << 20, 11);
        image("other.img", 1 << 20, 12);
        Path state = dir.resolve("state");
        try (RunningDaemon daemon = RunningDaemon.start(dir, state, "locks")) {
            long pid = daemon.pid();
            RunningDaemon.clientOk(dir, state, "snapshot", "create", "s1", "a.img", "s1.cow", "--size-mib", "4");
            Path claimsLock = openFile(pid, "/claims.lock");
            Path stateLock = state.resolve("lock").toRealPath();
            // A hard link is in no directory by its path (found by H24: it dropped the state lock).
            Path lockLink = Files.createLink(dir.resolve("lock.hl"), stateLock);

            for (List<String> job : List.of(List.of("other.img", stateLock.toString()),
                    List.of(stateLock.toString(), "out1.img"), List.of("other.img", claimsLock.toString()),
                    List.of(claimsLock.toString(), "out2.img"), List.of("other.img", state.resolve("new.img").toString()),
                    List.of(lockLink.toString(), "out3.img"))) {
                KcopydProcess.Run refused = RunningDaemon.client(dir, state, "copy", "--daemon", job.get(0), job.get(1));
                assertThat(refused.exit()).as("%s: %s", job, refused.err()).isNotZero();
                assertThat(refused.err()).as("%s", job).containsPattern(" is (in the state directory of the kcopyd "
                        + "daemon|the lock file of kcopyd's claims|the lock of the kcopyd daemon's state directory); "
                        + "kcopyd never opens its own files as devices");
            }
            assertThat(dir.resolve("out3.img")).doesNotExist();
            assertThat(dir.resolve("out1.img")).doesNotExist();
            assertThat(dir.resolve("out2.img")).doesNotExist();
            assertThat(state.resolve("new.img")).doesNotExist();

            // One-shot commands in other processes are refused the daemon's files too, through its
            // reservations in the claims directory (found by H24: a one-shot zero blanked the lock's pid
            // record, a copy took the token out, a file copied into STATE/config failed the next start).
            byte[] lockRecord = Files.readAllBytes(stateLock);
            byte[] tokenBefore = Files.readAllBytes(state.resolve("control.token"));
            Path newConfig = state.resolve("config").resolve("org.kcopyd.snapshot-x.config");
            for (List<String> command : List.of(List.of("zero", stateLock.toString()),
                    List.of("zero", lockLink.toString()), List.of("copy", state.resolve("control.token").toString(),
                    "out4.img"), List.of("copy", "other.img", newConfig.toString()),
                    List.of("copy", "other.img", state.resolve("control.json").toString()))) {
                KcopydProcess.Run refused = KcopydProcess.run(dir, command.toArray(String[]::new));
                assertThat(refused.exit()).as("%s: %s", command, refused.err()).isNotZero();
                assertThat(refused.err()).as("%s", command).containsPattern(" is (in the state directory of the kcopyd "
                        + "daemon|the lock of the kcopyd daemon's state directory|the control token of the kcopyd "
                        + "daemon) \\(kcopyd process " + pid + "\\); "
                        + "kcopyd never opens its own files as devices");
            }
            // Another mount of a subdirectory has its identity, not the state directory's, above its files
            // (found by H25: a copy through `mount --bind STATE/config X` made the next start fail).
            bindMountedConfig(state, pid);
            assertThat(Files.readAllBytes(stateLock)).as("the lock's pid record").isEqualTo(lockRecord);
            assertThat(Files.readAllBytes(state.resolve("control.token"))).isEqualTo(tokenBefore);
            assertThat(dir.resolve("out4.img")).doesNotExist();
            assertThat(newConfig).doesNotExist();

            // The daemon still holds its claims and its state directory.
            KcopydProcess.Run onOrigin = KcopydProcess.run(dir, "copy", "other.img", "a.img");
            assertThat(onOrigin.exit()).as(onOrigin.err()).isEqualTo(1);
            assertThat(onOrigin.err()).contains("a.img is the origin of snapshot s1; write through its origin device "
                    + "(kcopyd process " + pid + ")");
            KcopydProcess.Run second = KcopydProcess.run(dir, "daemon", "--state", state.toString());
            assertThat(second.exit()).as(second.err()).isNotZero();
            assertThat(second.err()).contains("is in use by another kcopyd daemon (pid " + pid + ")");
            assertThat(daemon.sigterm()).as("errors: %s", daemon.errors()).isZero();
        }
    }

    /** A copy into STATE/config through a bind mount of it elsewhere is refused; needs root and mount(8). */
    private void bindMountedConfig(Path state, long pid) throws Exception {
        if (!org.kcopyd.testdevices.LoopMount.isRoot() || org.kcopyd.testdevices.Peers.find("mount") == null) {
            org.kcopyd.testdevices.Peers.missing("a bind mount needs root and mount (Debian package mount)");
        }
        Path elsewhere = Files.createDirectory(dir.resolve("config-elsewhere"));
        Process mount = new ProcessBuilder("mount", "--bind", state.resolve("config").toString(), elsewhere.toString())
                .redirectErrorStream(true).start();
        assertThat(mount.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(mount.exitValue()).as(new String(mount.getInputStream().readAllBytes())).isZero();
        try {
            Path through = elsewhere.resolve("org.kcopyd.snapshot-y.config");
            KcopydProcess.Run refused = KcopydProcess.run(dir, "copy", "other.img", through.toString());
            assertThat(refused.exit()).as(refused.err()).isNotZero();
            assertThat(refused.err()).contains(through + " (" + elsewhere + " is " + state.resolve("config")
                    + ") is in the state directory of the kcopyd daemon (kcopyd process " + pid + "); kcopyd never "
                    + "opens its own files as devices");
            assertThat(state.resolve("config").resolve(through.getFileName())).doesNotExist();
        } finally {
            Process umount = new ProcessBuilder("umount", elsewhere.toString()).redirectErrorStream(true).start();
            assertThat(umount.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
    }

    /** @return the file process {@code pid} has open whose path ends with {@code suffix} */
    private static Path openFile(long pid, String suffix) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    Path target = Files.readSymbolicLink(fd);
                    if (target.toString().endsWith(suffix)) {
                        return target;
                    }
                } catch (IOException closedMeanwhile) {
                    // Gone since it was listed.
                }
            }
        }
        throw new AssertionError("process " + pid + " has no " + suffix + " open");
    }

    /** The SHA-256 of every file in the working directory (the daemon's state directory and output aside). */
    private Map<String, String> hashes() throws IOException, NoSuchAlgorithmException {
        Map<String, String> hashes = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile)
                    .filter(f -> !f.getFileName().toString().startsWith("daemon-")).toList()) {
                hashes.put(f.getFileName().toString(),
                        HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))));
            }
        }
        return hashes;
    }

    /** Sends one shell command and returns everything it printed (standard output and error). */
    private static String ask(PrintWriter shell, BufferedReader out, String command) throws IOException {
        shell.println(command);
        shell.println("echo @@done");
        StringBuilder seen = new StringBuilder();
        String line;
        while ((line = out.readLine()) != null && !line.contains("@@done")) {
            seen.append(line).append('\n');
        }
        return seen.toString();
    }
}
