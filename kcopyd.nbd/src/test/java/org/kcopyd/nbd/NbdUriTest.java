package org.kcopyd.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class NbdUriTest {

    @Test
    void tcpWithHostPortAndExport() {
        NbdUri uri = NbdUri.parse("nbd://example.com:10810/disk");
        assertThat(uri.isUnix()).isFalse();
        assertThat(uri.tls()).isFalse();
        assertThat(uri.host()).isEqualTo("example.com");
        assertThat(uri.port()).isEqualTo(10810);
        assertThat(uri.exportName()).isEqualTo("disk");
        assertThat(uri.toString()).isEqualTo("nbd://example.com:10810/disk");
    }

    @Test
    void tcpDefaultsToPort10809AndTheDefaultExport() {
        assertThat(NbdUri.parse("nbd://example.com").port()).isEqualTo(10809);
        assertThat(NbdUri.parse("nbd://example.com").exportName()).isEmpty();
        assertThat(NbdUri.parse("nbd://example.com/").exportName()).isEmpty();
        assertThat(NbdUri.parse("nbd://example.com").toString()).isEqualTo("nbd://example.com/");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "nbd://example.com/disk|disk",
        "nbd+unix:///disk?socket=sock|disk",
        "nbd://example.com//disk|/disk",
        "nbd://example.com/hello%20world|hello world",
        "nbd://example.com/caf%C3%A9|café"
    })
    void exportNamesAsTheSpecSays(String text, String exportName) {
        assertThat(NbdUri.parse(text).exportName()).isEqualTo(exportName);
    }

    @Test
    void unixSocket() {
        NbdUri uri = NbdUri.parse("nbd+unix:///disk?socket=/run/nbd%20x.sock");
        assertThat(uri.isUnix()).isTrue();
        assertThat(uri.socket()).isEqualTo(Path.of("/run/nbd x.sock"));
        assertThat(uri.host()).isNull();
        assertThat(uri.toString()).isEqualTo("nbd+unix:///disk?socket=/run/nbd%20x.sock");
        assertThat(NbdUri.parse(uri.toString())).isEqualTo(uri);
    }

    @Test
    void ipv6Host() {
        NbdUri uri = NbdUri.parse("nbd://[::1]:2000/x");
        assertThat(uri.host()).isEqualTo("::1");
        assertThat(uri.toString()).isEqualTo("nbd://[::1]:2000/x");
    }

    @Test
    void tlsSchemesAreParsedAndMarked() {
        assertThat(NbdUri.parse("nbds://example.com/disk").tls()).isTrue();
        NbdUri unix = NbdUri.parse("nbds+unix:///disk?socket=/tmp/s");
        assertThat(unix.tls()).isTrue();
        assertThat(unix.isUnix()).isTrue();
        assertThat(unix.toString()).isEqualTo("nbds+unix:///disk?socket=/tmp/s");
    }

    @Test
    void factoriesRoundTrip() {
        NbdUri tcp = NbdUri.tcp("127.0.0.1", 5000, "a b");
        assertThat(NbdUri.parse(tcp.toString())).isEqualTo(tcp);
        NbdUri unix = NbdUri.unix(Path.of("/tmp/x?y.sock"), "e&f");
        assertThat(NbdUri.parse(unix.toString())).isEqualTo(unix);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "http://example.com/disk|scheme 'http' is not nbd",
        "example.com/disk|it has no scheme",
        "nbd:disk|it has no '//'",
        "nbd:///disk|a TCP URI needs a host",
        "nbd://example.com:0/disk|port 0 is outside 1-65535",
        "nbd://example.com:70000/disk|outside 1-65535",
        "nbd://user@example.com/disk|user information 'user'",
        "nbd://example.com/disk#frag|a fragment",
        "nbd://example.com/disk?socket=/x|query parameter 'socket' is not understood",
        "nbd+unix:///disk|needs ?socket=PATH",
        "nbd+unix:///disk?socket=|needs ?socket=PATH",
        "nbd+unix://host/disk?socket=/x|a Unix socket URI has no host",
        "nbd+unix:///disk?socket=/x&socket=/y|given twice",
        "nbd+unix:///disk?socket=/x&color=red|query parameter 'color' is not understood",
        "nbds://example.com/disk?tls-type=x509|TLS parameter 'tls-type' is not supported (X.509 certificates only",
        "nbds://example.com/disk?tls-psk-file=/k|TLS parameter 'tls-psk-file' is not supported",
        "nbds://example.com/disk?tls-verify-peer=false|the server's certificate is always verified",
        "nbds://example.com/disk?tls-certificates=/a&tls-certificates=/b|tls-certificates parameter is given twice",
        "nbds://example.com/disk?tls-certificates=|is not a directory name",
        "nbd://example.com/disk?tls-certificates=/a|TLS parameter 'tls-certificates' needs the scheme nbds",
        "nbd+unix:///disk?socket=/x&tls-certificates=/a|needs the scheme nbds+unix",
        "nbd://example.com/%zz|Malformed escape pair at index 18",
        "nbd://example.com/a%2|Malformed escape pair",
        "nbd://example.com/a%00b|export name contains NUL",
        "nbd://exa mple.com/|not a valid URI"
    })
    void refusesNamingTheValueAndTheReason(String text, String reason) {
        assertThatThrownBy(() -> NbdUri.parse(text))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("'" + text + "'")
            .hasMessageContaining(reason);
    }

    @Test
    void refusesAnExportNameOverTheLimit() {
        String name = "x".repeat(4097);
        assertThatThrownBy(() -> NbdUri.parse("nbd://h/" + name)).hasMessageContaining("4097 bytes")
            .hasMessageContaining("limit 4096");
        assertThatThrownBy(() -> NbdUri.tcp("h", 1, name)).hasMessageContaining("4097 bytes");
    }

    @Test
    void tlsCertificatesAreParsedAndKeptInTheTextForm() {
        NbdUri tcp = NbdUri.parse("nbds://example.com/disk?tls-certificates=/etc/pki/nbd&tls-verify-peer=true");
        assertThat(tcp.tlsCertificates()).isEqualTo(java.nio.file.Path.of("/etc/pki/nbd"));
        assertThat(tcp.toString()).isEqualTo("nbds://example.com/disk?tls-certificates=/etc/pki/nbd");
        NbdUri unix = NbdUri.parse("nbds+unix:///?socket=/run/a.sock&tls-certificates=/d%20e");
        assertThat(unix.tlsCertificates()).isEqualTo(java.nio.file.Path.of("/d e"));
        assertThat(NbdUri.parse(unix.toString())).isEqualTo(unix);
        assertThat(NbdUri.unix(java.nio.file.Path.of("/s"), "x").withTls(java.nio.file.Path.of("/c")))
            .isEqualTo(NbdUri.parse("nbds+unix:///x?socket=/s&tls-certificates=/c"));
        assertThat(NbdUri.parse("nbds://h/").tlsCertificates()).isNull();
    }

    @Test
    void connectFailureOfATlsUriNamesIt() {
        assertThatThrownBy(() -> NbdClient.connect(NbdUri.parse("nbds://127.0.0.1:1/disk")))
            .isInstanceOf(java.io.IOException.class)
            .hasMessageContaining("nbds://127.0.0.1:1/disk");
    }
}
