package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.ref.WeakReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;

/**
 * Claims hold across processes: each test starts {@link ClaimHolder} in a JVM of its own, sharing
 * this one's claims directory ({@code kcopyd.claims.dir}, set by the build).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClaimsAcrossProcessesTest {

    private static final String ORIGIN = "the origin of snapshot s1; write through its origin device";

    @TempDir
    Path dir;

    private final List<Process> started = new ArrayList<>();
    private final FileDeviceOpener opener = new FileDeviceOpener(false, "a destination of a copy");

    /** The other process, and its standard input and output. */
    private record Holder(Process process, PrintWriter in, BufferedReader out, String firstLine) {

        long pid() {
            return process.pid();
        }

        String ask(String command) throws IOException {
            in.println(command);
            return out.readLine();
        }
    }

    @AfterEach
    void stopHolders() throws InterruptedException {
        for (Process p : started) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private Holder start(Path path, String purpose) throws IOException {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                "-D" + ClaimDirectory.PROPERTY + "=" + System.getProperty(ClaimDirectory.PROPERTY),
                ClaimHolder.class.getName(), path.toString(), purpose)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        started.add(p);
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        PrintWriter in = new PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8);
        return new Holder(p, in, out, out.readLine());
    }

    private Holder hold(Path path, String purpose) throws IOException {
        Holder h = start(path, purpose);
        assertThat(h.firstLine()).as("the other process claims " + path).isEqualTo("claimed " + h.pid());
        return h;
    }

    private Path image(String name) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, new byte[4096]);
        return file;
    }

    @Test
    void aClaimOfAnotherProcessIsRefusedNamingItsPurposeAndProcess() throws IOException {
        Path origin = image("origin.img");
        Holder h = hold(origin, ORIGIN);

        assertThatThrownBy(() -> FileClaims.claim(origin, "a destination of a copy"))
                .isInstanceOf(FileClaimedException.class)
                .hasMessage(origin + " is " + ORIGIN + " (kcopyd process " + h.pid() + ")");
        FileClaim holder = FileClaims.holderOf(origin).orElseThrow();
        assertThat(holder.isHeldHere()).isFalse();
        assertThat(holder.processId()).isEqualTo(OptionalLong.of(h.pid()));
        assertThat(holder.purpose()).isEqualTo(ORIGIN);
        assertThat(holder.path()).isEqualTo(origin);
        assertThatThrownBy(() -> opener.open(origin, DeviceOption.READ_WRITE)).isInstanceOf(FileClaimedException.class);
        assertThatThrownBy(() -> opener.create(origin, 8)).isInstanceOf(FileClaimedException.class);
        assertThatThrownBy(() -> opener.open(origin)).as("what another process writes is not read either")
                .isInstanceOf(FileClaimedException.class)
                .hasMessage(origin + " is " + ORIGIN + " (kcopyd process " + h.pid() + ")");

        // The holder reads the file every way it can and claims and releases another: it keeps its claim.
        assertThat(h.ask("touch " + image("other.img"))).isEqualTo("touched");
        assertThatThrownBy(() -> FileClaims.claim(origin, "a destination of a copy"))
                .hasMessageEndingWith("(kcopyd process " + h.pid() + ")");
    }

    /**
     * Found by H24: a one-shot copy (another process) read a daemon's token, blanked its lock record and
     * dropped a file into its configuration directory. What another process reserves is refused here,
     * for reading and writing, by any path (in it, through a symbolic link to it, a bind-mount-like
     * second name of the directory, a hard link to a reserved file), and creating a file in it too;
     * the rest of the world is not; once the reservation ends (or its process is killed), it is free.
     */
    @Test
    void aReservationOfAnotherProcessIsRefusedToEveryOpenAndCreate() throws Exception {
        Path state = Files.createDirectories(dir.resolve("state"));
        Path token = Files.write(state.resolve("token"), new byte[512]);
        Path config = Files.createDirectories(state.resolve("config"));
        Path lock = Files.write(state.resolve("lock"), new byte[512]);
        Path hardToLock = dir.resolve("lock-link");
        Files.createLink(hardToLock, lock);
        Path linkToState = Files.createSymbolicLink(dir.resolve("state-link"), state);
        Holder h = hold(image("held.img"), "leg 0 of mirror m");
        assertThat(h.ask("reserve " + state)).isEqualTo("reserved");
        assertThat(h.ask("reserve " + lock)).isEqualTo("reserved");
        String daemon = " is in the state directory of a test daemon (kcopyd process " + h.pid() + "); kcopyd never "
                + "opens its own files as devices";

        assertThatThrownBy(() -> opener.open(token)).isInstanceOf(FileClaimedException.class).hasMessage(token + daemon);
        assertThatThrownBy(() -> opener.open(token, DeviceOption.READ_WRITE)).hasMessage(token + daemon);
        Path newConfig = config.resolve("org.kcopyd.nbd.export-x.config");
        assertThatThrownBy(() -> opener.create(newConfig, 8)).hasMessage(newConfig + daemon);
        assertThatThrownBy(() -> opener.createNew(newConfig, 8, "a copy's destination")).hasMessage(newConfig + daemon);
        Path throughLink = linkToState.resolve("token");
        assertThatThrownBy(() -> opener.open(throughLink)).hasMessage(throughLink + daemon);
        assertThatThrownBy(() -> opener.open(hardToLock, DeviceOption.READ_WRITE))
                .hasMessage(hardToLock + " (the same file as " + lock + ") is in the state directory of a test daemon "
                        + "(kcopyd process " + h.pid() + "); kcopyd never opens its own files as devices");
        assertThat(newConfig).doesNotExist();
        assertThat(Files.readAllBytes(token)).isEqualTo(new byte[512]);
        try (BlockDevice outside = opener.create(dir.resolve("outside.img"), 8)) {
            assertThat(outside.sizeInSectors()).as("next to the state directory, not in it").isEqualTo(8);
        }

        assertThat(h.ask("unreserve")).isEqualTo("unreserved");
        opener.open(hardToLock).close();
        h.process().destroyForcibly();
        assertThat(h.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        try (BlockDevice created = opener.create(newConfig, 8)) {
            assertThat(created.sizeInSectors()).as("its process killed, the reservation is gone").isEqualTo(8);
        }
        opener.open(token, DeviceOption.READ_WRITE).close();
    }

    @Test
    void everyPathToTheFileMeetsTheClaimOfTheOtherProcessAndItMeetsOurs() throws IOException {
        Path file = image("a.img");
        Path link = dir.resolve("link.img");
        Files.createSymbolicLink(link, file);
        Path hard = dir.resolve("hard.img");
        Files.createLink(hard, file);
        Files.createDirectories(dir.resolve("sub"));
        Holder h = hold(link, "leg 1 of mirror m");

        for (Path other : List.of(file, hard, dir.resolve("sub/../a.img"), link)) {
            assertThatThrownBy(() -> FileClaims.claim(other, "a destination of a copy")).as(other.toString())
                    .isInstanceOf(FileClaimedException.class)
                    .hasMessage(other + (other.equals(link) ? "" : " (the same file as " + link + ")")
                            + " is leg 1 of mirror m (kcopyd process " + h.pid() + ")");
        }
        h.ask("release");

        try (FileClaim ours = FileClaims.claim(hard, "the region log of mirror m")) {
            Holder refused = start(file, "leg 0 of mirror n");
            assertThat(refused.firstLine()).isEqualTo("refused " + file + " (the same file as " + hard
                    + ") is the region log of mirror m (kcopyd process " + ProcessHandle.current().pid() + ")");
        }
    }

    @Test
    void aClaimIsFreeOnceItsHolderReleasesItOrExits() throws Exception {
        Path file = image("b.img");
        Holder releasing = hold(file, "leg 1 of mirror m");
        assertThat(releasing.ask("release")).isEqualTo("released");
        assertThat(FileClaims.holderOf(file)).as("released while its process runs on").isEmpty();
        FileClaims.claim(file, "a destination of a copy").close();

        Holder exiting = hold(file, "leg 1 of mirror m");
        exiting.in().println("exit");
        assertThat(exiting.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(exiting.process().exitValue()).as("a normal exit, the claim never closed").isZero();
        assertThat(FileClaims.holderOf(file)).isEmpty();
        FileClaims.claim(file, "a destination of a copy").close();
    }

    /**
     * A one-shot copy could write a file a daemon job was reading (the job then copied a mix of old
     * and new data): while another process reads a file, it cannot be claimed, by any process, and the
     * refusal names the reader; readers do not exclude each other; the claim is free once the last
     * reader closes it or is killed (its record left behind is not believed).
     */
    @Test
    void aFileAnotherProcessReadsIsNotClaimedUntilItsLastReaderIsGone() throws Exception {
        Path source = image("source.img");
        Holder reader = hold(source, ClaimHolder.READ);
        String reading = " is open for reading by kcopyd; writing it now would change what that process reads";

        assertThatThrownBy(() -> FileClaims.claim(source, "a destination of a copy"))
                .isInstanceOf(FileClaimedException.class)
                .hasMessage(source + reading + " (kcopyd process " + reader.pid() + ")");
        assertThatThrownBy(() -> opener.open(source, DeviceOption.READ_WRITE)).isInstanceOf(FileClaimedException.class);
        assertThatThrownBy(() -> opener.create(source, 8)).isInstanceOf(FileClaimedException.class);
        Holder writer = start(source, "a destination of a copy");
        assertThat(writer.firstLine()).isEqualTo("refused " + source + reading + " (kcopyd process " + reader.pid() + ")");
        assertThat(FileClaims.holderOf(source)).as("a reader holds no claim").isEmpty();
        try (BlockDevice alsoReading = opener.open(source)) {
            assertThat(alsoReading.sizeInSectors()).as("readers share the file").isEqualTo(8);
        }
        Holder second = hold(source, ClaimHolder.READ);

        assertThat(reader.ask("release")).isEqualTo("released");
        assertThatThrownBy(() -> FileClaims.claim(source, "a destination of a copy"))
                .hasMessage(source + reading + " (kcopyd process " + second.pid() + ")");
        second.process().destroyForcibly();
        assertThat(second.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        Path record = Path.of(System.getProperty(ClaimDirectory.PROPERTY))
                .resolve(FileIdentity.of(source).name() + "." + second.pid() + ".reader");
        assertThat(record).as("kill -9 leaves the reader's record").exists();
        try (BlockDevice written = opener.open(source, DeviceOption.READ_WRITE)) {
            assertThat(written.sizeInSectors()).as("the last reader killed, the file is free").isEqualTo(8);
            Holder refused = start(source, ClaimHolder.READ);
            assertThat(refused.firstLine()).isEqualTo("refused " + source + " is a destination of a copy (kcopyd process "
                    + ProcessHandle.current().pid() + ")");
        }
    }

    /**
     * Within one process reading and claiming a file do not exclude each other (its jobs are checked
     * against each other where they are made); other processes see the claim while it is held and the
     * reading once the claim is released, and nothing once the reader is closed too.
     */
    @Test
    void thisProcessReadsAndClaimsAFileAndOthersSeeWhatItHoldsOfIt() throws Exception {
        Path file = image("both.img");
        String us = " (kcopyd process " + ProcessHandle.current().pid() + ")";
        try (BlockDevice reading = opener.open(file)) {
            try (BlockDevice writing = opener.open(file, DeviceOption.READ_WRITE)) {
                assertThat(start(file, ClaimHolder.READ).firstLine()).isEqualTo("refused " + file
                        + " is a destination of a copy" + us);
                try (BlockDevice again = opener.open(file)) {
                    assertThat(again.sizeInSectors()).isEqualTo(writing.sizeInSectors());
                }
            }
            assertThat(start(file, "leg 0 of mirror m").firstLine()).as("the claim released, the reading stays")
                    .isEqualTo("refused " + file + " is open for reading by kcopyd; writing it now would change what "
                            + "that process reads" + us);
            hold(file, ClaimHolder.READ).ask("release");
        }
        Holder claimed = hold(file, "leg 0 of mirror m");
        assertThat(claimed.ask("release")).isEqualTo("released");
    }

    @Test
    void aClaimOfAKilledProcessIsFreeAndWhatItLeftBehindIsNotBelieved() throws Exception {
        Path file = image("c.img");
        Holder killed = hold(file, "the COW store of snapshot s1");
        killed.process().destroyForcibly();
        assertThat(killed.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        Path record = Path.of(System.getProperty(ClaimDirectory.PROPERTY))
                .resolve(FileIdentity.of(file).name() + ".holder");
        assertThat(Files.readString(record)).as("kill -9 leaves its record").contains("pid=" + killed.pid());

        assertThat(FileClaims.holderOf(file)).isEmpty();
        FileClaims.claim(file, "a destination of a copy").close();

        Holder next = hold(file, "the COW store of snapshot s2");
        assertThatThrownBy(() -> FileClaims.claim(file, "a destination of a copy"))
                .hasMessage(file + " is the COW store of snapshot s2 (kcopyd process " + next.pid() + ")");
        next.process().destroyForcibly();
        assertThat(next.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
        FileClaims.claim(file, "a destination of a copy").close();
    }

    @Test
    void aLockFileThisProcessNoLongerUsesDoesNotFreeTheClaimsOfTheOneItUses() throws Exception {
        // As after an update of the kcopyd.device bundle: the old copy's lock file is referenced no more. Were its
        // channel collected and closed, the kernel would drop every lock of this process on claims.lock.
        WeakReference<ClaimLockFile> old = new WeakReference<>(
                ClaimLockFile.open(Path.of(System.getProperty(ClaimDirectory.PROPERTY))));
        Path file = image("d.img");
        try (FileClaim claim = FileClaims.claim(file, "leg 0 of mirror m")) {
            for (int i = 0; i < 10 && old.get() != null; i++) {
                System.gc();
            }
            Holder refused = start(file, "a destination of a copy");
            assertThat(refused.firstLine()).isEqualTo("refused " + file + " is leg 0 of mirror m (kcopyd process "
                    + ProcessHandle.current().pid() + ")");
        }
    }

    @Test
    void otherProcessesAreToldThePurposeOfTheMoment() throws IOException {
        Path origin = image("e.img");
        AtomicReference<String> purpose = new AtomicReference<>("the origin of snapshot s1");
        try (FileClaim claim = FileClaims.claim(origin, purpose::get)) {
            purpose.set("the origin of snapshots s1, s2");
            FileClaims.purposesChanged();
            assertThat(start(origin, "a destination of a copy").firstLine()).isEqualTo("refused " + origin
                    + " is the origin of snapshots s1, s2 (kcopyd process " + ProcessHandle.current().pid() + ")");

            purpose.set("the origin of snapshot s2");
            FileClaims.claim(image("s1.cow"), "the COW store of snapshot s1").close();
            assertThat(start(origin, "a destination of a copy").firstLine()).as("updated by a release too")
                    .contains(" is the origin of snapshot s2 (kcopyd process ");
        }
    }
}
