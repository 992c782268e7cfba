package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateDirectoryTest {

    @TempDir
    Path base;

    private static int uid(Path path) throws Exception {
        return (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    }

    private static String mode(Path path) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aMissingDirectoryIsMadeOwnerOnlyWithItsSubdirectoriesAndLockedWithThePid() throws Exception {
        Path state = base.resolve("a/b/state");
        StateDirectory held = StateDirectory.open(state, uid(base));
        try {
            assertThat(mode(state)).isEqualTo("rwx------");
            assertThat(mode(state.resolve("config"))).isEqualTo("rwx------");
            assertThat(mode(state.resolve("logs"))).isEqualTo("rwx------");
            assertThat(mode(state.resolve("lock"))).isEqualTo("rw-------");
            assertThat(Files.readString(state.resolve("lock"))).isEqualTo(ProcessHandle.current().pid() + "\n");
            assertThat(held.path()).isEqualTo(state);
        } finally {
            held.release();
        }
    }

    @Test
    void aSecondDaemonIsRefusedNamingTheHolder() throws Exception {
        Path state = base.resolve("state");
        StateDirectory held = StateDirectory.open(state, uid(base));
        try {
            assertThatThrownBy(() -> StateDirectory.open(state, uid(base)))
                    .isInstanceOf(StateDirectory.RefusedException.class)
                    .hasMessageContaining(state.toString()).hasMessageContaining("in use by another kcopyd daemon")
                    .hasMessageContaining("pid " + ProcessHandle.current().pid());
        } finally {
            held.release();
        }
        StateDirectory.open(state, uid(base)).release();
    }

    @Test
    void aSharedLockIsFreeOnlyWhenNoDaemonHoldsTheDirectory() throws Exception {
        Path state = base.resolve("state");
        StateDirectory.open(state, uid(base)).release();
        try (FileChannel client = FileChannel.open(state.resolve("lock"), StandardOpenOption.READ)) {
            var shared = client.tryLock(0, Long.MAX_VALUE, true);
            assertThat(shared).as("no daemon: the client's shared lock is granted").isNotNull();
            shared.release();
        }
        // While held, the other process's view is tested by StateDirectoryIT (fcntl locks are per process).
    }

    @Test
    void groupOrOthersWritableSymbolicLinksOtherOwnersAndFilesAreRefused() throws Exception {
        Path state = Files.createDirectory(base.resolve("state"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxrwx---"));
        assertThatThrownBy(() -> StateDirectory.open(state, uid(base))).hasMessageContaining(state.toString())
                .hasMessageContaining("writable by its group").hasMessageContaining("rwxrwx---");
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwx---rwx"));
        // Found by H25: /tmp was advised "chmod 700 /tmp"; a directory everyone writes is named as shared instead.
        assertThatThrownBy(() -> StateDirectory.open(state, uid(base))).hasMessageContaining("writable by others")
                .hasMessageContaining("name a new directory (for example " + state.resolve("kcopyd"))
                .hasMessageNotContaining("chmod");
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));

        Path link = Files.createSymbolicLink(base.resolve("link"), state);
        assertThatThrownBy(() -> StateDirectory.open(link, uid(base))).hasMessageContaining(link.toString())
                .hasMessageContaining("symbolic link");

        assertThatThrownBy(() -> StateDirectory.open(state, uid(base) + 1)).hasMessageContaining(state.toString())
                .hasMessageContaining("owned by user id " + uid(base));

        Path file = Files.writeString(base.resolve("file"), "x");
        assertThatThrownBy(() -> StateDirectory.open(file, uid(base))).hasMessageContaining("not a directory");
        assertThat(Files.readString(file)).isEqualTo("x");
        StateDirectory.open(state, uid(base)).release();
    }

    /**
     * Found by H25: {@code --state /dev} made the daemon's files among the device nodes (and its reservation
     * then refused every block device); a state directory in /dev, /proc or /sys is refused before anything
     * is made.
     */
    @Test
    void aStateDirectoryAmongDeviceNodesOrKernelObjectsIsRefusedBeforeAnythingIsMade() throws Exception {
        for (Path place : new Path[] {Path.of("/dev/kcopyd-test-" + ProcessHandle.current().pid()), Path.of("/dev"),
                Path.of("/proc/kcopyd-test"), Path.of("/sys/fs/kcopyd-test")}) {
            assertThatThrownBy(() -> StateDirectory.open(place, uid(base))).as(place.toString())
                    .isInstanceOf(StateDirectory.RefusedException.class)
                    .hasMessageStartingWith("state directory " + place + " would be in ")
                    .hasMessageContaining("file system of device nodes and kernel objects, not files");
            assertThat(place.resolve("lock")).doesNotExist();
        }
    }

    /** Found by H25: a second daemon made its lock, token and logs inside a running daemon's state directory. */
    @Test
    void aStateDirectoryInsideAnotherIsRefused() throws Exception {
        Path state = base.resolve("state");
        StateDirectory held = StateDirectory.open(state, uid(base));
        try {
            for (Path inside : new Path[] {state.resolve("sub"), state.resolve("config"), state.resolve("logs/x/y")}) {
                assertThatThrownBy(() -> StateDirectory.open(inside, uid(base))).as(inside.toString())
                        .hasMessage("state directory " + inside + " would be inside " + state.toRealPath()
                                + ", the state directory of another kcopyd daemon: name a directory outside it");
            }
            assertThat(state.resolve("sub")).doesNotExist();
            assertThat(state.resolve("config/lock")).doesNotExist();
        } finally {
            held.release();
        }
    }

    /**
     * A directory holding other files is not made a state directory (the daemon would hold all of them as its
     * own); a new, empty or prepared one (its config directory made in advance) is, and so is one again.
     */
    @Test
    void aDirectoryHoldingOtherFilesIsNotMadeAStateDirectory() throws Exception {
        Path home = Files.createDirectory(base.resolve("home"));
        Files.writeString(home.resolve("notes.txt"), "mine");
        Files.createDirectory(home.resolve("photos"));
        assertThatThrownBy(() -> StateDirectory.open(home, uid(base)))
                .hasMessage("state directory " + home + " holds other files (notes.txt, photos) and is not a kcopyd "
                        + "state directory (it has no lock): name a new or empty directory, which the daemon keeps as "
                        + "its own");
        assertThat(home.resolve("lock")).doesNotExist();
        assertThat(home.resolve("config")).doesNotExist();

        Path prepared = Files.createDirectories(base.resolve("prepared/config"));
        Files.setPosixFilePermissions(prepared, PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(prepared.getParent(), PosixFilePermissions.fromString("rwx------"));
        Files.writeString(prepared.resolve("org.kcopyd.engine.config"), "defaultPages=I\"512\"\n");
        StateDirectory.open(prepared.getParent(), uid(base)).release();
        Path again = base.resolve("again");
        StateDirectory.open(again, uid(base)).release();
        Files.writeString(again.resolve("logs/kcopyd.log"), "a log line\n");
        StateDirectory.open(again, uid(base)).release();
    }
}
