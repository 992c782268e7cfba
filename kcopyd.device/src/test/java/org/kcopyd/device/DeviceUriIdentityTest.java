package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link DeviceUriIdentity}: spellings of one NBD export are one identity, other exports are not; other
 * schemes keep the plain normalization (scheme and host in lower case, dot segments removed).
 */
class DeviceUriIdentityTest {

    @TempDir
    Path dir;

    private static String id(String uri) {
        return DeviceUriIdentity.of(URI.create(uri));
    }

    @Test
    void oneUnixSocketSpeltDifferentlyIsOneExport() throws IOException {
        Path sock = Files.createFile(dir.resolve("a.sock"));
        Path link = Files.createSymbolicLink(dir.resolve("link.sock"), sock);
        String plain = id("nbd+unix:///?socket=" + sock);
        assertThat(id("nbd+unix:///?socket=" + dir + "/./a.sock")).isEqualTo(plain);
        assertThat(id("nbd+unix:///?socket=" + dir + "/x/../a.sock")).isEqualTo(plain);
        assertThat(id("nbd+unix:///?socket=" + link)).isEqualTo(plain);
        assertThat(id("nbd+unix://?socket=" + sock)).as("no path is the default export").isEqualTo(plain);
        assertThat(id("NBDS+UNIX:///?socket=" + sock + "&tls-certificates=/etc/pki")).isEqualTo(plain);
        assertThat(id("nbd+unix:///?socket=" + sock.toString().replace("a.sock", "%61.sock"))).isEqualTo(plain);
        String relative = Path.of("").toAbsolutePath().relativize(sock).toString();
        assertThat(id("nbd+unix:///?socket=" + relative)).isEqualTo(plain);

        assertThat(id("nbd+unix:///other?socket=" + sock)).isNotEqualTo(plain);
        assertThat(id("nbd+unix:///?socket=" + dir.resolve("b.sock"))).isNotEqualTo(plain);
        assertThat(id("nbd:///?socket=" + sock)).isNotEqualTo(plain);
    }

    @Test
    void oneTcpExportSpeltDifferentlyIsOneExport() {
        String plain = id("nbd://host.example/disk%20a");
        assertThat(id("nbd://HOST.example:10809/disk a".replace(" ", "%20"))).isEqualTo(plain);
        assertThat(id("nbds://host.example/x/../disk%20a")).isEqualTo(plain);
        assertThat(id("nbd://host.example/dis%6B%20a")).isEqualTo(plain);

        assertThat(id("nbd://host.example:10810/disk%20a")).isNotEqualTo(plain);
        assertThat(id("nbd://host.example/disk%20b")).isNotEqualTo(plain);
        assertThat(id("nbd://other.example/disk%20a")).isNotEqualTo(plain);
        assertThat(id("nbd://host.example/")).isNotEqualTo(id("nbd://host.example/%2F"));
    }

    /** H49-2: one server under spellings of its address is one server; another address is another. */
    @Test
    void aHostIsTheAddressItResolvesTo() throws Exception {
        String plain = id("nbd://127.0.0.1:10811/");
        assertThat(id("nbd://[::ffff:127.0.0.1]:10811/")).isEqualTo(plain);
        assertThat(id("nbd://2130706433:10811/")).isEqualTo(plain);
        String local = java.net.InetAddress.getByName("localhost").getHostAddress();
        assertThat(id("nbd://LocalHost:10811")).isEqualTo(id("nbd://" + (local.contains(":") ? "[" + local + "]" : local)
                + ":10811/"));
        assertThat(id("nbd://127.0.0.2:10811/")).isNotEqualTo(plain);
        assertThat(id("nbd://[::1]:10811/")).isNotEqualTo(plain);
    }

    @Test
    void otherSchemesKeepThePlainNormalization() {
        assertThat(id("MEM://D/a/../x")).isEqualTo("mem://d/x");
        assertThat(id("mem://d/x%20y")).isEqualTo("mem://d/x%20y");
        assertThat(id("mem://d/x")).isNotEqualTo(id("mem://d/y"));
    }
}
