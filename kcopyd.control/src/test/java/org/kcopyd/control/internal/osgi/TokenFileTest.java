package org.kcopyd.control.internal.osgi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenFileTest {

    private static final String TOKEN = "0123456789abcdef".repeat(4);

    @TempDir
    Path dir;

    private Path file(String content, String permissions) throws IOException {
        Path f = dir.resolve("control.token");
        Files.writeString(f, content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(permissions));
        return f;
    }

    @Test
    void anOwnerOnlyFileGivesItsFirstLine() throws IOException {
        assertThat(TokenFile.read(file(TOKEN + "\n", "rw-------").toString())).isEqualTo(TOKEN);
        assertThat(TokenFile.read(file(TOKEN + "\nsecond line\n", "r--------").toString())).isEqualTo(TOKEN);
    }

    @Test
    void aFileOthersMayReadOrWriteIsRefusedNamingIt() throws IOException {
        Path f = file(TOKEN, "rw-r-----");
        assertThatThrownBy(() -> TokenFile.read(f.toString())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("GROUP_READ").hasMessageContaining("chmod 600");
        Path g = file(TOKEN, "rw-----w-");
        assertThatThrownBy(() -> TokenFile.read(g.toString())).hasMessageContaining("OTHERS_WRITE");
    }

    @Test
    void aMissingFileOrABadTokenIsRefusedNamingTheFile() throws IOException {
        String missing = dir.resolve("none").toString();
        assertThatThrownBy(() -> TokenFile.read(missing)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(missing + " does not exist");
        assertThatThrownBy(() -> TokenFile.read("control.token")).hasMessageContaining("not an absolute path");
        assertThatThrownBy(() -> TokenFile.read("")).hasMessageContaining("tokenFile is not set");
        Path shortToken = file("abc\n", "rw-------");
        assertThatThrownBy(() -> TokenFile.read(shortToken.toString())).hasMessageContaining(shortToken.toString())
                .hasMessageContaining("64 hexadecimal").hasMessageContaining("it has 3 characters");
        Path notHex = file("z".repeat(64), "rw-------");
        assertThatThrownBy(() -> TokenFile.read(notHex.toString())).hasMessageContaining("not all hexadecimal");
        Path empty = file("", "rw-------");
        assertThatThrownBy(() -> TokenFile.read(empty.toString())).hasMessageContaining("it has 0 characters");
    }

    @Test
    void aSymbolicLinkOrADirectoryIsRefused() throws IOException {
        Path real = file(TOKEN, "rw-------");
        Path link = Files.createSymbolicLink(dir.resolve("link"), real);
        assertThatThrownBy(() -> TokenFile.read(link.toString())).hasMessageContaining("not a regular file");
        assertThatThrownBy(() -> TokenFile.read(dir.toString())).hasMessageContaining("not a regular file");
    }
}
