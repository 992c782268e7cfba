package org.kcopyd.control.internal.service;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.kcopyd.control.ConfigurationOutcome;
import org.kcopyd.control.ControlException;
import org.kcopyd.control.KcopydControl;
import org.kcopyd.device.FileClaim;
import org.kcopyd.device.DeviceUris;
import org.kcopyd.device.FileClaims;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.runtime.ServiceComponentRuntime;

/**
 * Snapshots and exports are factory configurations found by their {@code name} property: finding,
 * listing, creating (and waiting for the component to activate) and deleting them (and waiting for
 * the component to go). Thread-safe; the callers serialize changes.
 */
final class Configurations {

    private final ConfigurationAdmin admin;
    private final ServiceComponentRuntime scr;
    /** The registry, for the not-open statuses of snapshots and mirrors being made; null: not read. */
    private final Services services;
    private final Duration wait;

    /** @param services the registry, for the statuses of snapshots and mirrors being made (null: not read) */
    Configurations(ConfigurationAdmin admin, ServiceComponentRuntime scr, Services services, Duration wait) {
        this.admin = admin;
        this.scr = scr;
        this.services = services;
        this.wait = wait;
    }

    ServiceComponentRuntime scr() {
        return scr;
    }

    ConfigurationAdmin admin() {
        return admin;
    }

    /** @return the configuration of that factory PID and name, or null */
    Configuration find(String factoryPid, String name) {
        Configuration[] found = list("(&(service.factoryPid=" + escape(factoryPid) + ")(name=" + escape(name) + "))");
        return found.length == 0 ? null : found[0];
    }

    /** @return the configuration of that PID, or null */
    Configuration byPid(String pid) {
        Configuration[] found = list("(service.pid=" + escape(pid) + ")");
        return found.length == 0 ? null : found[0];
    }

    /** @return every configuration of that factory PID */
    List<Configuration> all(String factoryPid) {
        return new ArrayList<>(List.of(list("(service.factoryPid=" + escape(factoryPid) + ")")));
    }

    /**
     * Refuses a file that another snapshot's or mirror's configuration names as its COW store, region
     * log or a leg, whether that snapshot or mirror is open or not (one waiting for its NBD server holds
     * no claim on its files, and would find them taken by another when it opens: H36).
     *
     * @param file    the file the request makes something of
     * @param what    what the request makes of it ("COW store", "leg 1"), for the message
     * @param ownName the name of the snapshot or mirror the request is about, whose own configuration
     *                does not count (null: none)
     * @throws ControlException CONFLICT naming the configuration that names the file
     */
    void refuseConfigured(Path file, String what, String ownName) {
        for (Configuration c : all(Snapshot.FACTORY_PID)) {
            Map<String, Object> p = properties(c);
            if (p != null && !String.valueOf(p.get(Snapshot.CONFIG_NAME)).equals(ownName)
                    && sameFile(file, p.get(Snapshot.CONFIG_COW_STORE))) {
                throw configured(file, what, "the COW store of snapshot " + p.get(Snapshot.CONFIG_NAME));
            }
        }
        for (Configuration c : all(Mirror.FACTORY_PID)) {
            Map<String, Object> p = properties(c);
            if (p == null || String.valueOf(p.get(Mirror.CONFIG_NAME)).equals(ownName)) {
                continue;
            }
            if (sameFile(file, p.get(Mirror.CONFIG_REGION_LOG))) {
                throw configured(file, what, "the region log of mirror " + p.get(Mirror.CONFIG_NAME));
            }
            if (p.get(Mirror.CONFIG_LEGS) instanceof String[] legs) {
                for (int i = 0; i < legs.length; i++) {
                    if (sameFile(file, legs[i])) {
                        throw configured(file, what, "leg " + i + " of mirror " + p.get(Mirror.CONFIG_NAME));
                    }
                }
            }
        }
    }

    private static ControlException configured(Path file, String what, String use) {
        return ControlException.conflict(what + " " + file + " is " + use + " (configured, open or waiting to open): "
                + "one file serves one of them; remove that one first to use the file here");
    }

