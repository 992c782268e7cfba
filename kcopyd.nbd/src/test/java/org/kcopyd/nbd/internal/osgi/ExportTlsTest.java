package org.kcopyd.nbd.internal.osgi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.kcopyd.nbd.internal.osgi.OsgiFixture.read;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.nbd.NbdClient;
import org.kcopyd.nbd.NbdClientOptions;
import org.kcopyd.nbd.NbdConfig;
import org.kcopyd.nbd.NbdUri;
import org.kcopyd.nbd.TestCertificates;

/** The export component's TLS properties: tlsCertificates and tlsVerifyClients. */
class ExportTlsTest {

    private static final int SIZE = 1 << 20;

    @TempDir
    Path dir;
    private OsgiFixture osgi;
    private TestCertificates certs;
    private final NbdListeners listeners = new NbdListeners();
    private final List<ExportComponent> active = new ArrayList<>();
    private final List<BlockDevice> clients = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        certs = TestCertificates.make(dir.resolve("certs"), false);
        osgi = new OsgiFixture(dir.resolve("osgi"));
    }

    @AfterEach
    void stop() throws Exception {
        clients.forEach(OsgiFixture::closeQuietly);
        active.forEach(ExportComponent::deactivate);
        listeners.close();
        osgi.close();
    }

    private Map<String, Object> config(String name, String device, Object... more) {
        Map<String, Object> props = new HashMap<>();
        props.put(NbdConfig.EXPORT_NAME, name);
        props.put(NbdConfig.EXPORT_DEVICE, device);
        props.put(NbdConfig.EXPORT_SOCKET, dir.resolve("s.sock").toString());
        props.put(NbdConfig.EXPORT_TLS_CERTIFICATES, certs.server.toString());
        for (int i = 0; i < more.length; i += 2) {
            if (more[i + 1] == null) {
                props.remove((String) more[i]);
            } else {
                props.put((String) more[i], more[i + 1]);
            }
        }
        return props;
    }

    private ExportComponent activate(Map<String, Object> props) throws Exception {
        ExportComponent c = new ExportComponent();
        c.listeners = listeners;
        c.opener = new FileDeviceOpener(false, "an NBD TLS export test");
        c.activate(osgi.context(), OsgiFixture.annotation(ExportConfiguration.class, props), props);
        active.add(c);
        return c;
    }

    private BlockDevice connect(NbdUri uri) throws IOException {
        BlockDevice device = NbdClient.connect(uri, NbdClientOptions.defaults().withRequestTimeout(Duration.ofSeconds(10)));
        clients.add(device);
        return device;
    }

    private Path image(String file, long seed) throws IOException {
        byte[] data = new byte[SIZE];
        new Random(seed).nextBytes(data);
        return Files.write(dir.resolve(file), data);
    }

    @Test
    void aTlsExportIsReadOverTlsAndRefusedToPlainClients() throws Exception {
        Path file = image("a.img", 1);
        activate(config("disk", file.toString()));
        NbdUri plain = NbdUri.unix(dir.resolve("s.sock"), "disk");
        assertThat(read(connect(plain.withTls(certs.trust)), 0, SIZE)).isEqualTo(Files.readAllBytes(file));
        assertThatThrownBy(() -> connect(plain)).isInstanceOf(IOException.class)
            .hasMessageContaining("the server requires TLS");
    }

    @Test
    void clientCertificatesAreVerifiedWhenConfigured() throws Exception {
        activate(config("disk", image("a.img", 2).toString(), NbdConfig.EXPORT_TLS_VERIFY_CLIENTS, true));
        NbdUri plain = NbdUri.unix(dir.resolve("s.sock"), "disk");
        assertThat(read(connect(plain.withTls(certs.client)), 0, 512)).hasSize(512);
        assertThatThrownBy(() -> connect(plain.withTls(certs.trust))).isInstanceOf(IOException.class);
    }

    @Test
    void tlsAllowsANonLoopbackAddressWithoutInsecure() {
        Map<String, Object> props = config("", "/dev/null", NbdConfig.EXPORT_SOCKET, null,
            NbdConfig.EXPORT_LISTEN, "192.0.2.1:10809");
        ExportSettings settings = ExportSettings.of(OsgiFixture.annotation(ExportConfiguration.class, props));
        assertThat(settings.exposed()).isFalse();
        assertThat(settings.tlsCertificates()).isEqualTo(certs.server);
        props.remove(NbdConfig.EXPORT_TLS_CERTIFICATES);
        assertThatThrownBy(() -> ExportSettings.of(OsgiFixture.annotation(ExportConfiguration.class, props)))
            .hasMessageContaining("192.0.2.1:10809 is not a loopback address, and no tlsCertificates is given");
    }

    @Test
    void badTlsValuesAreRefusedNamingThem() throws Exception {
        String file = image("a.img", 3).toString();
        assertThatThrownBy(() -> activate(config("", file, NbdConfig.EXPORT_TLS_CERTIFICATES, "certs")))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tlsCertificates 'certs' is not an"
                + " absolute path");
        assertThatThrownBy(() -> activate(config("", file, NbdConfig.EXPORT_TLS_CERTIFICATES, null,
            NbdConfig.EXPORT_TLS_VERIFY_CLIENTS, true)))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tlsVerifyClients=true needs");
        Files.delete(certs.server.resolve("server-key.pem"));
        assertThatThrownBy(() -> activate(config("", file))).isInstanceOf(IOException.class)
            .hasMessageContaining(certs.server.resolve("server-key.pem") + " does not exist");
        assertThat(dir.resolve("s.sock")).doesNotExist();
    }

    @Test
    void exportsSharingAListenerMustShareItsTls() throws Exception {
        activate(config("a", image("a.img", 4).toString()));
        assertThatThrownBy(() -> activate(config("b", image("b.img", 5).toString(),
            NbdConfig.EXPORT_TLS_CERTIFICATES, null)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("export 'b' asks for TLS none")
            .hasMessageContaining("whose listener serves other exports with TLS " + certs.server);
        Path c = image("c.img", 6);
        activate(config("c", c.toString()));
        assertThat(read(connect(NbdUri.unix(dir.resolve("s.sock"), "c").withTls(certs.trust)), 0, SIZE))
            .isEqualTo(Files.readAllBytes(c));
    }
}
