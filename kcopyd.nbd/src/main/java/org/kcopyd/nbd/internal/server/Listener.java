package org.kcopyd.nbd.internal.server;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A listening socket and the connections it accepted: one accepting thread, one thread per
 * connection. Connections over the limit are closed as soon as they are accepted. Exports can be
 * added and removed while it runs ({@link #addExport}, {@link #removeExport}): removing one closes
 * the connections using it and no other; a client over an export's own connection limit is
 * disconnected once it has chosen the export.
 */
public final class Listener implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Listener.class.getName());
    private static final AtomicInteger SERVERS = new AtomicInteger();
    private static final long JOIN_MILLIS = 5000;

    private final ServerSocketChannel server;
    private final SocketAddress address;
    private final Path socketPath;
    private final Exports exports;
    private final ServerSettings settings;
    private final BufferPool pool;
    private static final long MAX_POOLED_BYTES = 256L << 20;
    /** The payload bytes the whole listener holds at once, at least one connection's bound. */
    static final long MAX_LENT_BYTES = 256L << 20;
    private final ScheduledExecutorService timer;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private final int id = SERVERS.incrementAndGet();
    private final AtomicInteger connections = new AtomicInteger();
    /** Sessions in transmission by export (identity: a re-added export of the same name is another). */
    private final Map<ServerExport, Set<Session>> inTransmission = new IdentityHashMap<>();
    private volatile int maxConnections;
    private volatile boolean closed;

    private Listener(ServerSocketChannel server, Path socketPath, Exports exports, ServerSettings settings)
        throws IOException {
        this.server = server;
        this.address = server.getLocalAddress();
        this.socketPath = socketPath;
        this.exports = exports;
        this.settings = settings;
        this.maxConnections = settings.maxConnections();
        // Idle buffers kept, and payload buffers lent at once for all connections together.
        this.pool = new BufferPool(Math.min(settings.maxOutstandingBytes(), MAX_POOLED_BYTES),
                Math.max(settings.maxOutstandingBytes(), MAX_LENT_BYTES));
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "nbd-server-" + id + "-timer");
            thread.setDaemon(true);
            return thread;
        });
        executor.setRemoveOnCancelPolicy(true);
        this.timer = Executors.unconfigurableScheduledExecutorService(executor);
        this.acceptor = new Thread(this::accept, "nbd-server-" + id + "-accept " + address);
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Listens on a Unix domain socket, removing a stale socket file first. */
    public static Listener unix(Path path, Exports exports, ServerSettings settings) throws IOException {
        UnixSocketPath.prepare(path);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(path), 64);
            return new Listener(server, path, exports, settings);
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** Listens on TCP; port 0 picks a free port. */
    public static Listener tcp(String host, int port, Exports exports, ServerSettings settings) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open();
        try {
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(new InetSocketAddress(host, port), 64);
            return new Listener(server, null, exports, settings);
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** @return the bound address (with the actual port for TCP) */
    public SocketAddress address() {
        return address;
    }

    /** @return connections being served now */
    public int connections() {
        return connections.get();
    }

    /**
     * @param max connections served at once from now on, 1 to 100000; connections beyond a lowered
     *            limit are not closed, new ones wait for the count to drop below it
     */
    public void setMaxConnections(int max) {
        if (max < 1 || max > 100_000) {
            throw new IllegalArgumentException("maximum connections " + max + " is outside 1-100000");
        }
        this.maxConnections = max;
    }

    /**
     * Serves one more export; clients of the others are not disturbed.
     *
     * @throws IllegalArgumentException if an export of that name is served already
     */
    public void addExport(ServerExport export) {
        exports.add(export);
    }

    /**
     * Withdraws an export and closes the connections that use it (their requests in flight are
     * not answered); clients of other exports are not disturbed.
     *
     * @return the export withdrawn, or null if none of that name was served
     */
    public ServerExport removeExport(String name) {
        Set<Session> users;
        ServerExport removed;
        synchronized (inTransmission) {
            removed = exports.remove(name);
            users = removed == null ? null : inTransmission.remove(removed);
        }
        if (users != null) {
            users.forEach(Session::close);
        }
        return removed;
    }

    /** @return the names of the exports served now, in the order they were added */
    public List<String> exportNames() {
        return exports.all().stream().map(ServerExport::name).toList();
    }

    /** @return the connections in transmission on the export of that name now */
    public int connections(String exportName) {
        synchronized (inTransmission) {
            for (Map.Entry<ServerExport, Set<Session>> e : inTransmission.entrySet()) {
                if (e.getKey().name().equals(exportName)) {
                    return e.getValue().size();
                }
            }
        }
        return 0;
    }

    private String enter(Session session, ServerExport export) {
        synchronized (inTransmission) {
            if (!exports.contains(export)) {
                return "export '" + export.name() + "' was withdrawn during the handshake";
            }
            Set<Session> users = inTransmission.computeIfAbsent(export, e -> new HashSet<>());
            if (users.size() >= export.maxConnections()) {
                return "export '" + export.name() + "' serves " + export.maxConnections()
                    + " connections, its limit";
            }
            users.add(session);
            return null;
        }
    }

    private void left(Session session) {
        synchronized (inTransmission) {
            for (Set<Session> users : inTransmission.values()) {
                users.remove(session);
            }
        }
    }

    private void accept() {
        while (!closed) {
            SocketChannel channel;
            try {
                channel = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(Level.WARNING, () -> "NBD server on " + address + ": accept failed: " + e);
                }
                continue;
            }
            admit(channel);
        }
    }

    private void admit(SocketChannel channel) {
        String peer = peerName(channel);
        int max = maxConnections;
        if (closed || connections.incrementAndGet() > max) {
            connections.decrementAndGet();
            LOG.log(Level.INFO, () -> "NBD server on " + address + ": connection from " + peer + " refused: "
                + max + " connections is the limit");
            closeQuietly(channel);
            return;
        }
        try {
            if (socketPath == null) {
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, () -> "NBD client " + peer + ": TCP_NODELAY not set: " + e);
        }
        Session[] holder = new Session[1];
        Thread[] thread = new Thread[1];
        Session session = new Session(channel, exports, settings, pool, timer, peer, this::enter, () -> {
            left(holder[0]);
            sessions.remove(holder[0]);
            threads.remove(thread[0]);
            connections.decrementAndGet();
        });
        holder[0] = session;
        sessions.add(session);
        thread[0] = new Thread(session, "nbd-server-" + id + "-conn " + peer);
        thread[0].setDaemon(true);
        threads.add(thread[0]);
        thread[0].start();
        if (closed) {
            session.close();
        }
    }

    private static String peerName(SocketChannel channel) {
        try {
            SocketAddress remote = channel.getRemoteAddress();
            return remote == null || remote.toString().isEmpty() ? "unix-peer@" + Integer.toHexString(channel.hashCode())
                : remote.toString();
        } catch (IOException e) {
            return "unknown peer";
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, () -> "closing a refused connection failed: " + e);
        }
    }

    /** Stops listening, disconnects every client and waits (up to 5 s) for their threads. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, () -> "NBD server on " + address + ": closing the listener failed: " + e);
        }
        sessions.forEach(Session::close);
        long deadline = System.currentTimeMillis() + JOIN_MILLIS;
        try {
            acceptor.join(JOIN_MILLIS);
            for (Thread thread : threads) {
                thread.join(Math.max(1, deadline - System.currentTimeMillis()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        timer.shutdownNow();
        if (socketPath != null) {
            try {
                Files.deleteIfExists(socketPath);
            } catch (IOException e) {
                LOG.log(Level.WARNING, () -> "NBD server: socket file " + socketPath + " not removed: " + e);
            }
        }
    }
}
