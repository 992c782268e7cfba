package org.kcopyd.control.internal.service;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.control.ControlException;
import org.kcopyd.control.MirrorRequest;
import org.kcopyd.control.MirrorView;
import org.kcopyd.device.DeviceUris;
import org.kcopyd.device.KcopydHeaders;
import org.kcopyd.mirror.LegStatus;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.mirror.MirrorStatus;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;

/**
 * Mirrors: their factory configurations ({@value Mirror#FACTORY_PID}) and the {@link Mirror}
 * services of the open ones. Thread-safe for reads; changes are serialized by the caller.
 */
final class Mirrors {

    /**
     * Why a mirror whose component is active is not open, when its component publishes no not-open
     * status ({@link Mirror#NOT_OPEN}) to say it: one of an older kcopyd.mirror, or in the moment
     * it opens or closes.
     */
    static final String NOT_OPEN = "its component is active but the mirror is not open: a leg or its region log cannot "
            + "be opened now, or was refused when it opened; the daemon's log says which";

    static final String PREFIX = "mirror:";

    private final Configurations configurations;
    private final Services services;
    private final Duration wait;
    /** The mark of the mirrors created or changed here ({@link Mirror#CONFIG_CREATING}), or null for none. */
    private final String framework;

    /**
     * @param framework this framework's UUID, the creation mark of the mirrors it creates (a mirror
     *                  made at a later start with it is refused), or null to set none
     */
    Mirrors(Configurations configurations, Services services, Duration wait, String framework) {
        this.configurations = configurations;
        this.services = services;
        this.wait = wait;
        this.framework = framework;
    }

    private void requireBundle() {
        if (!ComponentOutcomes.consumed(configurations.scr(), Mirror.FACTORY_PID)) {
            throw ControlException.unavailable("no mirror component runs (is the bundle kcopyd.mirror started?)");
        }
    }

    List<MirrorView> list() {
        return configurations.all(Mirror.FACTORY_PID).stream().map(this::view).filter(Objects::nonNull)
                .sorted(Comparator.comparing(MirrorView::name)).toList();
    }

    MirrorView get(String name) {
        SnapshotRules.requireName("mirror", name);
        MirrorView v = view(configuration(name));
        if (v == null) {
            throw ControlException.notFound("no mirror named " + name);
        }
        return v;
    }

    private Configuration configuration(String name) {
        Configuration c = configurations.find(Mirror.FACTORY_PID, name);
        if (c == null) {
            throw ControlException.notFound("no mirror named " + name);
        }
        return c;
    }

    /**
     * A mirror whose configuration is made and whose component is active: {@link #finish} waits for it to open.
     *
     * @param configuration its configuration
     * @param name          its name
     * @param legs          its legs as configured
     */
    record Started(Configuration configuration, String name, String[] legs) {
    }

    /** Checks the request and makes the configuration (under the caller's change lock); {@link #finish} waits. */
    Started start(MirrorRequest request) {
        requireBundle();
        Hashtable<String, Object> props = MirrorRules.check(request);
        if (configurations.find(Mirror.FACTORY_PID, request.name()) != null) {
            throw ControlException.conflict("a mirror named " + request.name() + " exists already");
        }
        configurations.refuseConfigured(Path.of((String) props.get(Mirror.CONFIG_REGION_LOG)), "region log",
                request.name());
        String[] configuredLegs = (String[]) props.get(Mirror.CONFIG_LEGS);
        for (int i = 0; i < configuredLegs.length; i++) {
            if (!DeviceUris.looksLikeUri(configuredLegs[i]) && !configuredLegs[i].startsWith(Mirror.SERVICE_LEG)) {
                configurations.refuseConfigured(Path.of(configuredLegs[i]), "leg " + i, request.name());
            }
        }
        mark(props);
        Configuration created = configurations.create(Mirror.FACTORY_PID, "mirror", request.name(), props);
        return new Started(created, request.name(), (String[]) props.get(Mirror.CONFIG_LEGS));
    }

