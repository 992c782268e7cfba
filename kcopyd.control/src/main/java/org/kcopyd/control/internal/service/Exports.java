package org.kcopyd.control.internal.service;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.concurrent.locks.LockSupport;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.control.ControlException;
import org.kcopyd.control.SnapshotView;
import org.kcopyd.control.ExportRequest;
import org.kcopyd.control.ExportView;
import org.kcopyd.control.MirrorView;
import org.kcopyd.device.DeviceIdentity;
import org.kcopyd.device.DeviceUriIdentity;
import org.kcopyd.device.DeviceUris;
import org.kcopyd.device.FileClaim;
import org.kcopyd.device.FileClaims;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.nbd.NbdConfig;
import org.kcopyd.nbd.NbdUri;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;

/**
 * NBD exports: factory configurations of {@value NbdConfig#EXPORT_FACTORY_PID}, served by kcopyd.nbd's
 * export component. The API's device names become what that component accepts: {@code snapshot:NAME},
 * {@code origin:NAME} and {@code mirror:NAME} a filter naming that one {@link BlockDevice} service, a
 * path itself. The name asked for is kept in the configuration ({@value #DEVICE}) and shown back.
 * Thread-safe for reads; changes are serialized by the caller.
 */
final class Exports {

    /** Configuration property written by this bundle: the device as the request named it. */
    static final String DEVICE = "kcopyd.control.device";
    static final String MIRROR_PREFIX = "mirror:";
    /** The most connections of one export (kcopyd serve's bound). */
    static final int MAX_CONNECTIONS = 100_000;

    private final Configurations configurations;
    private final Services services;
    private final Snapshots snapshots;
    private final Mirrors mirrors;
    private final Duration wait;

    Exports(Configurations configurations, Services services, Snapshots snapshots, Mirrors mirrors, Duration wait) {
        this.configurations = configurations;
        this.services = services;
        this.snapshots = snapshots;
        this.mirrors = mirrors;
        this.wait = wait;
    }

    /** @throws ControlException UNAVAILABLE when no component takes export configurations */
    void requireBundle() {
        if (!ComponentOutcomes.consumed(configurations.scr(), NbdConfig.EXPORT_FACTORY_PID)) {
            throw ControlException.unavailable("no NBD export component runs (is the bundle org.kcopyd.nbd started?)");
        }
    }

    List<ExportView> list() {
        return configurations.all(NbdConfig.EXPORT_FACTORY_PID).stream().map(this::view).filter(Objects::nonNull)
                .sorted(Comparator.comparing(ExportView::name)).toList();
    }

    ExportView get(String name) {
        SnapshotRules.requireName("export", name);
        ExportView v = view(configuration(name));
        if (v == null) {
            throw ControlException.notFound("no export named " + name);
        }
        return v;
    }

    private Configuration configuration(String name) {
        Configuration c = configurations.find(NbdConfig.EXPORT_FACTORY_PID, name);
        if (c == null) {
            throw ControlException.notFound("no export named " + name);
        }
        return c;
    }

