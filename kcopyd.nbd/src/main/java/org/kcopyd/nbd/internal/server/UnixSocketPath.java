package org.kcopyd.nbd.internal.server;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Prepares the path a server listens on: a socket file left by a server that is gone (killed with
 * kill -9, say) is removed when connecting to it is refused (ECONNREFUSED: nobody accepts); a socket
 * something still accepts on, one that cannot be probed for another reason (permission denied...), and
 * anything that is not a socket (a regular file, a symbolic link) are refused, naming the path, and kept.
 * No socket is made in {@code /dev}, {@code /proc}, {@code /sys} or their kin ({@code FileDeviceOpener.notForData}).
 */
final class UnixSocketPath {

    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private UnixSocketPath() {
    }

    static void prepare(Path path) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        String notForData = parent == null ? null : org.kcopyd.device.FileDeviceOpener.notForData(parent);
        if (notForData != null) {
            // H49-8: a server's socket was made in /dev's devtmpfs, as copy refuses to make a file there.
            throw new IOException("socket " + path + ": kcopyd makes no file in " + parent + " (" + notForData + ")");
        }
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new FileAlreadyExistsException(path.toString(), null,
                "exists and is not a socket: refusing to replace it with the NBD server's socket");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
        } catch (ConnectException nobodyListens) {
            Files.deleteIfExists(path);
            return;
        } catch (IOException e) {
            throw new FileAlreadyExistsException(path.toString(), null,
                "is a socket that cannot be probed (" + e.getMessage() + "): refusing to replace it");
        }
        throw new FileAlreadyExistsException(path.toString(), null,
            "is a socket another server listens on: refusing to take it over");
    }
}