    /**
     * Waits, without the change lock, until the mirror is open with its legs (those named by URI are
     * connected to on a thread of the mirror's own); if it is refused, not open in time, or the wait
     * ends otherwise (the daemon stopping), its configuration is removed again and the reason thrown.
     */
    MirrorView finish(Started started) {
        String name = started.name();
        try {
            return awaitOpen(started.configuration(), name, started.legs(), null);
        } catch (RuntimeException e) {
            if (Configurations.dictionary(started.configuration()) == null) {
                // Removed by another request meanwhile (H42: the message said it could not be removed).
                throw ControlException.failed("mirror " + name + " not created: removed by another request while it "
                        + "was being created");
            }
            // A refusal keeps its kind (a bad value, a file in use): refused when its legs named by URI were opened.
            throw configurations.deleteNotMade(started.configuration(), "mirror", name, e.getMessage(),
                    e instanceof ControlException c ? c.code() : ControlException.Code.FAILED);
        }
    }

    void remove(String name, Exports exports) {
        SnapshotRules.requireName("mirror", name);
        Configuration c = configuration(name);
        List<String> users = exports.usersOfMirror(name);
        if (!users.isEmpty()) {
            throw ControlException.conflict("mirror " + name + " is exported by " + String.join(", ", users)
                    + ": remove " + (users.size() == 1 ? "that export" : "those exports") + " first");
        }
        List<Path> files = new ArrayList<>();
        Dictionary<String, Object> props = Configurations.dictionary(c);
        if (props != null && props.get(Mirror.CONFIG_REGION_LOG) instanceof String log) {
            files.add(Path.of(log));
        }
        if (props != null && props.get(Mirror.CONFIG_LEGS) instanceof String[] legs) {
            for (String leg : legs) {
                if (!DeviceUris.looksLikeUri(leg) && !leg.startsWith(Mirror.SERVICE_LEG)) {
                    files.add(Path.of(leg));
                }
            }
        }
        configurations.delete(c, "mirror", name);
        // The mirror writes its log's clean state when it closes: answer once it has.
        configurations.awaitReleased("mirror", name, files);
    }

    MirrorView replaceLeg(String name, int index, String device) {
        SnapshotRules.requireName("mirror", name);
        Configuration c = configuration(name);
        Dictionary<String, Object> before = Configurations.dictionary(c);
        if (before == null || !(before.get(Mirror.CONFIG_LEGS) instanceof String[] legs)) {
            throw ControlException.notFound("no mirror named " + name);
        }
        if (index < 0 || index >= legs.length) {
            throw ControlException.badRequest("leg " + index + " is not a leg of mirror " + name + ": it has legs 0.."
                    + (legs.length - 1));
        }
        if (sameDevice(legs[index], device)) {
            return bringBack(c, before, name, index, legs[index]);
        }
        if (index == 0) {
            requireLeg0Replaceable(c, name);
        }
        List<String> others = new ArrayList<>(Arrays.asList(legs));
        others.set(index, null);
        String leg = MirrorRules.leg(index, device, MirrorRules.regionLog(String.valueOf(
                before.get(Mirror.CONFIG_REGION_LOG))), others);
        // What the mirror would refuse when it opens the new leg, refused before it is closed for it (H32: a
        // COW store, a 1000-byte file, a file smaller than the mirror waited 30 s for a mirror that never came).
        if (!DeviceUris.looksLikeUri(leg) && !leg.startsWith(Mirror.SERVICE_LEG)) {
            Path path = Path.of(leg);
            try {
                SnapshotRules.refuseHeld(path, "leg " + index);
            } catch (IOException e) {
                throw ControlException.badRequest("cannot examine leg " + index + " " + path + ": " + e.getMessage());
            }
            requireRoom(name, index, path);
            refuseKcopydFile(index, path);
            configurations.refuseConfigured(path, "leg " + index, name);
        }
        String[] next = legs.clone();
        next[index] = leg;
        Hashtable<String, Object> props = copy(before);
        props.put(Mirror.CONFIG_LEGS, next);
        String stale = refusalOf(view(c));
        Configuration changed = change(c, props, name);
        try {
            return awaitOpen(changed, name, next, stale);
        } catch (ControlException e) {
            restore(c, changed, before, name);
            throw ControlException.failed(e.getMessage() + "; its previous legs are configured again");
        }
    }

