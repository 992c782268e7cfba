package org.kcopyd.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An export is claimed for writing once per process, under any spelling of its URI and through
 * any path to its Unix socket: a symbolic link, or a hard link (H40: a second mirror reached a
 * mirror's leg through a hard link to its socket and overwrote it).
 */
class UriClaimsTest {

    @TempDir
    Path dir;

    private static URI unix(Path socket) {
        return URI.create("nbd+unix:///?socket=" + socket);
    }

    @Test
    void aSocketIsClaimedOnceThroughEveryPathToItUntilReleased() throws Exception {
        Path socket = dir.resolve("disk.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Path hard = Files.createLink(dir.resolve("hard.sock"), socket);
            Path soft = Files.createSymbolicLink(dir.resolve("soft.sock"), socket);

            UriClaims.Claim leg = UriClaims.claim(unix(socket), "leg 1 of mirror m");
            for (Path other : new Path[] {socket, hard, soft}) {
                assertThatThrownBy(() -> UriClaims.claim(unix(other), "the origin of snapshot s1"))
                        .as("through %s", other).isInstanceOf(FileClaimedException.class)
                        .hasMessageContaining(" is leg 1 of mirror m already (in this process)");
            }
            assertThat(UriClaims.claim(URI.create("nbd+unix:///other?socket=" + socket), "another export"))
                    .as("another export name on the socket: another export to servers that tell them apart")
                    .isNotNull().satisfies(UriClaims.Claim::close);

            leg.close();
            leg.close();
            UriClaims.claim(unix(hard), "the origin of snapshot s1").close();
        }
    }
}
