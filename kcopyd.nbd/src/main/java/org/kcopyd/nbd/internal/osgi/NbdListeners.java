package org.kcopyd.nbd.internal.osgi;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.FileAlreadyExistsException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import org.kcopyd.nbd.NbdConfig;
import org.kcopyd.nbd.NbdServer;
import org.kcopyd.nbd.internal.server.Exports;
import org.kcopyd.nbd.internal.server.Listener;
import org.kcopyd.nbd.internal.server.ServerExport;
import org.kcopyd.nbd.internal.server.ServerSettings;
import org.kcopyd.nbd.internal.tls.TlsFiles;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * The listeners of the bundle's exports, shared by address: the first export on a socket or
 * TCP address starts its listener, later ones join it, the last one to leave closes it. A
 * listener's connection limit is the sum of its exports' limits (at most 100000); each export
 * keeps its own. Exports sharing a listener share its TLS: one with other TLS settings is refused.
 * A service private to this bundle. Thread-safe: every method holds the object's
 * lock (starting a listener binds a socket, which does not block for long).
 */
@Component(service = NbdListeners.class)
public final class NbdListeners {

    private static final System.Logger LOG = System.getLogger(NbdListeners.class.getName());

    private final Map<String, Listener> byKey = new HashMap<>();
    private final Map<Listener, List<ServerExport>> exports = new IdentityHashMap<>();
    private final Map<Listener, String> tls = new IdentityHashMap<>();

    /**
     * Serves {@code export} on the settings' socket or address.
     *
     * @throws IllegalArgumentException if an export of that name is served there already, the
     *                                  socket path exists and is not a socket, or the listener
     *                                  there has other TLS settings
     * @throws IOException              if the address is in use or cannot be bound, naming it, or
     *                                  the TLS files cannot be used, naming the file
     */
    synchronized void add(ExportSettings settings, ServerExport export) throws IOException {
        String key = settings.listenerKey();
        Listener listener = byKey.get(key);
        if (listener == null) {
            ServerSettings limits = ServerSettings.standard(export.maxConnections(),
                NbdServer.Builder.DEFAULT_HANDSHAKE_TIMEOUT, NbdServer.Builder.DEFAULT_MAX_OUTSTANDING_BYTES);
            if (settings.tlsCertificates() != null) {
                try {
                    limits = limits.withTls(TlsFiles.server(settings.tlsCertificates(), settings.tlsVerifyClients()));
                } catch (IOException e) {
                    throw new IOException("export '" + export.name() + "': " + e.getMessage(), e);
                }
            }
            Exports initial = new Exports(List.of(export));
            try {
                listener = settings.socket() != null ? Listener.unix(settings.socket(), initial, limits)
                    : Listener.tcp(settings.listen().address().getHostAddress(), settings.listen().port(), initial,
                        limits);
            } catch (FileAlreadyExistsException e) {
                String reason = e.getReason() == null ? "exists" : e.getReason();
                if (reason.contains("not a socket")) {
                    throw new IllegalArgumentException("export '" + export.name() + "': socket " + settings.socket()
                        + " " + reason);
                }
                throw new IOException("export '" + export.name() + "': socket " + settings.socket() + " " + reason, e);
            } catch (IOException e) {
                throw new IOException("export '" + export.name() + "': cannot listen on " + settings.where() + ": "
                    + e.getMessage(), e);
            }
            byKey.put(key, listener);
            exports.put(listener, new ArrayList<>(List.of(export)));
            tls.put(listener, settings.tlsKey());
            return;
        }
        if (!tls.get(listener).equals(settings.tlsKey())) {
            throw new IllegalArgumentException("export '" + export.name() + "' asks for TLS " + settings.tlsKey() + " on "
                + settings.where() + ", whose listener serves other exports with TLS " + tls.get(listener)
                + ": exports sharing a socket or address must have the same " + NbdConfig.EXPORT_TLS_CERTIFICATES
                + " and " + NbdConfig.EXPORT_TLS_VERIFY_CLIENTS);
        }
        try {
            listener.addExport(export);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("export '" + export.name() + "' is served on " + settings.where()
                + " by another configuration already: export names are unique per socket or address");
        }
        exports.get(listener).add(export);
        listener.setMaxConnections(limit(exports.get(listener)));
    }

    /** Withdraws {@code export} (this very one) and closes its connections; the last export closes the listener. */
    synchronized void remove(ExportSettings settings, ServerExport export) {
        Listener listener = byKey.get(settings.listenerKey());
        List<ServerExport> served = listener == null ? null : exports.get(listener);
        if (served == null || !served.removeIf(e -> e == export)) {
            return;
        }
        if (served.isEmpty()) {
            byKey.remove(settings.listenerKey());
            exports.remove(listener);
            tls.remove(listener);
            listener.close();
            return;
        }
        listener.removeExport(export.name());
        listener.setMaxConnections(limit(served));
    }

    /** @return the listener on the settings' address, or null (for tests and status) */
    synchronized Listener listener(ExportSettings settings) {
        return byKey.get(settings.listenerKey());
    }

    private static int limit(List<ServerExport> served) {
        long sum = 0;
        for (ServerExport e : served) {
            sum += e.maxConnections();
        }
        return (int) Math.min(ExportSettings.MAX_CONNECTIONS, sum);
    }

    /** Closes every listener (the exports' components are deactivated first, as they depend on this). */
    @Deactivate
    public synchronized void close() {
        if (!byKey.isEmpty()) {
            LOG.log(Level.DEBUG, () -> "closing NBD listeners " + byKey.keySet());
        }
        byKey.values().forEach(Listener::close);
        byKey.clear();
        exports.clear();
        tls.clear();
    }
}