    ExportView create(ExportRequest r) {
        requireBundle();
        SnapshotRules.requireName("export", r.name());
        String device = SnapshotRules.require("device", r.device());
        if ((r.socket() == null) == (r.listen() == null)) {
            throw ControlException.badRequest("give exactly one of socket (a Unix socket path) and listen (HOST:PORT)"
                    + (r.socket() == null ? "" : ", not both"));
        }
        Path socket = r.socket() == null ? null : SnapshotRules.absolute("socket", r.socket());
        if (socket != null) {
            try {
                // A socket in a daemon's state directory would stop its next start (found in stop 20's review).
                org.kcopyd.device.FileClaims.refuseReserved(socket);
            } catch (org.kcopyd.device.FileClaimedException e) {
                throw ControlException.badRequest("socket " + socket + " is refused: " + e.getMessage());
            }
        }
        if (r.listen() != null && r.listen().isBlank()) {
            throw ControlException.badRequest("listen is empty: give HOST:PORT");
        }
        if (r.maxConnections() != null && (r.maxConnections() < 1 || r.maxConnections() > MAX_CONNECTIONS)) {
            throw ControlException.badRequest("maxConnections " + r.maxConnections() + " is outside 1.." + MAX_CONNECTIONS);
        }
        Path tls = r.tlsCertificates() == null ? null : SnapshotRules.absolute("tlsCertificates", r.tlsCertificates());
        if (configurations.find(NbdConfig.EXPORT_FACTORY_PID, r.name()) != null) {
            throw ControlException.conflict("an export named " + r.name() + " exists already");
        }
        String target = target(device);
        if (!r.readOnly() && !target.startsWith("(")) {
            refuseRead(Path.of(target));
        } else if (!target.startsWith("(")) {
            refuseWritten(Path.of(target));
        }
        if (target.startsWith("(")) {
            List<ServiceReference<BlockDevice>> matching = services.devices(target);
            if (matching.size() != 1) {
                throw ControlException.conflict("device " + device + " is not active: " + matching.size()
                        + " BlockDevice services match " + target);
            }
        }
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(NbdConfig.EXPORT_NAME, r.name());
        props.put(NbdConfig.EXPORT_DEVICE, target);
        props.put(DEVICE, device);
        if (!target.startsWith("(")) {
            recordIdentity(Path.of(target), props);
        }
        if (socket != null) {
            props.put(NbdConfig.EXPORT_SOCKET, socket.toString());
        } else {
            props.put(NbdConfig.EXPORT_LISTEN, r.listen().trim());
        }
        props.put(NbdConfig.EXPORT_READ_ONLY, r.readOnly());
        if (r.maxConnections() != null) {
            props.put(NbdConfig.EXPORT_MAX_CONNECTIONS, r.maxConnections());
        }
        props.put(NbdConfig.EXPORT_INSECURE, r.insecure());
        if (tls != null) {
            props.put(NbdConfig.EXPORT_TLS_CERTIFICATES, tls.toString());
        }
        props.put(NbdConfig.EXPORT_TLS_VERIFY_CLIENTS, r.tlsVerifyClients());
        Configuration created = configurations.create(NbdConfig.EXPORT_FACTORY_PID, "export", r.name(), props);
        // Active: a path device is open and served; a service device was found by the tracker while it activated.
        if (socket != null && !awaitSocket(socket, created.getPid())) {
            configurations.delete(created, "export", r.name());
            throw ControlException.failed("export " + r.name() + " is active but its socket " + socket
                    + " did not appear within " + wait.toSeconds() + " s; the export was removed");
        }
        ExportView v = view(created);
        if (v == null) {
            throw ControlException.failed("export " + r.name() + " was removed while it was being made");
        }
        if (!"serving".equals(v.state())) {
            configurations.delete(created, "export", r.name());
            throw ControlException.failed("export " + r.name() + " is not served: " + v.reason()
                    + "; the export was removed");
        }
        return v;
    }

    /**
     * Records the identity of an exported path's file or disk, so that another one found there at a later
     * start (moved over it, restored from a backup, another disk after a reboot) is refused, not served.
     * One that cannot be examined (missing, not readable) is not recorded: the component refuses to open it.
     */
    private static void recordIdentity(Path path, Hashtable<String, Object> props) {
        try {
            props.put(NbdConfig.EXPORT_DEVICE_ID, DeviceIdentity.of(path));
        } catch (IOException e) {
            // Not opened either: the export's component says why.
        }
    }

    /** Refuses a read-write export of a file this daemon reads (a read-only export of it, a running job's source). */
    private static void refuseRead(Path file) {
        try {
            if (org.kcopyd.device.FileClaims.isReadHereSharedBytes(file)) {
                throw ControlException.conflict("device " + file + " is open for reading in this daemon (a read-only "
                        + "export or a running job reads it): exporting it read-write would change what is read");
            }
        } catch (IOException e) {
            // Not examinable: the export component says why when it opens it.
        }
    }

    /**
     * Refuses a read-only export of a file a device holds for writing (a job's destination, a snapshot's
     * origin or COW store, a mirror's leg or log), in this daemon or another kcopyd process (H32: it
     * served a mix of old and new data while a job of this daemon wrote the file).
     */
    private static void refuseWritten(Path file) {
        Optional<FileClaim> holder;
        try {
            holder = FileClaims.holderOfSharedBytes(file);
        } catch (IOException e) {
            // Not examinable: the export component says why when it opens it.
            return;
        }
        if (holder.isPresent()) {
            throw ControlException.conflict("device " + file + FileClaims.relation(file, holder.get()) + " is "
                    + holder.get().purpose() + holder.get().holderSuffix() + ": a read-only export of it would serve a "
                    + "mix of old and new data while it is written");
        }
    }

    /**
     * The status service kcopyd.nbd's export component registers while an export is served: an
     * {@link IntSupplier} of its connections, with the configuration's PID in this property.
     */
    static final String STATUS = "kcopyd.nbd.export.status";

