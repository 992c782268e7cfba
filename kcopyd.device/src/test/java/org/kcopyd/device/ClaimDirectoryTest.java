package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClaimDirectoryTest {

    @TempDir
    Path dir;

    @Test
    void eachUserHasADirectoryOfItsOwnWhateverTheEnvironment() {
        assertThat(ClaimDirectory.defaultFor(0, Map.of("XDG_RUNTIME_DIR", "/run/user/0"), p -> true))
                .as("root, also with a runtime directory").last().isEqualTo(Path.of("/run/kcopyd/claims"));
        assertThat(ClaimDirectory.defaultFor(1000, Map.of("XDG_RUNTIME_DIR", "/run/user/1000"), p -> false))
                .containsExactly(Path.of("/run/user/1000"), Path.of("/run/user/1000/kcopyd"),
                        Path.of("/run/user/1000/kcopyd/claims"));
        assertThat(ClaimDirectory.defaultFor(1000, Map.of(), Path.of("/run/user/1000")::equals))
                .as("without XDG_RUNTIME_DIR (from cron, say), the directory a session would have")
                .last().isEqualTo(Path.of("/run/user/1000/kcopyd/claims"));
        assertThat(ClaimDirectory.defaultFor(1000, Map.of(), p -> false))
                .containsExactly(Path.of("/tmp"), Path.of("/tmp/kcopyd-claims-1000"));
    }

    @Test
    void aNamedDirectoryIsMadeForTheUserAlone() throws IOException {
        long uid = ClaimDirectory.currentUid();
        Path made = ClaimDirectory.locate(dir.resolve("new/claims").toString(), uid, Map.of());

        assertThat(made).isEqualTo(dir.resolve("new/claims").toRealPath());
        assertThat(Files.getPosixFilePermissions(made)).isEqualTo(PosixFilePermissions.fromString("rwx------"));
        assertThat(ClaimDirectory.locate(made.toString(), uid, Map.of())).as("and used again").isEqualTo(made);
        assertThat(((Number) Files.getAttribute(made, "unix:uid")).longValue()).isEqualTo(uid);
    }

    @Test
    void aDirectoryOthersCouldWriteToOrReplaceIsRefusedWithTheReason() throws IOException {
        long uid = ClaimDirectory.currentUid();
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> ClaimDirectory.check(shared, uid))
                .hasMessage("cannot use claims directory " + shared + ": it is writable by others (mode 0777); chmod go-w "
                        + shared);
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwx---"));
        assertThatThrownBy(() -> ClaimDirectory.locate(shared.toString(), uid, Map.of()))
                .hasMessageContaining("it is writable by its group (mode 0770)");

        Path mine = Files.createDirectory(dir.resolve("mine"));
        Files.setPosixFilePermissions(mine, PosixFilePermissions.fromString("rwxr-xr-x"));
        ClaimDirectory.check(mine, uid);
        assertThatThrownBy(() -> ClaimDirectory.check(mine, uid + 1))
                .hasMessage("cannot use claims directory " + mine + ": it belongs to uid " + uid + ", not to this user (uid "
                        + (uid + 1) + "); name another with -Dkcopyd.claims.dir=DIR");

        Path link = Files.createSymbolicLink(dir.resolve("link"), mine);
        assertThatThrownBy(() -> ClaimDirectory.check(link, uid)).hasMessageContaining(": it is a symbolic link;");
        Path file = Files.createFile(dir.resolve("file"));
        assertThatThrownBy(() -> ClaimDirectory.locate(file.toString(), uid, Map.of()))
                .hasMessageContaining(": it is not a directory;");
        assertThatThrownBy(() -> ClaimDirectory.locate(file.resolve("claims").toString(), uid, Map.of()))
                .hasMessageStartingWith("cannot use claims directory " + file.resolve("claims") + ": cannot create it (");
        assertThat(List.of(shared, mine)).as("nothing made in a refused directory")
                .allSatisfy(d -> assertThat(d.resolve(ClaimLockFile.LOCK_FILE)).doesNotExist());
    }
}
