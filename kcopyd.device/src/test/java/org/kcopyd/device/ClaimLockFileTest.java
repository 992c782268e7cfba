package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The claims directory on its own, each test in a directory of its own. */
class ClaimLockFileTest {

    private static final long PID = ProcessHandle.current().pid();

    @TempDir
    Path dir;

    @TempDir
    Path files;

    private Path image(String name) throws IOException {
        return Files.write(files.resolve(name), new byte[512]);
    }

    private Path record(Path file) throws IOException {
        return dir.resolve(FileIdentity.of(file).name() + ".holder");
    }

    @Test
    void twoRegistriesInOneProcessRefuseEachOther() throws IOException {
        // Two copies of the kcopyd.device bundle in one JVM: their OFD locks conflict in the kernel (the
        // JVM's lock table stands between POSIX ones).
        ClaimLockFile first = ClaimLockFile.open(dir);
        ClaimLockFile second = ClaimLockFile.open(dir);
        assertThat(first.ofd()).as("OFD locks wherever JNA runs on Linux").isEqualTo(FileHoles.system() != null);
        Path file = image("a.img");
        FileIdentity id = FileIdentity.of(file);

        ClaimLockFile.Held held = first.acquire(id, file, "leg 0 of mirror m");
        assertThatThrownBy(() -> second.acquire(id, file, "a destination of a copy"))
                .isInstanceOf(FileClaimedException.class)
                .hasMessage(file + " is leg 0 of mirror m (kcopyd process " + PID + ")");
        assertThat(second.holder(id, file)).get().extracting(FileClaim::isHeldHere).isEqualTo(false);

        held.release();
        assertThat(record(file)).as("released: its record is gone").doesNotExist();
        assertThat(second.holder(id, file)).isEmpty();
        second.acquire(id, file, "a destination of a copy").release();
        ClaimLockFile.Held again = first.acquire(id, file, "leg 0 of mirror m");
        assertThatThrownBy(() -> first.acquire(id, file, "twice")).as("one registry never takes a claim twice")
                .isInstanceOf(FileClaimedException.class);
        again.release();
    }

    @Test
    void theRecordFollowsThePurpose() throws IOException {
        ClaimLockFile lockFile = ClaimLockFile.open(dir);
        Path file = image("origin.img");
        FileIdentity id = FileIdentity.of(file);
        ClaimLockFile.Held held = lockFile.acquire(id, file, "the origin of snapshot s1");
        held.publish("the origin of snapshots s1, s2");

        assertThat(ClaimLockFile.open(dir).holder(id, file)).get().extracting(FileClaim::purpose)
                .isEqualTo("the origin of snapshots s1, s2");
        held.release();
    }

    @Test
    void aRecordOfAProcessThatIsGoneIsNotBelievedAndIsRemovedByTheNextOpen() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        assertThat(gone.waitFor(30, TimeUnit.SECONDS)).isTrue();
        ClaimLockFile lockFile = ClaimLockFile.open(dir);
        Path held = image("held.img");
        Path free = image("free.img");
        ClaimLockFile.Held claim = lockFile.acquire(FileIdentity.of(held), held, "the COW store of snapshot s1");
        String ours = Files.readString(record(held));
        // As a holder killed between taking its lock and writing its record would leave things.
        Files.writeString(record(held), ours.replace("pid=" + PID, "pid=" + gone.pid()));
        Files.writeString(record(free), ours.replace("pid=" + PID, "pid=" + gone.pid()));
        Path halfWritten = dir.resolve(FileIdentity.of(free).name() + ".holder." + gone.pid() + ".tmp");
        Files.writeString(halfWritten, "identity=");

        ClaimLockFile other = ClaimLockFile.open(dir);
        assertThatThrownBy(() -> other.acquire(FileIdentity.of(held), held, "a destination of a copy"))
                .isInstanceOf(FileClaimedException.class)
                .hasMessage(held + " is open for writing by another kcopyd process")
                .extracting(e -> ((FileClaimedException) e).holder().processId()).isEqualTo(OptionalLong.empty());
        assertThat(record(free)).as("nobody holds it: removed").doesNotExist();
        assertThat(halfWritten).as("its writer is gone: removed").doesNotExist();
        assertThat(record(held)).as("its lock is held: kept").exists();
        claim.release();
    }
    /**
     * Found by H29: entries named as reader records that are no records — a link to /dev/zero (read
     * without bound: out of memory), a FIFO (its open blocked), a huge file, a non-empty directory
     * (its removal failed every open) — made every kcopyd process of the user crash, hang or fail.
     * Now they are no records: the directory opens at once, claims and readers work and name no one
     * from them, and what can go goes; the link's target is untouched.
     */
    @Test
    @org.junit.jupiter.api.Timeout(value = 30, unit = TimeUnit.SECONDS)
    void entriesThatAreNoRecordsNeitherBlockNorCrashNorFailTheDirectory() throws Exception {
        Path file = image("f.img");
        String id = FileIdentity.of(file).name();
        Path toZero = Files.createSymbolicLink(dir.resolve(id + ".101.reader"), Path.of("/dev/zero"));
        Path fifo = dir.resolve(id + ".102.reader");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertThat(mkfifo.waitFor(30, TimeUnit.SECONDS) && mkfifo.exitValue() == 0).as("mkfifo").isTrue();
        Path huge = dir.resolve(id + ".103.reader");
        Files.write(huge, new byte[1 << 20]);
        Path full = Files.createDirectories(dir.resolve(id + ".104.reader"));
        Files.write(full.resolve("x"), new byte[1]);
        Path holderLink = Files.createSymbolicLink(dir.resolve(id + ".holder"), Path.of("/dev/zero"));

        ClaimLockFile lockFile = ClaimLockFile.open(dir);

        assertThat(toZero).as("a link is no record: removed").doesNotExist();
        assertThat(fifo).as("a FIFO is no record: removed").doesNotExist();
        assertThat(huge).as("too large to be a record: removed").doesNotExist();
        assertThat(full).as("a non-empty directory cannot go: left").exists();
        assertThat(holderLink).as("its lock is free: removed").doesNotExist();
        assertThat(Path.of("/dev/zero")).exists();
        ClaimLockFile.Lock reading = lockFile.acquireReader(FileIdentity.of(file), file);
        ClaimLockFile other = ClaimLockFile.open(dir);
        assertThat(other.holder(FileIdentity.of(file), file)).as("a reader is no claim").isEmpty();
        assertThatThrownBy(() -> other.acquire(FileIdentity.of(file), file, "a destination of a copy"))
                .isInstanceOf(FileClaimedException.class).hasMessageContaining(" is open for reading");
        if (reading != null) {
            reading.release();
        }
        other.acquire(FileIdentity.of(file), file, "a destination of a copy").release();
    }
}
