package org.kcopyd.nbd.internal.osgi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kcopyd.nbd.internal.osgi.OsgiFixture.read;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ServiceLoader;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.UriDeviceProvider;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.nbd.NbdClientOptions;
import org.kcopyd.nbd.NbdConfig;
import org.kcopyd.nbd.NbdServer;

/**
 * The NBD device provider: its schemes, ServiceLoader discovery, its configuration's ranges,
 * bad URIs (IllegalArgumentException) against failed connections (IOException naming the URI),
 * and the options: read-only without READ_WRITE, DSYNC refused.
 */
class NbdDeviceProviderTest {

    @TempDir
    Path dir;

    private final NbdDeviceProvider provider = new NbdDeviceProvider();

    @Test
    void servesTheFourNbdSchemesAndIsFoundByServiceLoader() {
        assertThat(provider.schemes()).containsExactlyInAnyOrder("nbd", "nbd+unix", "nbds", "nbds+unix");
        assertThat(ServiceLoader.load(UriDeviceProvider.class).stream().map(ServiceLoader.Provider::type))
            .contains(NbdDeviceProvider.class);
    }

    @Test
    void theConfigurationIsCheckedAndApplied() {
        assertThat(provider.options().requestTimeout()).isEqualTo(Duration.ofSeconds(60));
        provider.configure(OsgiFixture.annotation(ClientConfiguration.class,
            java.util.Map.of(NbdConfig.CLIENT_REQUEST_TIMEOUT_SECONDS, 5, NbdConfig.CLIENT_CONNECTIONS, 4)));
        assertThat(provider.options().requestTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(provider.options().connections()).isEqualTo(4);
        assertThatThrownBy(() -> NbdDeviceProvider.options(0, 1)).isInstanceOf(IllegalArgumentException.class)
            .hasMessage("org.kcopyd.nbd.client: requestTimeoutSeconds 0 is outside the allowed range 1..86400");
        assertThatThrownBy(() -> NbdDeviceProvider.options(60, 17)).isInstanceOf(IllegalArgumentException.class)
            .hasMessage("org.kcopyd.nbd.client: connections 17 is outside the allowed range 0..16 (0: the default, "
                + NbdClientOptions.DEFAULT_CONNECTIONS + " here)");
        assertThat(NbdDeviceProvider.options(60, 0).connections()).isEqualTo(NbdClientOptions.DEFAULT_CONNECTIONS);
        assertThat(NbdDeviceProvider.options(60, 1).connections()).isEqualTo(1);
        assertThat(provider.options().requestTimeout()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void theTlsCertificatesOfTheConfigurationAreAbsolute() {
        assertThat(provider.options().tlsCertificates()).isNull();
        provider.configure(OsgiFixture.annotation(ClientConfiguration.class,
            java.util.Map.of(NbdConfig.CLIENT_TLS_CERTIFICATES, "/etc/pki/nbd")));
        assertThat(provider.options().tlsCertificates()).isEqualTo(java.nio.file.Path.of("/etc/pki/nbd"));
        assertThatThrownBy(() -> provider.configure(OsgiFixture.annotation(ClientConfiguration.class,
            java.util.Map.of(NbdConfig.CLIENT_TLS_CERTIFICATES, "pki"))))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("org.kcopyd.nbd.client: tlsCertificates 'pki' is not an absolute path");
        assertThat(provider.options().tlsCertificates()).isEqualTo(java.nio.file.Path.of("/etc/pki/nbd"));
    }

    @Test
    void aBadUriIsAnIllegalArgumentAndAFailedConnectionAnIoExceptionNamingTheUri() {
        assertThatThrownBy(() -> provider.open(URI.create("nbd://host:0/x")))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nbd://host:0/x");
        assertThatThrownBy(() -> provider.open(URI.create("nbd+unix:///?foo=bar")))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nbd+unix:///?foo=bar");
        String uri = "nbd+unix:///?socket=" + dir.resolve("nothing.sock");
        assertThatThrownBy(() -> provider.open(URI.create(uri))).isInstanceOf(IOException.class)
            .hasMessageContaining(uri).hasMessageEndingWith("cannot open the export: No such file or directory")
            .message().doesNotContain("Exception");
        assertThatThrownBy(() -> provider.open(URI.create("nbds+unix:///?socket=/x.sock")))
            .isInstanceOf(IOException.class).hasMessageContaining("nbds+unix:///?socket=/x.sock");
    }

    @Test
    void withoutReadWriteTheDeviceRefusesWritesAndDsyncIsRefused() throws Exception {
        MemoryBlockDevice memory = new MemoryBlockDevice("m", 16);
        Path socket = dir.resolve("p.sock");
        try (NbdServer server = NbdServer.builder().export("", memory, false).startUnix(socket)) {
            URI uri = URI.create("nbd+unix:///?socket=" + socket);
            try (BlockDevice ro = provider.open(uri)) {
                assertThat(ro.isReadOnly()).isTrue();
                assertThat(read(ro, 0, 512)).hasSize(512);
                assertThatThrownBy(() -> OsgiFixture.write(ro, 0, new byte[512]))
                    .hasMessageContaining("opened read-only");
            }
            try (BlockDevice rw = provider.open(uri, DeviceOption.READ_WRITE)) {
                assertThat(rw.isReadOnly()).isFalse();
                OsgiFixture.write(rw, 0, filled(512));
                assertThat(read(memory, 0, 512)).isEqualTo(filled(512));
            }
            assertThatThrownBy(() -> provider.open(uri, DeviceOption.READ_WRITE, DeviceOption.DSYNC))
                .isInstanceOf(IOException.class).hasMessageContaining("DSYNC");
        }
    }

    @Test
    void readWriteOfAReadOnlyExportIsRefused() throws Exception {
        Path socket = dir.resolve("r.sock");
        try (NbdServer server = NbdServer.builder().export("", new MemoryBlockDevice("m", 16), true)
            .startUnix(socket)) {
            URI uri = URI.create("nbd+unix:///?socket=" + socket);
            assertThatThrownBy(() -> provider.open(uri, DeviceOption.READ_WRITE)).isInstanceOf(IOException.class)
                .hasMessageContaining(uri.toString()).hasMessageContaining("read-only");
        }
    }

    private static byte[] filled(int n) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) 0x5a);
        return b;
    }
}
