package org.kcopyd.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.kcopyd.testdevices.Peers;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/** Peers.require: a missing peer skips a test, or fails it when peers are required. */
class PeersTest {

    @Test
    void aMissingPeerSkipsNamingThePackage() {
        assertThatThrownBy(() -> Peers.require("kcopyd-no-such-program", "kcopyd-no-such-package", false))
            .isInstanceOf(TestAbortedException.class)
            .hasMessageContaining("kcopyd-no-such-program not installed (Debian package kcopyd-no-such-package)");
    }

    @Test
    void aMissingRequiredPeerFails() {
        assertThatThrownBy(() -> Peers.require("kcopyd-no-such-program", "kcopyd-no-such-package", true))
            .isInstanceOf(AssertionFailedError.class)
            .hasMessageContaining("kcopyd-no-such-program not installed (Debian package kcopyd-no-such-package)")
            .hasMessageContaining("kcopyd.peers.required=true");
    }

    @Test
    void anInstalledPeerIsFound() {
        assertThat(Peers.require("sh", "dash", true)).isExecutable();
    }

    @Test
    void theRequiredPropertyReachesTheTestJvm() {
        // Surefire and Failsafe pass it (the module's pom sets false unless -D says otherwise).
        assertThat(System.getProperty(Peers.REQUIRED_PROPERTY)).isIn("true", "false");
    }
}