    /**
     * Leg 0 may be replaced only once it failed while another leg is in sync, which the new one is then
     * resynced from (H43 F8: a failed leg 0 could not be replaced at all, "the source every other leg is
     * copied from" although leg 1 was). In sync, or with no leg in sync to copy from, the new device would
     * be copied over the others, or hold nothing.
     */
    private void requireLeg0Replaceable(Configuration c, String name) {
        if (refused(c)) {
            // Not open (a change cut short by the daemon's end, say): its log, when it opens, refuses a new leg 0
            // unless another leg it records in sync is there to copy from.
            return;
        }
        MirrorView v = view(c);
        List<MirrorView.Leg> legs = v == null ? List.of() : v.legs();
        boolean failed = "active".equals(v == null ? null : v.state()) && "failed".equals(legs.get(0).state());
        if (failed && legs.stream().anyMatch(l -> "in-sync".equals(l.state()))) {
            return;
        }
        throw ControlException.badRequest(failed ? "leg 0 of mirror " + name + " failed and no other leg is in sync to "
                + "copy a new leg 0 from" : "leg 0 is mirror " + name + "'s default leg" + (v != null
                && "active".equals(v.state()) ? " and " + legs.get(0).state() : "") + ": replacing it would copy the new "
                + "device over the others; it can be replaced once it has failed and another leg is in sync (or make "
                + "another leg the first of a new mirror)");
    }

    /**
     * @return whether the mirror's configuration was refused, not to be tried again by itself: its component says
     *         so on its not-open status (or, for a configuration that names no mirror, failed its activation)
     */
    private boolean refused(Configuration c) {
        return refusalOf(view(c)) != null || configurations.outcome(c).state() == ComponentOutcomes.State.FAILED;
    }

    /** @return the refusal a mirror's view says (its not-open status's), null if none or no view */
    private static String refusalOf(MirrorView v) {
        return v != null && Snapshots.FAILED.equals(v.state()) ? v.reason() : null;
    }

    /**
     * @return whether {@code device}, as given to replace-leg, is the leg configured as {@code leg}: the same
     *         text, the same export (normalized URI), or the same file
     */
    private static boolean sameDevice(String leg, String device) {
        if (leg.equals(device) || MirrorRules.sameUri(leg, device)) {
            return true;
        }
        if (leg.startsWith(Mirror.SERVICE_LEG) || device.startsWith(Mirror.SERVICE_LEG) || DeviceUris.looksLikeUri(leg)
                || DeviceUris.looksLikeUri(device)) {
            return false;
        }
        try {
            return MirrorRules.sameFile(Path.of(leg), Path.of(device));
        } catch (java.nio.file.InvalidPathException e) {
            return false;
        }
    }

