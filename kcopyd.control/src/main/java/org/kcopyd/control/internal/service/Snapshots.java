package org.kcopyd.control.internal.service;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.kcopyd.control.ControlException;
import org.kcopyd.control.SnapshotRequest;
import org.kcopyd.control.SnapshotView;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;

/**
 * Snapshots: their factory configurations ({@value Snapshot#FACTORY_PID}) and the {@link Snapshot}
 * services of the active ones. Thread-safe for reads; changes are serialized by the caller.
 */
final class Snapshots {

    /** Device names in the API. */
    static final String SNAPSHOT_PREFIX = "snapshot:";
    /**
     * Why a snapshot whose component is active is not open, when its component publishes no
     * not-open status ({@link Snapshot#NOT_OPEN}) to say it: one of an older kcopyd.snapshot, or
     * in the moment it opens or closes.
     */
    static final String NOT_OPEN = "its component is active but the snapshot is not open: its origin or COW store "
            + "cannot be opened now, or was refused when it opened; the daemon's log says which";
    static final String ORIGIN_PREFIX = "origin:";
    /** The state of a snapshot or mirror configured and not open, which may open by itself. */
    static final String WAITING = "waiting";
    /** The state of a snapshot or mirror configured and refused: it opens only once something changes. */
    static final String FAILED = "failed";

    private final Configurations configurations;
    private final Services services;
    private final Duration wait;
    /** The creation mark of the snapshots created here ({@link Snapshot#CONFIG_CREATING}), or null for none. */
    private final String framework;

    /**
     * @param framework this framework's UUID, the creation mark of the snapshots it creates (a
     *                  snapshot made at a later start with it is refused), or null to set none
     */
    Snapshots(Configurations configurations, Services services, Duration wait, String framework) {
        this.configurations = configurations;
        this.services = services;
        this.wait = wait;
        this.framework = framework;
    }

    /** @throws ControlException UNAVAILABLE when no component takes snapshot configurations */
    void requireBundle() {
        if (!ComponentOutcomes.consumed(configurations.scr(), Snapshot.FACTORY_PID)) {
            throw ControlException.unavailable("no snapshot component runs (is the bundle kcopyd.snapshot started?)");
        }
    }

    List<SnapshotView> list() {
        return configurations.all(Snapshot.FACTORY_PID).stream().map(this::view).filter(v -> v != null)
                .sorted(Comparator.comparing(SnapshotView::name)).toList();
    }

    SnapshotView get(String name) {
        SnapshotRules.requireName("snapshot", name);
        SnapshotView v = view(configuration(name));
        if (v == null) {
            throw ControlException.notFound("no snapshot named " + name);
        }
        return v;
    }

    /** @return the configuration of snapshot {@code name} */
    Configuration configuration(String name) {
        Configuration c = configurations.find(Snapshot.FACTORY_PID, name);
        if (c == null) {
            throw ControlException.notFound("no snapshot named " + name);
        }
        return c;
    }

    /**
     * A snapshot whose configuration is made and whose component is active: {@link #finish} waits
     * for it to open.
     *
     * @param configuration its configuration
     * @param name          its name
     * @param deadline      when the wait ends ({@link System#nanoTime})
     */
    record Started(Configuration configuration, String name, long deadline) {
    }

    /** Checks the request and makes the configuration (under the caller's change lock); {@link #finish} waits. */
    Started start(SnapshotRequest request) {
        requireBundle();
        Hashtable<String, Object> props = SnapshotRules.check(request);
        String name = request.name();
        if (configurations.find(Snapshot.FACTORY_PID, name) != null) {
            throw ControlException.conflict("a snapshot named " + name + " exists already");
        }
        configurations.refuseConfigured(Path.of((String) props.get(Snapshot.CONFIG_COW_STORE)), "COW store", name);
        if (framework != null) {
            // Kept until the snapshot opens: a process ended while this waits leaves a configuration refused at the
            // next start, not a snapshot made that nobody was told of (H41 A1).
            props.put(Snapshot.CONFIG_CREATING, framework);
        }
        Configuration created = configurations.create(Snapshot.FACTORY_PID, "snapshot", name, props);
        return new Started(created, name, System.nanoTime() + wait.toNanos());
    }