    /** @return the status service of the export configured by {@code pid}, or null when it is not served */
    private ServiceReference<IntSupplier> status(String pid) {
        List<ServiceReference<IntSupplier>> refs = services.references(IntSupplier.class, "(" + STATUS + "="
                + Configurations.escape(pid) + ")");
        return refs.isEmpty() ? null : refs.get(0);
    }

    /**
     * The service kcopyd.nbd's export component registers while its export cannot be served: a
     * {@code Supplier<String>} of why, with the configuration's PID in this property.
     */
    static final String NOT_SERVED = "kcopyd.nbd.export.notServed";

    /** @return why the export configured by {@code pid} cannot be served, as its component says, or null */
    @SuppressWarnings("rawtypes")
    private String notServed(String pid) {
        List<ServiceReference<java.util.function.Supplier>> refs = services.references(java.util.function.Supplier.class,
                "(" + NOT_SERVED + "=" + Configurations.escape(pid) + ")");
        if (refs.isEmpty()) {
            return null;
        }
        Object why = services.read(refs.get(0), java.util.function.Supplier::get);
        return why == null ? null : why.toString();
    }

    /** @return the connections of every served export now, or null when no export component runs */
    Integer connections() {
        if (!ComponentOutcomes.consumed(configurations.scr(), NbdConfig.EXPORT_FACTORY_PID)) {
            return null;
        }
        int sum = 0;
        for (ServiceReference<IntSupplier> ref : services.references(IntSupplier.class, "(" + STATUS + "=*)")) {
            Integer n = services.read(ref, IntSupplier::getAsInt);
            sum += n == null ? 0 : n;
        }
        return sum;
    }

    void remove(String name) {
        SnapshotRules.requireName("export", name);
        configurations.delete(configuration(name), "export", name);
    }

    /**
     * @return the names of the exports serving snapshot {@code name} or its origin: recorded as
     *         {@code snapshot:NAME} / {@code origin:NAME}, or configured elsewhere with a filter that
     *         matches its snapshot device
     */
    List<String> usersOfSnapshot(String name) {
        List<ServiceReference<BlockDevice>> own = services.devices("(&(" + BlockDevice.ROLE + "="
                + Snapshot.ROLE_SNAPSHOT + ")(" + Snapshot.NAME + "=" + Configurations.escape(name) + "))");
        List<String> users = new ArrayList<>();
        for (Configuration c : configurations.all(NbdConfig.EXPORT_FACTORY_PID)) {
            Map<String, Object> p = Configurations.properties(c);
            if (p == null) {
                continue;
            }
            String recorded = string(p.get(DEVICE));
            String device = string(p.get(NbdConfig.EXPORT_DEVICE));
            boolean uses = (Snapshots.SNAPSHOT_PREFIX + name).equals(recorded)
                    || (Snapshots.ORIGIN_PREFIX + name).equals(recorded)
                    || device != null && device.startsWith("(") && own.stream().anyMatch(ref -> matches(device, ref));
            if (uses) {
                users.add(String.valueOf(p.get(NbdConfig.EXPORT_NAME)));
            }
        }
        users.sort(null);
        return users;
    }

    /**
     * @return the names of the exports serving mirror {@code name}: recorded as {@code mirror:NAME},
     *         or configured elsewhere with a filter that matches its device
     */
    List<String> usersOfMirror(String name) {
        List<ServiceReference<BlockDevice>> own = services.devices("(&(" + BlockDevice.ROLE + "="
                + Mirror.ROLE_MIRROR + ")(" + Mirror.NAME + "=" + Configurations.escape(name) + "))");
        List<String> users = new ArrayList<>();
        for (Configuration c : configurations.all(NbdConfig.EXPORT_FACTORY_PID)) {
            Map<String, Object> p = Configurations.properties(c);
            if (p == null) {
                continue;
            }
            String device = string(p.get(NbdConfig.EXPORT_DEVICE));
            if ((MIRROR_PREFIX + name).equals(string(p.get(DEVICE)))
                    || device != null && device.startsWith("(") && own.stream().anyMatch(ref -> matches(device, ref))) {
                users.add(String.valueOf(p.get(NbdConfig.EXPORT_NAME)));
            }
        }
        users.sort(null);
        return users;
    }

    private static boolean matches(String filter, ServiceReference<?> ref) {
        try {
            Filter f = FrameworkUtil.createFilter(filter);
            return f.match(ref);
        } catch (InvalidSyntaxException e) {
            return false;
        }
    }

