package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class DaemonOptionsTest {

    private static final Path CWD = Path.of("/work");

    private static DaemonOptions parse(String... args) {
        return DaemonOptions.parse(List.of(args), Map.of(), "/home/u", CWD);
    }

    @Test
    void stateAndListenAreReadInBothSpellings() {
        assertThat(parse()).isEqualTo(new DaemonOptions(Path.of("/home/u/.local/state/kcopyd"), 0));
        assertThat(parse("--state", "s", "--listen", "127.0.0.1:4123"))
                .isEqualTo(new DaemonOptions(Path.of("/work/s"), 4123));
        assertThat(parse("--listen=localhost:0", "--state=/var/lib/kcopyd"))
                .isEqualTo(new DaemonOptions(Path.of("/var/lib/kcopyd"), 0));
    }

    @Test
    void onlyALoopbackListenWithADecimalPortIsAccepted() {
        for (String bad : new String[] {"0.0.0.0:80", "10.1.2.3:80", "[::]:80", "example.org:80", "4123"}) {
            assertThatThrownBy(() -> parse("--listen", bad)).hasMessageContaining(bad)
                    .hasMessageContaining("not a loopback address");
        }
        for (String bad : new String[] {"127.0.0.1:", "127.0.0.1:+80", "127.0.0.1:65536", "127.0.0.1:0x50", "127.0.0.1"}) {
            assertThatThrownBy(() -> parse("--listen", bad)).hasMessageContaining(bad)
                    .hasMessageContaining("0 to 65535");
        }
        assertThatThrownBy(() -> parse("--listen")).hasMessageContaining("--listen needs 127.0.0.1:PORT");
        assertThatThrownBy(() -> parse("--listen", "127.0.0.1:1", "--listen=127.0.0.1:2")).hasMessageContaining("twice");
    }

    @Test
    void configDirAndUnknownArgumentsAreRefused() {
        assertThatThrownBy(() -> parse("--config-dir", "/etc/kcopyd")).hasMessageContaining("--config-dir cannot be used");
        assertThatThrownBy(() -> parse("--verbose")).hasMessageContaining("unknown argument '--verbose'")
                .hasMessageContaining("usage: kcopyd daemon");
        assertThatThrownBy(() -> parse("--state")).hasMessageContaining("--state needs a directory");
    }
}