    /**
     * Waits, without the change lock, until the snapshot is open: its services are registered by now,
     * or (an origin named by URI, connected to on a thread of its own) once it is open, unless it was
     * refused, removed or deactivated meanwhile; then its configuration is removed again (if still
     * there) and the reason thrown.
     */
    SnapshotView finish(Started started) {
        Configuration created = started.configuration();
        String name = started.name();
        while (true) {
            SnapshotView v;
            try {
                v = view(created);
            } catch (RuntimeException e) {
                // kcopyd.control stopping with the daemon (H41 A1: the configuration stayed, made at the next start).
                throw removed(created, name, "not created: " + e.getMessage(), "");
            }
            if (v == null) {
                throw ControlException.failed("snapshot " + name + " not created: removed by another request while "
                        + "it was being created (a COW store it made stays, as at any removal)");
            }
            if (!WAITING.equals(v.state()) && !FAILED.equals(v.state())) {
                return v;
            }
            if (FAILED.equals(v.state())) {
                Services.NotOpen status = services.notOpen(Services.StatusKeys.SNAPSHOT, name);
                throw removed(created, name, "not created: refused (" + v.invalidReason() + ")",
                        status == null ? "" : status.exception());
            }
            if (System.nanoTime() - started.deadline() >= 0) {
                throw removed(created, name, "not created: not active after " + wait.toSeconds() + " s ("
                        + v.invalidReason() + ")", "");
            }
            if (Thread.currentThread().isInterrupted()) {
                throw removed(created, name, "not created: interrupted while it was " + v.invalidReason(), "");
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    /** Removes the configuration of a snapshot not made, and gives the error saying so ({@code exception}'s kind). */
    private ControlException removed(Configuration created, String name, String why, String exception) {
        String message = "snapshot " + name + " " + why;
        return configurations.deleteNotMade(created, "snapshot", name, message,
                ComponentOutcomes.refusal(message, exception).code());
    }

    void remove(String name, Exports exports) {
        SnapshotRules.requireName("snapshot", name);
        Configuration c = configuration(name);
        List<String> users = exports.usersOfSnapshot(name);
        if (!users.isEmpty()) {
            throw ControlException.conflict("snapshot " + name + " is exported by " + String.join(", ", users)
                    + ": remove " + (users.size() == 1 ? "that export" : "those exports") + " first");
        }
        Map<String, Object> props = Configurations.properties(c);
        String cow = props == null ? null : string(props.get(Snapshot.CONFIG_COW_STORE));
        configurations.delete(c, "snapshot", name);
        // The snapshot writes its COW store's last metadata when it closes: answer once it has.
        configurations.awaitReleased("snapshot", name, cow == null ? List.of() : List.of(Path.of(cow)));
    }

    /**
     * Sets {@link Snapshot#CONFIG_REMOVE_WHEN_MERGED} in snapshot {@code name}'s configuration before
     * its merge starts (if the process ends during the merge, the snapshot resumes it when it opens
     * again and then removes its configuration itself, no job being left to do it), or clears it
     * again when the merge could not start.
     *
     * @throws ControlException FAILED if the configuration cannot be changed
     */
    void removeWhenMerged(String name, boolean remove) {
        Configuration c = configuration(name);
        Dictionary<String, Object> d = Configurations.dictionary(c);
        if (d == null) {
            throw ControlException.notFound("no snapshot named " + name);
        }
        if (Boolean.valueOf(remove).equals(d.get(Snapshot.CONFIG_REMOVE_WHEN_MERGED))
                || !remove && d.get(Snapshot.CONFIG_REMOVE_WHEN_MERGED) == null) {
            return;
        }
        Hashtable<String, Object> props = new Hashtable<>();
        for (String key : java.util.Collections.list(d.keys())) {
            if (!key.startsWith(":")) {
                props.put(key, d.get(key));
            }
        }
        props.put(Snapshot.CONFIG_REMOVE_WHEN_MERGED, remove);
        try {
            c.update(props);
        } catch (java.io.IOException | IllegalStateException e) {
            throw ControlException.failed("snapshot " + name + ": its configuration could not be changed ("
                    + Snapshot.CONFIG_REMOVE_WHEN_MERGED + "=" + remove + "): " + e.getMessage()
                    + (remove ? "; the merge was not started" : ""));
        }
    }

    /** @return the service reference of snapshot {@code name}'s Snapshot service, or null */
    ServiceReference<Snapshot> service(String name) {
        List<ServiceReference<Snapshot>> refs = services.references(Snapshot.class,
                "(" + Snapshot.NAME + "=" + Configurations.escape(name) + ")");
        return refs.isEmpty() ? null : refs.get(0);
    }

    /** @return the view of a configuration, or null when it was deleted meanwhile */
    private SnapshotView view(Configuration c) {
        Map<String, Object> props = Configurations.properties(c);
        if (props == null) {
            return null;
        }
        String name = String.valueOf(props.get(Snapshot.CONFIG_NAME));
        String origin = string(props.get(Snapshot.CONFIG_ORIGIN));
        String cow = string(props.get(Snapshot.CONFIG_COW_STORE));
        int chunk = integer(props.get(Snapshot.CONFIG_CHUNK_SECTORS), SnapshotRules.DEFAULT_CHUNK_SECTORS);
        ServiceReference<Snapshot> ref = service(name);
        SnapshotView active = ref == null ? null : services.read(ref, s -> new SnapshotView(name, origin, cow,
                s.chunkSectors(), s.state().name().toLowerCase(java.util.Locale.ROOT), s.invalidReason().orElse(null),
                s.chunksUsed(), s.chunksCapacity(), s.cowStoreId().toString(), SNAPSHOT_PREFIX + name,
                ORIGIN_PREFIX + name));
        if (active != null) {
            return active;
        }
        ComponentOutcomes.Outcome outcome = configurations.outcome(c);
        Services.NotOpen status = outcome.state() == ComponentOutcomes.State.ACTIVE
                ? services.notOpen(Services.StatusKeys.SNAPSHOT, name) : null;
        String reason = switch (outcome.state()) {
            case FAILED -> Text.printable(outcome.reason());
            case ABSENT -> "no snapshot component has taken its configuration (is the bundle kcopyd.snapshot started?)";
            case ACTIVE -> status != null ? status.reason() : NOT_OPEN;
            default -> outcome.reason();
        };
        boolean failed = outcome.state() == ComponentOutcomes.State.FAILED || status != null && status.refused();
        return new SnapshotView(name, origin, cow, chunk, failed ? FAILED : WAITING, reason, 0, 0,
                string(props.get(Snapshot.CONFIG_COW_STORE_ID)), SNAPSHOT_PREFIX + name, ORIGIN_PREFIX + name);
    }

    private static String string(Object v) {
        return v == null || v.toString().isEmpty() ? null : v.toString();
    }

    private static int integer(Object v, int otherwise) {
        if (v instanceof Number n) {
            return n.intValue();
        }
        try {
            return v == null ? otherwise : Integer.parseInt(v.toString().trim());
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }
}
