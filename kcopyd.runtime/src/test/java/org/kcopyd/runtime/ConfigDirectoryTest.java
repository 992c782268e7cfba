package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checks of a configuration directory, as ssh checks its keys. */
class ConfigDirectoryTest {

    @TempDir
    Path root;

    private Path etc;
    private int uid;

    @BeforeEach
    void directory() throws Exception {
        etc = Files.createDirectories(root.resolve("etc"));
        Files.setPosixFilePermissions(etc, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(etc.resolve("org.kcopyd.engine.cfg"), "defaultPages = 512\n");
        Files.setPosixFilePermissions(etc.resolve("org.kcopyd.engine.cfg"), PosixFilePermissions.fromString("rw-r--r--"));
        uid = (Integer) Files.getAttribute(etc, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    }

    @Test
    void aDirectoryOnlyItsOwnerCanChangeIsAccepted() throws Exception {
        Files.writeString(etc.resolve("notes.txt"), "not configuration: not checked, not read");
        Files.setPosixFilePermissions(etc.resolve("notes.txt"), PosixFilePermissions.fromString("rw-rw-rw-"));

        assertThat(ConfigDirectory.check(etc.toString(), uid)).isEqualTo(etc.toRealPath());
    }

    @Test
    void aWorldWritableDirectoryIsRefusedWithItsModeAndTheFix() throws Exception {
        Files.setPosixFilePermissions(etc, PosixFilePermissions.fromString("rwxrwxrwx"));

        assertThatThrownBy(() -> ConfigDirectory.check(etc.toString(), uid))
                .hasMessage("refusing configuration directory " + etc + ": " + etc.toRealPath()
                        + " is writable by others (mode 0777); chmod go-w " + etc.toRealPath());
    }

    @Test
    void aWorldWritableDirectoryAboveIsRefusedUnlessSticky() throws Exception {
        Path above = root.resolve("shared");
        Path inside = Files.createDirectories(above.resolve("etc"));
        Files.setPosixFilePermissions(above, PosixFilePermissions.fromString("rwxrwxrwx"));

        assertThatThrownBy(() -> ConfigDirectory.check(inside.toString(), uid)).hasMessageContaining(
                above.toRealPath() + " is writable by others (mode 0777)");

        Files.setAttribute(above, "unix:mode", 01777);
        assertThat(ConfigDirectory.check(inside.toString(), uid)).isEqualTo(inside.toRealPath());
    }

    @Test
    void aConfigurationFileItsGroupCanWriteIsRefused() throws Exception {
        Path file = etc.resolve("org.kcopyd.engine.cfg");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-r--"));

        assertThatThrownBy(() -> ConfigDirectory.check(etc.toString(), uid)).hasMessage("refusing configuration file "
                + file + ": " + file.toRealPath() + " is writable by its group (mode 0664); chmod go-w "
                + file.toRealPath());
    }

    @Test
    void aLinkToAFileOthersCanWriteIsRefused() throws Exception {
        Path elsewhere = Files.createDirectories(root.resolve("elsewhere"));
        Files.setPosixFilePermissions(elsewhere, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path target = Files.writeString(elsewhere.resolve("x.cfg"), "name = x\n");
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
        Files.createSymbolicLink(etc.resolve("org.kcopyd.mirror-x.cfg"), target);

        assertThatThrownBy(() -> ConfigDirectory.check(etc.toString(), uid))
                .hasMessageContaining(elsewhere.toRealPath() + " is writable by others");
    }

    @Test
    void aDirectoryNamedLikeAConfigurationFileIsRefused() throws Exception {
        Files.createDirectories(etc.resolve("org.kcopyd.mirror-x.cfg"));

        assertThatThrownBy(() -> ConfigDirectory.check(etc.toString(), uid))
                .hasMessageEndingWith("org.kcopyd.mirror-x.cfg is not a regular file");
    }

    @Test
    void somebodyElsesDirectoryIsRefused() throws Exception {
        // Root's directories are accepted for everybody: as root, give the directory to another user.
        int owner = uid;
        if (uid == 0) {
            owner = 4242;
            Files.setAttribute(etc, "unix:uid", owner);
        }
        int caller = owner + 1;

        assertThatThrownBy(() -> ConfigDirectory.check(etc.toString(), caller)).hasMessage("refusing configuration "
                + "directory " + etc + ": " + etc.toRealPath() + " is owned by user " + owner + ", not by you ("
                + caller + ") or root");
    }

    @Test
    void aMissingDirectoryOrAFileIsRefused() throws Exception {
        assertThatThrownBy(() -> ConfigDirectory.check(root.resolve("none").toString(), uid))
                .hasMessage("configuration directory " + root.resolve("none") + " does not exist");
        assertThatThrownBy(() -> ConfigDirectory.check(etc.resolve("org.kcopyd.engine.cfg").toString(), uid))
                .hasMessageEndingWith("is not a directory");
    }
}