    /** @return whether a configured path names {@code file}: the same file, or the same path where either is missing */
    private static boolean sameFile(Path file, Object configured) {
        if (!(configured instanceof String text) || text.isEmpty() || DeviceUris.looksLikeUri(text)
                || text.startsWith(Mirror.SERVICE_LEG)) {
            return false;
        }
        Path other;
        try {
            other = Path.of(text);
        } catch (java.nio.file.InvalidPathException e) {
            return false;
        }
        try {
            if (java.nio.file.Files.exists(file) && java.nio.file.Files.exists(other)) {
                return FileClaims.identityOf(file).equals(FileClaims.identityOf(other));
            }
        } catch (IOException e) {
            // Compared by path below.
        }
        return file.toAbsolutePath().normalize().equals(other.toAbsolutePath().normalize());
    }

    private Configuration[] list(String filter) {
        try {
            Configuration[] found = admin.listConfigurations(filter);
            return found == null ? new Configuration[0] : found;
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException("filter " + filter + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw ControlException.failed("cannot list the configurations: " + e.getMessage());
        }
    }

    /** A value as an LDAP filter must spell it (RFC 4515): {@code *}, {@code (}, {@code )} and {@code \} are literal. */
    static String escape(String value) {
        StringBuilder b = new StringBuilder(value.length());
        for (char c : value.toCharArray()) {
            if (c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }

    /** @return the configuration's properties now as a map (Config Admin's own aside), or null when it is gone */
    static Map<String, Object> properties(Configuration c) {
        Dictionary<String, Object> d = dictionary(c);
        if (d == null) {
            return null;
        }
        Map<String, Object> map = new HashMap<>();
        for (String key : Collections.list(d.keys())) {
            if (!key.startsWith("service.") && !key.startsWith(":")) {
                map.put(key, d.get(key));
            }
        }
        return map;
    }

    /** @return the configuration's dictionary now, or null when it is gone */
    static Dictionary<String, Object> dictionary(Configuration c) {
        try {
            return c.getProperties();
        } catch (IllegalStateException deleted) {
            return null;
        }
    }

    /**
     * What DS makes of any configuration, within {@code limit}: {@link KcopydControl#awaitConfiguration}.
     *
     * @throws ControlException BAD_REQUEST for an empty PID or a limit outside 0 to {@link KcopydControl#WAIT_SECONDS},
     *         NOT_FOUND when there is no configuration of that PID
     */
    ConfigurationOutcome awaitOutcome(String pid, Duration limit) {
        if (pid == null || pid.isBlank()) {
            throw ControlException.badRequest("configuration PID " + (pid == null ? "null" : "'" + Text.printable(pid)
                    + "'") + " is empty: a PID is required");
        }
        long most = TimeUnit.SECONDS.toMillis(KcopydControl.WAIT_SECONDS);
        if (limit == null || limit.isNegative() || limit.toMillis() > most) {
            throw ControlException.badRequest("wait " + (limit == null ? "null" : limit.toMillis() + " ms")
                    + " is outside 0 to " + most + " ms");
        }
        Configuration c = byPid(pid);
        if (c == null) {
            throw ControlException.notFound("no configuration has PID " + Text.printable(pid));
        }
        String taken = c.getFactoryPid() != null ? c.getFactoryPid() : c.getPid();
        if (!ComponentOutcomes.consumed(scr, taken)) {
            return new ConfigurationOutcome(ConfigurationOutcome.State.UNUSED,
                    "no component takes configurations of " + Text.printable(taken), false);
        }
        long deadline = System.nanoTime() + limit.toNanos();
        ComponentOutcomes.Outcome outcome = ComponentOutcomes.await(scr, c.getPid(), () -> dictionary(c), limit);
        return (outcome.state() == ComponentOutcomes.State.ACTIVE ? awaitMade(c, outcome, deadline, limit) : outcome)
                .toApi();
    }

    /**
     * A new snapshot or mirror with devices named by URI is opened after its component's activation,
     * on a thread of its own (its not-open status says {@code NOT_OPEN_CREATING} meanwhile): its
     * configuration is in effect once it is open, and refused if it is refused then.
     *
     * @param active the component's outcome, active
     * @return {@code active}; or FAILED with the refusal and its exception's class; or PENDING if
     *         still being opened at the deadline
     */
    private ComponentOutcomes.Outcome awaitMade(Configuration c, ComponentOutcomes.Outcome active, long deadline,
            Duration limit) {
        Services.StatusKeys keys = Snapshot.FACTORY_PID.equals(c.getFactoryPid()) ? Services.StatusKeys.SNAPSHOT
                : Mirror.FACTORY_PID.equals(c.getFactoryPid()) ? Services.StatusKeys.MIRROR : null;
        Map<String, Object> props = properties(c);
        if (keys == null || services == null || props == null || props.get(Snapshot.CONFIG_NAME) == null) {
            return active;
        }
        String name = props.get(Snapshot.CONFIG_NAME).toString();
        while (true) {
            Services.NotOpen status = services.notOpen(keys, name);
            if (status == null || !status.creating() && !status.refused()) {
                return active;
            }
            if (status.refused()) {
                return new ComponentOutcomes.Outcome(ComponentOutcomes.State.FAILED, status.reason(), status.exception());
            }
            if (System.nanoTime() - deadline >= 0 || Thread.currentThread().isInterrupted()) {
                // The caller's limit (what is left of the --config-dir check's time), not this class's own wait.
                return new ComponentOutcomes.Outcome(ComponentOutcomes.State.PENDING, "not open after "
                        + limit.toMillis() / 1000.0 + " s: " + status.reason(), "");
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    /** @return what DS did with the configuration now */
    ComponentOutcomes.Outcome outcome(Configuration c) {
        return ComponentOutcomes.of(scr, c.getPid(), dictionary(c));
    }

    /**
     * Creates a factory configuration and waits until Declarative Services has activated its
     * component. When it fails to activate, or is not active in time, the configuration is deleted
     * again (nothing is left behind) and the reason is thrown.
     *
     * @param kind "snapshot" or "export", for messages
     * @return the new configuration, its component active
     * @throws ControlException BAD_REQUEST when the component refused the values, CONFLICT when a file
     *         or address is in use, FAILED otherwise
     */
    Configuration create(String factoryPid, String kind, String name, Dictionary<String, ?> properties) {
        Configuration created;
        ComponentOutcomes.Outcome outcome;
        try {
            created = admin.createFactoryConfiguration(factoryPid, "?");
        } catch (IOException e) {
            throw ControlException.failed(kind + " '" + name + "' not created: " + e.getMessage());
        }
        try {
            created.update(properties);
            outcome = ComponentOutcomes.await(scr, created.getPid(), () -> dictionary(created), wait);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(created);
            throw ControlException.failed(kind + " '" + name + "' not created: " + e.getMessage());
        }
        if (outcome.state() == ComponentOutcomes.State.ACTIVE) {
            outcome = refusedWhileActive(factoryPid, name, outcome);
        }
        if (outcome.state() == ComponentOutcomes.State.ACTIVE) {
            return created;
        }
        deleteQuietly(created);
        throw ComponentOutcomes.refusal(kind + " '" + name + "' not created: " + Text.printable(outcome.reason()),
                outcome.exception());
    }

    /**
     * A snapshot or mirror component refuses a configuration by staying active, not open, its not-open status
     * saying the refusal (so that a configuration file mended in place is tried): registered before its
     * activation returned, so read at once.
     *
     * @return FAILED with the refusal and its exception's class if the status of the snapshot or mirror
     *         {@code name} says one, else {@code active}
     */
    private ComponentOutcomes.Outcome refusedWhileActive(String factoryPid, String name,
            ComponentOutcomes.Outcome active) {
        Services.StatusKeys keys = Snapshot.FACTORY_PID.equals(factoryPid) ? Services.StatusKeys.SNAPSHOT
                : Mirror.FACTORY_PID.equals(factoryPid) ? Services.StatusKeys.MIRROR : null;
        Services.NotOpen status = keys == null || services == null ? null : services.notOpen(keys, name);
        return status != null && status.refused()
                ? new ComponentOutcomes.Outcome(ComponentOutcomes.State.FAILED, status.reason(), status.exception())
                : active;
    }

    /**
     * Replaces a configuration by a new one of the same factory with {@code properties}: deletes it, waits
     * until its component is gone, and creates the new one without waiting for its component. For a
     * component whose activation failed, which Felix SCR does not activate again when its configuration
     * changes.
     *
     * @param kind "mirror", for messages
     * @return the new configuration
     * @throws ControlException FAILED if either cannot be done
     */
    Configuration recreate(Configuration c, String kind, String name, Dictionary<String, ?> properties) {
        String factoryPid = c.getFactoryPid();
        delete(c, kind, name);
        try {
            Configuration made = admin.createFactoryConfiguration(factoryPid, "?");
            made.update(properties);
            return made;
        } catch (IOException e) {
            throw ControlException.failed(kind + " '" + name + "': its configuration was removed and could not be "
                    + "made again: " + e.getMessage());
        }
    }

    /**
     * Deletes a configuration and waits until its component has been deactivated.
     *
     * @param kind "snapshot" or "export", for messages
     */
    void delete(Configuration c, String kind, String name) {
        String pid = c.getPid();
        try {
            c.delete();
        } catch (IOException e) {
            throw ControlException.failed(kind + " '" + name + "' not removed: " + e.getMessage());
        } catch (IllegalStateException gone) {
            // Deleted meanwhile by someone else: gone either way.
        }
        if (!ComponentOutcomes.awaitGone(scr, pid, wait)) {
            throw ControlException.failed(kind + " '" + name + "': its configuration is deleted but its component "
                    + "has not closed within " + wait.toSeconds() + " s");
        }
    }

    /**
     * Waits until no device of this process holds any of {@code files} any more: a component has
     * closed its devices (and written what it writes when it closes, such as a region log's clean
     * state) only when it has released their claims, which may be after Declarative Services stopped
     * reporting it. A removal answers only then, so that the files can be copied or reused at once.
     *
     * @param kind  "snapshot" or "mirror", for messages
     * @param files the component's own files (its COW store; its region log and file legs)
     */
    void awaitReleased(String kind, String name, List<Path> files) {
        long deadline = System.nanoTime() + wait.toNanos();
        for (Path file : files) {
            try {
                while (FileClaims.holderOf(file).filter(FileClaim::isHeldHere).isPresent()) {
                    if (System.nanoTime() - deadline >= 0 || Thread.currentThread().isInterrupted()) {
                        throw ControlException.failed(kind + " '" + name + "': its configuration is deleted but "
                                + file + " is still held after " + wait.toSeconds() + " s");
                    }
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
                }
            } catch (java.nio.file.NoSuchFileException gone) {
                // No file, no holder: nothing to wait for.
            } catch (IOException e) {
                throw ControlException.failed(kind + " '" + name + "' removed, but whether it has closed " + file
                        + " cannot be told: " + e.getMessage());
            }
        }
    }

    /**
     * Deletes the configuration of a snapshot or mirror that was not made (refused, not open in time,
     * its wait ended otherwise).
     *
     * @param kind    "snapshot" or "mirror", for messages
     * @param message why it was not made
     * @param code    the error's kind when the configuration is removed
     * @return the error to throw: {@code message}, and whether the configuration is removed again
     */
    ControlException deleteNotMade(Configuration c, String kind, String name, String message,
            ControlException.Code code) {
        try {
            delete(c, kind, name);
        } catch (RuntimeException e) {
            return ControlException.failed(message + "; its configuration could not be removed (" + e.getMessage()
                    + "): remove it, or it is made when the daemon starts again");
        }
        return new ControlException(code, message + "; its configuration is removed again");
    }

    private static void deleteQuietly(Configuration c) {
        try {
            c.delete();
        } catch (IOException | IllegalStateException e) {
            // Already gone: nothing left behind.
        }
    }
}