    /** @return what the export component is given: a path, or a filter naming one device service */
    private String target(String device) {
        String filter = serviceFilter(device);
        if (filter != null) {
            return filter;
        }
        if (DeviceUris.looksLikeUri(device)) {
            throw ControlException.badRequest("device '" + Text.printable(device) + "' is a URI: an export serves a "
                    + "path, snapshot:NAME, origin:NAME or mirror:NAME");
        }
        Path path = SnapshotRules.absolute("device", device);
        DeviceKinds.requireDevice(path, "device");
        return path.toString();
    }

    /**
     * @param device a device as the API names it
     * @return the filter naming the one {@link BlockDevice} service of {@code snapshot:NAME},
     *         {@code origin:NAME} or {@code mirror:NAME}; null for another device (a path or URI)
     * @throws ControlException NOT_FOUND for a name that is not configured, BAD_REQUEST for a name against
     *         the rule, CONFLICT for an origin whose snapshot is not active
     */
    String serviceFilter(String device) {
        if (device.startsWith(Snapshots.SNAPSHOT_PREFIX)) {
            String name = device.substring(Snapshots.SNAPSHOT_PREFIX.length());
            SnapshotRules.requireName("snapshot", name);
            SnapshotView v = snapshots.get(name);
            if (!"active".equals(v.state())) {
                // Found by H23: an invalid snapshot's device was exported, and every read of it failed.
                throw ControlException.conflict("snapshot " + name + " is " + v.state()
                        + (v.invalidReason() == null ? "" : " (" + v.invalidReason() + ")")
                        + ": only an active snapshot's device is served or copied");
            }
            return "(&(" + BlockDevice.ROLE + "=" + Snapshot.ROLE_SNAPSHOT + ")(" + Snapshot.NAME + "="
                    + Configurations.escape(name) + "))";
        }
        if (device.startsWith(Snapshots.ORIGIN_PREFIX)) {
            String name = device.substring(Snapshots.ORIGIN_PREFIX.length());
            SnapshotRules.requireName("snapshot", name);
            return originFilter(name);
        }
        if (device.startsWith(MIRROR_PREFIX)) {
            String name = device.substring(MIRROR_PREFIX.length());
            SnapshotRules.requireName("mirror", name);
            if (configurations.find(Mirror.FACTORY_PID, name) == null) {
                throw ControlException.notFound("no mirror named " + name);
            }
            return "(&(" + BlockDevice.ROLE + "=" + Mirror.ROLE_MIRROR + ")(" + Mirror.NAME + "="
                    + Configurations.escape(name) + "))";
        }
        return null;
    }

    /**
     * The origin device service of snapshot {@code name}: the one whose origin is the snapshot's
     * origin (by file identity or normalized URI, since the service carries the spelling of the
     * first snapshot of that origin).
     */
    private String originFilter(String name) {
        Map<String, Object> props = Configurations.properties(snapshots.configuration(name));
        String origin = props == null ? null : string(props.get(Snapshot.CONFIG_ORIGIN));
        if (origin == null) {
            throw ControlException.notFound("no snapshot named " + name);
        }
        Object identity = identity(origin);
        for (ServiceReference<BlockDevice> ref : services.devices("(" + BlockDevice.ROLE + "=" + Snapshot.ROLE_ORIGIN
                + ")")) {
            String served = Services.property(ref, Snapshot.ORIGIN);
            if (served != null && (served.equals(origin) || identity != null && identity.equals(identity(served)))) {
                return "(&(" + BlockDevice.ROLE + "=" + Snapshot.ROLE_ORIGIN + ")(" + Snapshot.ORIGIN + "="
                        + Configurations.escape(served) + "))";
            }
        }
        throw ControlException.conflict("the origin " + origin + " of snapshot " + name + " has no origin device: "
                + "the snapshot is not active (" + snapshots.get(name).invalidReason() + ")");
    }