    /**
     * replace-leg of a leg by its own device (H43 F6: answered "replaced" and nothing changed): a failed leg
     * stays failed while it is the device the region log recorded, so one whose disk was repaired, or whose
     * server serves it again, is brought back ({@link Mirror#CONFIG_RESYNC_LEGS}): resynced fully from a leg in
     * sync. A leg in sync or resyncing is resynced fully the same way (H45 F4: its data doubted, written outside
     * the mirror where no fingerprint looks; LVM's {@code lvchange --resync}), if another leg is in sync to copy
     * from. Refused while the mirror is not open. Answers once the mirror is open again and has taken the change
     * (cleared {@link Mirror#CONFIG_RESYNC_LEGS}).
     */
    private MirrorView bringBack(Configuration c, Dictionary<String, Object> before, String name, int index,
            String leg) {
        MirrorView v = view(c);
        // A mirror refused when it was activated (a change cut short by the daemon's end, H44 F3) is given the change
        // again: opening it, its log brings the leg back only if it records it failed.
        String stale = refusalOf(v);
        boolean wasRefused = stale != null || configurations.outcome(c).state() == ComponentOutcomes.State.FAILED;
        if (!wasRefused && (v == null || !"active".equals(v.state()))) {
            throw ControlException.conflict("mirror " + name + " is not open" + (v == null || v.reason() == null ? ""
                    : " (" + v.reason() + ")") + ": leg " + index + " is " + leg + " already; a leg is brought back "
                    + "(resynced fully) only once it has failed, and only while the mirror is open");
        }
        String state = wasRefused ? "failed" : v.legs().get(index).state();
        if (!"failed".equals(state) && v.legs().stream().noneMatch(l -> l.index() != index
                && "in-sync".equals(l.state()))) {
            throw ControlException.badRequest("leg " + index + " of mirror " + name + " is " + leg + " already and "
                    + state + ", and no other leg is in sync to resync it from: there is nothing to replace, bring "
                    + "back or resync");
        }
        Hashtable<String, Object> props = copy(before);
        props.put(Mirror.CONFIG_RESYNC_LEGS, new String[] {leg});
        Configuration changed = change(c, props, name);
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            MirrorView now = view(changed);
            // Taken once the mirror cleared the request: a leg in sync shows in sync before the change too.
            Dictionary<String, Object> latest = Configurations.dictionary(changed);
            boolean taken = latest != null && latest.get(Mirror.CONFIG_RESYNC_LEGS) == null;
            if (now != null && taken && "active".equals(now.state()) && !"failed".equals(now.legs().get(index).state())) {
                return now;
            }
            // A first attempt that failed ends the wait (H44 F1: the mirror, serving degraded before, waited for the
            // leg's server 30 s): the leg cannot be opened now.
            boolean attemptFailed = now != null && now.reason() != null && now.reason().contains(" failed; next attempt");
            boolean refused = now != null && Snapshots.FAILED.equals(now.state()) && !Objects.equals(now.reason(), stale);
            if (now == null || refused || attemptFailed
                    || System.nanoTime() - deadline >= 0 || Thread.currentThread().isInterrupted()) {
                String why = now == null ? "its configuration was removed meanwhile" : now.reason() != null
                        ? now.reason() : "leg " + index + " is still " + now.legs().get(index).state() + " after "
                        + wait.toSeconds() + " s";
                if (now != null) {
                    // H44 F1-F3: left configured, the bring-back kept the mirror closed, was refused after a restart,
                    // and ran later by itself over whatever disk came to the leg's address.
                    restore(c, changed, before, name);
                }
                boolean failed = "failed".equals(state);
                throw ControlException.failed("mirror " + name + ": leg " + index + " " + leg + " not "
                        + (failed ? "brought back: " : "resynced: ") + why + (now == null ? ""
                        : "; its configuration is as it was" + (failed ? ", the leg failed" : "")));
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    /**
     * Marks a mirror's configuration as created or changed by this run until the mirror opens
     * ({@link Mirror#CONFIG_CREATING}): a process ended while the change waits leaves a configuration refused at
     * the next start (H41 A1, H43 F3), not a mirror resyncing onto legs nobody was told of.
     */
    private void mark(Hashtable<String, Object> props) {
        if (framework != null) {
            props.put(Mirror.CONFIG_CREATING, framework);
        }
    }

    /**
     * Writes {@code props}, marked ({@link #mark}), into mirror {@code name}'s configuration. Made again when
     * its component's activation has failed: Felix SCR does not activate such a component again when its
     * configuration changes (it has no instance to call the modified method of).
     *
     * @return the configuration that holds the change
     */
    private Configuration change(Configuration c, Hashtable<String, Object> props, String name) {
        mark(props);
        if (configurations.outcome(c).state() == ComponentOutcomes.State.FAILED) {
            return configurations.recreate(c, "mirror", name, props);
        }
        update(c, props, name);
        return c;
    }

    /**
     * Puts a mirror's configuration back as it was before a change that did not open, made again when its
     * component's activation had failed before the change ({@link #change} made it again: {@code changed} is
     * not {@code c}) or has failed since (Felix SCR would ignore an update: H45 F2, the mirror stayed closed).
     * A refused mirror's component stays active, so this happens only to a configuration naming no mirror.
     */
    private void restore(Configuration c, Configuration changed, Dictionary<String, Object> before, String name) {
        if (changed != c || configurations.outcome(changed).state() == ComponentOutcomes.State.FAILED) {
            configurations.recreate(changed, "mirror", name, copy(before));
        } else {
            update(changed, copy(before), name);
        }
    }

    /**
     * Refuses a file or block device as leg {@code index} that holds a kcopyd COW store or region log
     * header, as the mirror refuses it when it opens the leg, but before the mirror is closed for it
     * (it would close, refuse the leg and reopen with the old one). Reads the header sectors only; a
     * file that cannot be read is left to the mirror.
     */
    private static void refuseKcopydFile(int index, Path path) {
        List<KcopydHeaders.Header> found;
        try {
            found = KcopydHeaders.read(path);
        } catch (IOException | RuntimeException e) {
            return;
        }
        if (!found.isEmpty()) {
            KcopydHeaders.Header h = found.get(0);
            throw ControlException.badRequest("leg " + index + " " + path + " holds " + h.describe() + "; a kcopyd COW "
                    + "store or region log is never a mirror leg (the resync would overwrite it), so nothing was changed: "
                    + "name another file, or, if that " + (h.kind() == KcopydHeaders.Kind.COW_STORE ? "store" : "log")
                    + " is no longer wanted, delete " + path + " yourself (or " + h.erasure() + ")");
        }
    }

    /** Refuses a regular file as leg {@code index} that is not whole sectors or is smaller than the mirror. */
    private void requireRoom(String name, int index, Path path) {
        long bytes;
        try {
            if (!Files.isRegularFile(path)) {
                return;
            }
            bytes = Files.size(path);
        } catch (IOException e) {
            throw ControlException.badRequest("cannot examine leg " + index + " " + path + ": " + e.getMessage());
        }
        if (bytes % BlockDevice.SECTOR_SIZE != 0) {
            throw ControlException.badRequest("leg " + index + " " + path + " is " + bytes + " bytes, not a whole number "
                    + "of " + BlockDevice.SECTOR_SIZE + "-byte sectors");
        }
        ServiceReference<Mirror> ref = service(name);
        Long sectors = ref == null ? null : services.read(ref, m -> m.device().sizeInSectors());
        if (sectors != null && bytes / BlockDevice.SECTOR_SIZE < sectors) {
            throw ControlException.badRequest("leg " + index + " " + path + " is " + bytes / BlockDevice.SECTOR_SIZE
                    + " sectors, smaller than mirror " + name + "'s " + sectors + " sectors");
        }
    }

    private static Hashtable<String, Object> copy(Dictionary<String, Object> d) {
        Hashtable<String, Object> h = new Hashtable<>();
        for (String key : java.util.Collections.list(d.keys())) {
            if (!key.startsWith(":")) {
                h.put(key, d.get(key));
            }
        }
        return h;
    }

    private static void update(Configuration c, Hashtable<String, Object> props, String name) {
        try {
            c.update(props);
        } catch (IOException | IllegalStateException e) {
            throw ControlException.failed("mirror " + name + ": its configuration could not be changed: "
                    + e.getMessage());
        }
    }

    /**
     * Waits until the Mirror service of {@code name} shows {@code legs}.
     *
     * @param stale the refusal the mirror's status said before the change (null: none), not taken for the
     *              change's: Config Admin hands the change to the component later, on its own thread
     */
    private MirrorView awaitOpen(Configuration c, String name, String[] legs, String stale) {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            ServiceReference<Mirror> ref = service(name);
            if (ref != null && Arrays.equals(legs, Services.properties(ref, Mirror.LEGS).toArray(new String[0]))) {
                MirrorView v = view(c);
                if (v != null && "active".equals(v.state())) {
                    return v;
                }
            }
            ComponentOutcomes.Outcome outcome = configurations.outcome(c);
            if (outcome.state() == ComponentOutcomes.State.FAILED) {
                throw ControlException.failed("mirror " + name + " is not open: " + Text.printable(outcome.reason()));
            }
            MirrorView now = ref == null ? view(c, outcome) : null;
            if (now != null && Snapshots.FAILED.equals(now.state()) && !Objects.equals(now.reason(), stale)) {
                // Refused when it was opened on its retry thread (a new mirror with legs named by URI, or an existing
                // one whose legs came back unlike it).
                Services.NotOpen status = services.notOpen(Services.StatusKeys.MIRROR, name);
                throw ComponentOutcomes.refusal("mirror " + name + " is not open: " + now.reason(),
                        status == null ? "" : status.exception());
            }
            if (ref == null && now == null) {
                throw ControlException.failed("mirror " + name + " is not open: its configuration was removed meanwhile");
            }
            if (Thread.currentThread().isInterrupted()) {
                throw ControlException.failed("mirror " + name + " is not open: interrupted while waiting for it");
            }
            if (System.nanoTime() - deadline >= 0) {
                throw ControlException.failed("mirror " + name + " is configured but not open with legs "
                        + Arrays.toString(legs) + " after " + wait.toSeconds() + " s: " + (ref != null
                        ? "its service shows legs " + Services.properties(ref, Mirror.LEGS)
                        : now != null ? now.reason() : "its configuration is gone"));
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    ServiceReference<Mirror> service(String name) {
        List<ServiceReference<Mirror>> refs = services.references(Mirror.class,
                "(" + Mirror.NAME + "=" + Configurations.escape(name) + ")");
        return refs.isEmpty() ? null : refs.get(0);
    }

    /** @return the bytes of one region of mirror {@code name} (its configured region size), 0 if it is gone */
    long regionBytes(String name) {
        Configuration c = configurations.find(Mirror.FACTORY_PID, name);
        Map<String, Object> props = c == null ? null : Configurations.properties(c);
        if (props == null) {
            return 0;
        }
        return number(props.get(Mirror.CONFIG_REGION_SECTORS), Mirror.DEFAULT_REGION_SECTORS) * 512;
    }

    /**
     * @return a configured number: a {@link Number}, or a text of one; {@code otherwise} if absent, or a
     *         text that is none (the mirror component refuses it: such a mirror is not open)
     */
    private static long number(Object v, long otherwise) {
        if (v instanceof Number n) {
            return n.longValue();
        }
        try {
            return v == null ? otherwise : Long.parseLong(v.toString().trim());
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    private MirrorView view(Configuration c) {
        return view(c, null);
    }

    /** @param known what DS did with the configuration, read just now (null: read here, if needed) */
    private MirrorView view(Configuration c, ComponentOutcomes.Outcome known) {
        Map<String, Object> props = Configurations.properties(c);
        if (props == null) {
            return null;
        }
        String name = String.valueOf(props.get(Mirror.CONFIG_NAME));
        String log = props.get(Mirror.CONFIG_REGION_LOG) == null ? null : props.get(Mirror.CONFIG_REGION_LOG).toString();
        long regionSectors = number(props.get(Mirror.CONFIG_REGION_SECTORS), Mirror.DEFAULT_REGION_SECTORS);
        long cap = number(props.get(Mirror.CONFIG_THROTTLE_BYTES_PER_SECOND), 0);
        ServiceReference<Mirror> ref = service(name);
        MirrorView open = ref == null ? null : services.read(ref, m -> {
            MirrorStatus s = m.status();
            List<MirrorView.Leg> legs = s.legs().stream().map(Mirrors::leg).toList();
            return new MirrorView(name, PREFIX + name, log, m.regionLogId().toString(), "active", null, s.regions(),
                    s.regionsToResync(), s.regionsResynced(), s.resyncBytesPerSecond(), legs, regionSectors, cap);
        });
        if (open != null) {
            return open;
        }
        ComponentOutcomes.Outcome outcome = known != null ? known : configurations.outcome(c);
        Services.NotOpen status = outcome.state() == ComponentOutcomes.State.ACTIVE
                ? services.notOpen(Services.StatusKeys.MIRROR, name) : null;
        String reason = outcome.state() != ComponentOutcomes.State.ACTIVE ? Text.printable(outcome.reason())
                : status != null ? status.reason() : NOT_OPEN;
        boolean failed = outcome.state() == ComponentOutcomes.State.FAILED || status != null && status.refused();
        List<MirrorView.Leg> legs = new ArrayList<>();
        if (props.get(Mirror.CONFIG_LEGS) instanceof String[] configured) {
            for (int i = 0; i < configured.length; i++) {
                legs.add(new MirrorView.Leg(i, configured[i], "unknown", null));
            }
        }
        Object id = props.get(Mirror.CONFIG_REGION_LOG_ID);
        return new MirrorView(name, PREFIX + name, log, id == null || id.toString().isEmpty() ? null : id.toString(),
                failed ? Snapshots.FAILED : Snapshots.WAITING, reason, 0, 0, 0, 0, legs, regionSectors, cap);
    }

    private static MirrorView.Leg leg(LegStatus l) {
        return new MirrorView.Leg(l.index(), l.path(), l.state().name().toLowerCase(Locale.ROOT).replace('_', '-'),
                l.failure());
    }
}
