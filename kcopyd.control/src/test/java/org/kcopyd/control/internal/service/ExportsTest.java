package org.kcopyd.control.internal.service;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ExportsTest {

    @Test
    void theUriOfAnExportIsWhatClientsUse() {
        assertThat(Exports.uri("vm", "/run/kcopyd/vm.sock", null, false))
                .isEqualTo("nbd+unix:///vm?socket=/run/kcopyd/vm.sock");
        assertThat(Exports.uri("vm", null, "127.0.0.1:10810", false)).isEqualTo("nbd://127.0.0.1:10810/vm");
        // NBD's own port is left out, as NbdUri writes it.
        assertThat(Exports.uri("vm", null, "127.0.0.1:10809", false)).isEqualTo("nbd://127.0.0.1/vm");
        assertThat(Exports.uri("vm", null, "127.0.0.1:10809", true)).startsWith("nbds://127.0.0.1");
        assertThat(Exports.uri("vm", null, "[::1]:10810", false)).isEqualTo("nbd://[::1]:10810/vm");
        assertThat(Exports.uri("vm", null, "no-port", false)).isNull();
    }
}