    /** @return what tells one origin from another: file identity or normalized URI; null if unknown */
    static Object identity(String origin) {
        try {
            if (DeviceUris.looksLikeUri(origin)) {
                URI uri = DeviceUris.parse(origin);
                return DeviceUris.FILE.equals(DeviceUris.scheme(uri)) ? FileClaims.identityOf(DeviceUris.path(uri))
                        : DeviceUriIdentity.of(uri);
            }
            return FileClaims.identityOf(Path.of(origin));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * @return true once the socket is there, or its export's component said why it cannot be served (H49-9: a
     *         socket path that is a link to nothing was waited for 30 s, then said not to have appeared); false
     *         after the wait
     */
    private boolean awaitSocket(Path socket, String pid) {
        long deadline = System.nanoTime() + wait.toNanos();
        while (!Files.exists(socket) && notServed(pid) == null) {
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        return true;
    }

    /** @return the view of a configuration, or null when it was deleted meanwhile */
    private ExportView view(Configuration c) {
        Map<String, Object> p = Configurations.properties(c);
        if (p == null) {
            return null;
        }
        String name = string(p.get(NbdConfig.EXPORT_NAME));
        String device = string(p.get(NbdConfig.EXPORT_DEVICE));
        String recorded = string(p.get(DEVICE));
        String socket = string(p.get(NbdConfig.EXPORT_SOCKET));
        String listen = string(p.get(NbdConfig.EXPORT_LISTEN));
        String tlsDir = string(p.get(NbdConfig.EXPORT_TLS_CERTIFICATES));
        boolean readOnly = Boolean.parseBoolean(String.valueOf(p.get(NbdConfig.EXPORT_READ_ONLY)));
        ComponentOutcomes.Outcome outcome = configurations.outcome(c);
        String state;
        String reason = null;
        Integer connections = null;
        switch (outcome.state()) {
            case ACTIVE -> {
                ServiceReference<IntSupplier> served = status(c.getPid());
                connections = served == null ? null : services.read(served, IntSupplier::getAsInt);
                if (connections != null) {
                    state = "serving";
                } else {
                    state = "waiting";
                    int matching = device != null && device.startsWith("(") ? services.devices(device).size() : 1;
                    String notOpen = matching == 0 ? notOpen(recorded) : null;
                    String notServed = notOpen == null ? notServed(c.getPid()) : null;
                    reason = notOpen != null ? "its device " + recorded + " is not open: " + notOpen
                            : notServed != null ? Text.printable(notServed)
                            : matching != 1 ? matching + " BlockDevice services match " + device
                            : "its component is active but the export is not served (see the log)";
                }
            }
            case FAILED -> {
                state = "failed";
                reason = Text.printable(outcome.reason());
            }
            default -> {
                state = "waiting";
                reason = outcome.reason();
            }
        }
        return new ExportView(name == null ? "" : name, recorded != null ? recorded : device, socket, listen, readOnly,
                tlsDir != null, connections, state, reason, uri(name == null ? "" : name, socket, listen, tlsDir != null));
    }

    /**
     * @param recorded the device as the request named it, or null (configured by other means)
     * @return why the snapshot or mirror an export names ({@code snapshot:NAME}, {@code origin:NAME},
     *         {@code mirror:NAME}) has no device service: its reason (a not-open status, say), or that
     *         it is not configured; null for any other device
     */
    private String notOpen(String recorded) {
        if (recorded == null) {
            return null;
        }
        try {
            if (recorded.startsWith(Snapshots.SNAPSHOT_PREFIX) || recorded.startsWith(Snapshots.ORIGIN_PREFIX)) {
                SnapshotView v = snapshots.get(recorded.substring(recorded.indexOf(':') + 1));
                return v.invalidReason() != null ? v.invalidReason() : "snapshot " + v.name() + " is " + v.state();
            }
            if (recorded.startsWith(MIRROR_PREFIX)) {
                MirrorView v = mirrors.get(recorded.substring(MIRROR_PREFIX.length()));
                return v.reason() != null ? v.reason() : "mirror " + v.name() + " is " + v.state();
            }
        } catch (ControlException e) {
            return e.getMessage();
        }
        return null;
    }

    /** @return the URI clients use, or null when the address cannot be written as one */
    static String uri(String name, String socket, String listen, boolean tls) {
        try {
            NbdUri u;
            if (socket != null) {
                u = NbdUri.unix(Path.of(socket), name);
            } else if (listen != null) {
                int colon = listen.lastIndexOf(':');
                String host = listen.substring(0, colon);
                if (host.startsWith("[") && host.endsWith("]")) {
                    host = host.substring(1, host.length() - 1);
                }
                u = NbdUri.tcp(host, Integer.parseInt(listen.substring(colon + 1)), name);
            } else {
                return null;
            }
            return (tls ? u.withTls(null) : u).toString();
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static String string(Object v) {
        return v == null || v.toString().isEmpty() ? null : v.toString();
    }
}
