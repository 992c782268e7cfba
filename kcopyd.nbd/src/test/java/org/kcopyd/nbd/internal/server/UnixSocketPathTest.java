package org.kcopyd.nbd.internal.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.nbd.NbdServer;

class UnixSocketPathTest {

    @TempDir
    Path dir;

    @Test
    void aStaleSocketFileIsReplacedAndRemovedOnClose() throws Exception {
        Path socket = dir.resolve("stale.sock");
        ServerSocketChannel gone = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        gone.bind(UnixDomainSocketAddress.of(socket));
        gone.close();
        assertThat(socket).exists();
        NbdServer server = NbdServer.builder().export("", new MemoryBlockDevice("m", 8), false).startUnix(socket);
        assertThat(socket).exists();
        server.close();
        assertThat(socket).doesNotExist();
    }

    /** H49-8: serve and an export made their socket in /dev's devtmpfs. */
    @Test
    void noSocketIsMadeInDev() throws Exception {
        Path socket = Path.of("/dev/kcopyd-test-" + ProcessHandle.current().pid() + ".sock");
        assertThatThrownBy(() -> NbdServer.builder().export("", new MemoryBlockDevice("m", 8), false).startUnix(socket))
            .isInstanceOf(java.io.IOException.class)
            .hasMessageStartingWith("socket " + socket + ": kcopyd makes no file in /dev (a ")
            .hasMessageEndingWith(" file system of device nodes and kernel objects, not data)");
        assertThat(socket).doesNotExist();
    }

    @Test
    void aPathThatIsNotASocketIsRefusedAndKept() throws Exception {
        Path file = dir.resolve("precious.img");
        Files.writeString(file, "data");
        assertThatThrownBy(() -> NbdServer.builder().export("", new MemoryBlockDevice("m", 8), false).startUnix(file))
            .isInstanceOf(FileAlreadyExistsException.class).hasMessageContaining(file.toString())
            .hasMessageContaining("is not a socket");
        assertThat(Files.readString(file)).isEqualTo("data");
    }

    @Test
    void aSymbolicLinkToAStaleSocketIsRefusedAndKept() throws Exception {
        Path socket = dir.resolve("stale.sock");
        ServerSocketChannel gone = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        gone.bind(UnixDomainSocketAddress.of(socket));
        gone.close();
        Path link = Files.createSymbolicLink(dir.resolve("link.sock"), socket);
        assertThatThrownBy(() -> NbdServer.builder().export("", new MemoryBlockDevice("m", 8), false).startUnix(link))
            .isInstanceOf(FileAlreadyExistsException.class).hasMessageContaining(link.toString())
            .hasMessageContaining("is not a socket");
        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(socket).exists();
    }

    @Test
    void aSocketSomethingListensOnIsRefused() throws Exception {
        Path socket = dir.resolve("live.sock");
        try (ServerSocketChannel live = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            live.bind(UnixDomainSocketAddress.of(socket));
            assertThatThrownBy(() -> NbdServer.builder().export("", new MemoryBlockDevice("m", 8), false)
                .startUnix(socket)).isInstanceOf(FileAlreadyExistsException.class)
                .hasMessageContaining("another server listens on");
        }
    }

    @Test
    void builderLimitsAreChecked() {
        NbdServer.Builder builder = NbdServer.builder();
        assertThatThrownBy(() -> builder.maxConnections(0)).hasMessageContaining("maximum connections 0 is outside");
        assertThatThrownBy(() -> builder.maxOutstandingBytes(1024)).hasMessageContaining("1024 is outside");
        assertThatThrownBy(() -> builder.handshakeTimeout(java.time.Duration.ZERO)).hasMessageContaining("PT0S");
        assertThatThrownBy(() -> builder.startTcp("127.0.0.1", 0)).hasMessageContaining("at least one export");
        builder.export("a", new MemoryBlockDevice("m", 8), false);
        assertThatThrownBy(() -> builder.export("a", new MemoryBlockDevice("m", 8), false))
            .hasMessageContaining("'a' is given twice");
    }
}
