package org.kcopyd.daemon.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ControlFilesTest {

    @TempDir
    Path dir;

    @Test
    void aNewTokenIs256RandomBitsInAnOwnerOnlyFileAndRemovesAStaleAddress() throws IOException {
        ControlFiles files = new ControlFiles(dir);
        Files.writeString(files.addressFile(), "{\"url\": \"http://127.0.0.1:1/\", \"pid\": 1, \"version\": \"0\"}");
        files.newToken();
        String first = Files.readString(files.tokenFile());
        assertThat(first).matches("[0-9a-f]{64}\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(files.tokenFile()))).isEqualTo("rw-------");
        assertThat(files.addressFile()).doesNotExist();
        files.newToken();
        assertThat(Files.readString(files.tokenFile())).matches("[0-9a-f]{64}\n").isNotEqualTo(first);
    }

    @Test
    void theAddressIsOwnerOnlyJsonAndWithdrawnOnRequest() throws IOException {
        ControlFiles files = new ControlFiles(dir);
        files.publish("http://127.0.0.1:41234/", 4242, "1.0.0.\"x\"");
        assertThat(Files.readString(files.addressFile()))
                .isEqualTo("{\"url\": \"http://127.0.0.1:41234/\", \"pid\": 4242, \"version\": \"1.0.0.\\\"x\\\"\"}\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(files.addressFile())))
                .isEqualTo("rw-------");
        files.withdraw();
        assertThat(files.addressFile()).doesNotExist();
    }

    @Test
    void onlyLoopbackHttpUrlsArePublished() {
        ControlFiles files = new ControlFiles(dir);
        for (String url : new String[] {"http://0.0.0.0:8080/", "http://10.0.0.1:8080/", "https://127.0.0.1:8443/",
            "http://127.0.0.1/", "not a uri"}) {
            assertThatThrownBy(() -> files.publish(url, 1, "1")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(url);
        }
        assertThat(files.addressFile()).doesNotExist();
    }
}
