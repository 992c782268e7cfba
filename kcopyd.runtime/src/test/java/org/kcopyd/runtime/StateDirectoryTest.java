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
        assertThatThrownBy(() -> StateDirectory.open(state, uid(base))).hasMessageContaining("writable by others");
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
}
