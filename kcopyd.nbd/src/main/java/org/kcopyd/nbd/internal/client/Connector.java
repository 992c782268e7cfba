package org.kcopyd.nbd.internal.client;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.kcopyd.nbd.internal.protocol.ChannelReader;
import org.kcopyd.nbd.internal.protocol.Nbd;
import org.kcopyd.nbd.internal.protocol.Wire;
import org.kcopyd.nbd.internal.tls.TlsFiles;

/**
 * Opens an export: connects, negotiates, and when asked for more connections and the server
 * advertises {@code CAN_MULTI_CONN}, opens the others on a thread of its own while the device is
 * already in use. The handshake of each connection (TLS included) is bounded by the request timeout.
 */
public final class Connector {

    private static final System.Logger LOG = System.getLogger(Connector.class.getName());

    private static final int READ_BUFFER = 64 * 1024;

    private Connector() {
    }

    /** Opens an export over plain connections (no TLS). */
    public static NbdBlockDevice open(String name, String tcpHost, int tcpPort, Path socket, String exportName,
                                      Duration timeout, int connections) throws IOException {
        return open(name, tcpHost, tcpPort, socket, exportName, timeout, connections, null);
    }

    /**
     * @param name        the URI as shown in messages
     * @param tcpHost     the host for TCP, or null for a Unix socket
     * @param tcpPort     the TCP port
     * @param socket      the Unix socket path, or null for TCP
     * @param exportName  the export
     * @param timeout     every request's timeout, and each handshake's
     * @param connections connections wanted (1 unless the server allows more)
     * @param tls         the client's TLS for every connection, or null for plain connections
     * @return the open device
     * @throws IOException naming the URI when connecting or negotiating fails
     */
    public static NbdBlockDevice open(String name, String tcpHost, int tcpPort, Path socket, String exportName,
                                      Duration timeout, int connections, TlsFiles.Client tls) throws IOException {
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "nbd-client-timer " + name);
            thread.setDaemon(true);
            return thread;
        });
        timer.setRemoveOnCancelPolicy(true);
        try {
            SocketAddress address = socket != null ? UnixDomainSocketAddress.of(socket)
                : new InetSocketAddress(tcpHost, tcpPort);
            if (address instanceof InetSocketAddress inet && inet.isUnresolved()) {
                throw new IOException(name + ": host '" + tcpHost + "' cannot be resolved");
            }
            Opened first = connect(name, address, exportName, timeout, timer, tls);
            ExportInfo info = first.info;
            ClientConnection connection;
            try {
                connection = new ClientConnection(first.channel, first.reader, info, name + " #1", timer, timeout);
            } catch (RuntimeException e) {
                closeQuietly(first.channel);
                throw e;
            }
            NbdBlockDevice device = new NbdBlockDevice(name, storage(address, exportName), info, connection, timer);
            int wanted = info.has(Nbd.FLAG_CAN_MULTI_CONN) ? connections : 1;
            if (wanted > 1) {
                Thread more = new Thread(() -> addConnections(device, address, exportName, timeout, timer, tls, wanted),
                    "nbd-client-connect " + name);
                more.setDaemon(true);
                if (device.connectingWith(more)) {
                    more.start();
                }
            }
            return device;
        } catch (IOException | RuntimeException e) {
            timer.shutdownNow();
            throw e;
        }
    }

    /** A server's export: its socket (see {@link UnixSocket}), or its resolved address and port, and the export's name. */
    private record Storage(Object server, String export) {
    }

    /**
     * A Unix socket as it was when connected: its real path, its file key (device and inode) and the
     * time its file was made (a socket file's modification time is when the server bound it; an inode
     * number can be reused at once). A server that stops and another that binds the same path later
     * make a new socket file, so two devices of that path opened before and after are different
     * servers' exports, not one device.
     */
    private record UnixSocket(Path realPath, Object fileKey, FileTime bound) {
    }

    private static Storage storage(SocketAddress address, String exportName) {
        if (address instanceof UnixDomainSocketAddress unix) {
            Path socket = unix.getPath().toAbsolutePath().normalize();
            Object fileKey = null;
            FileTime bound = null;
            try {
                socket = socket.toRealPath();
                BasicFileAttributes file = Files.readAttributes(socket, BasicFileAttributes.class);
                fileKey = file.fileKey();
                bound = file.lastModifiedTime();
            } catch (IOException e) {
                // Connected a moment ago: gone since, its name is what is left to compare.
            }
            return new Storage(new UnixSocket(socket, fileKey, bound), exportName);
        }
        InetSocketAddress inet = (InetSocketAddress) address;
        return new Storage(new InetSocketAddress(inet.getAddress(), inet.getPort()), exportName);
    }

    /**
     * Opens connections 2 to {@code wanted} one after another and adds each to the device as soon as
     * it is negotiated. The first that cannot be opened (a server that advertises multi-conn but
     * serves fewer connections: refused, closed, or no answer within the timeout), that sees another
     * export than the first, or a closed device, ends the opening: the device keeps the connections
     * it has, as nbdcopy goes on with those it got.
     */

    private static void addConnections(NbdBlockDevice device, SocketAddress address, String exportName,
                                       Duration timeout, ScheduledExecutorService timer, TlsFiles.Client tls,
                                       int wanted) {
        String name = device.name();
        ExportInfo info = device.info();
        for (int i = 2; i <= wanted; i++) {
            Opened more;
            try {
                more = connect(name, address, exportName, timeout, timer, tls);
            } catch (IOException | RuntimeException e) {
                if (device.isClosed()) {
                    return;
                }
                int have = i - 1;
                LOG.log(Level.INFO, () -> name + ": using " + have + " of " + wanted + " connections: connection "
                    + (have + 1) + " could not be opened: " + e.getMessage());
                return;
            }
            if (more.info.size() != info.size() || more.info.flags() != info.flags()) {
                closeQuietly(more.channel);
                int at = i;
                LOG.log(Level.WARNING, () -> name + ": connection " + at + " saw a different export (size "
                    + more.info.size() + ", flags 0x" + Integer.toHexString(more.info.flags()) + ") than the first (size "
                    + info.size() + ", flags 0x" + Integer.toHexString(info.flags()) + "); it is not used");
                return;
            }
            ClientConnection connection;
            try {
                connection = new ClientConnection(more.channel, more.reader, info, name + " #" + i, timer, timeout);
            } catch (RuntimeException e) {
                closeQuietly(more.channel);
                int at = i;
                LOG.log(Level.WARNING, () -> name + ": connection " + at + " could not be started: " + e);
                return;
            }
            if (!device.add(connection)) {
                connection.close();
                return;
            }
        }
    }

    private static void closeQuietly(Wire channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // Nothing was sent on it.
        }
    }

    private record Opened(Wire channel, ChannelReader reader, ExportInfo info) {
    }

    private static Opened connect(String name, SocketAddress address, String exportName, Duration timeout,
                                  ScheduledExecutorService timer, TlsFiles.Client tls) throws IOException {
        SocketChannel channel = address instanceof UnixDomainSocketAddress
            ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
        AtomicBoolean timedOut = new AtomicBoolean();
        ScheduledFuture<?> deadline = timer.schedule(() -> {
            timedOut.set(true);
            try {
                channel.close();
            } catch (IOException e) {
                // The handshake fails on the closed channel and reports the timeout.
            }
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            channel.connect(address);
            if (address instanceof InetSocketAddress) {
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            }
            String host = address instanceof InetSocketAddress inet ? inet.getHostString() : null;
            int port = address instanceof InetSocketAddress inet ? inet.getPort() : 0;
            ClientHandshake handshake = new ClientHandshake(channel, READ_BUFFER, name, tls, host, port);
            ExportInfo info = handshake.negotiate(exportName);
            return new Opened(handshake.wire(), handshake.reader(), info);
        } catch (IOException | RuntimeException e) {
            channel.close();
            if (timedOut.get()) {
                throw new IOException(name + ": connecting and negotiating took longer than the timeout of "
                    + timeout.toMillis() + " ms", e);
            }
            if (e instanceof IOException io && io.getMessage() != null && io.getMessage().contains(name)) {
                throw io;
            }
            // The words of the failure (No such file or directory, Connection refused), not the exception's class.
            String why = e instanceof IOException && e.getMessage() != null && !e.getMessage().isBlank()
                ? e.getMessage() : e.toString();
            throw new IOException(name + ": cannot open the export: " + why, e);
        } finally {
            deadline.cancel(false);
        }
    }
}
