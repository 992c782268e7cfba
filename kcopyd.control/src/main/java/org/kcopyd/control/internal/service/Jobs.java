package org.kcopyd.control.internal.service;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.ClientOptions;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyJob;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.control.ControlException;
import org.kcopyd.control.JobRequest;
import org.kcopyd.control.JobView;
import org.kcopyd.control.KcopydControl;
import org.kcopyd.control.MirrorView;
import org.kcopyd.snapshot.Snapshot;
import org.kcopyd.snapshot.SnapshotState;
import org.osgi.framework.ServiceReference;

/**
 * The control API's jobs: copies and zeroes of whole devices (checked as the command line's copy
 * and zero check theirs, run by a client of the engine with its default pages), snapshot merges,
 * and, listed with them, the mirrors' resyncs ({@code resync-NAME}, from each mirror's status,
 * while it has regions to resync). Ends are handled on one thread of this bundle's, never on the
 * engine's completion threads. Thread-safe.
 */
final class Jobs {

    /** The most copy, zero and merge jobs running at once. */
    static final int MAX_RUNNING = 256;
    /** The most destinations of one job (the engine's write error bits). */
    static final int MAX_DESTINATIONS = 64;
    /** The prefix of a resync's identity. */
    static final String RESYNC = "resync-";
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,80}");

    private final Services services;
    private final Exports exports;
    private final Mirrors mirrors;
    private final Consumer<String> removeSnapshot;
    private final JobRegistry registry;
    /** Held while a copy or zero job is checked and started. */
    private final Object starting = new Object();
    private final Supplier<Instant> clock = Instant::now;
    private final LongSupplier nanoTime = System::nanoTime;
    /**
     * Where ends are handled: one thread, made when needed and gone after 5 s idle, so that nothing
     * needs shutting down (a merge of a snapshot may end after this bundle stopped).
     */
    private final ExecutorService ends = new ThreadPoolExecutor(0, 1, 5, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
            r -> {
                Thread t = new Thread(r, "kcopyd-control-jobs");
                t.setDaemon(true);
                return t;
            });

    /**
     * @param removeSnapshot removes a snapshot's configuration, serialized with the other changes (the
     *                       end of a merge)
     */
    Jobs(Services services, Exports exports, Mirrors mirrors, Consumer<String> removeSnapshot) {
        this.services = services;
        this.exports = exports;
        this.mirrors = mirrors;
        this.removeSnapshot = removeSnapshot;
        this.registry = new JobRegistry(Duration.ofMinutes(KcopydControl.JOBS_KEPT_MINUTES), KcopydControl.JOBS_KEPT,
                MAX_RUNNING, clock);
    }

    List<JobView> list() {
        List<JobView> all = new ArrayList<>();
        registry.all().forEach(j -> all.add(j.view()));
        all.addAll(resyncs());
        return all;
    }

    /** @return the jobs running now, resyncs included */
    int running() {
        return registry.running().size() + resyncs().size();
    }

    JobView get(String id) {
        requireId(id);
        if (id.startsWith(RESYNC)) {
            for (JobView v : resyncs()) {
                if (v.id().equals(id)) {
                    return v;
                }
            }
            throw ControlException.notFound("no job " + id + " (a resync is listed while its mirror has regions to "
                    + "resync)");
        }
        ControlJob j = registry.get(id);
        if (j == null) {
            throw ControlException.notFound("no job " + id + " (ended jobs are kept " + KcopydControl.JOBS_KEPT_MINUTES
                    + " minutes)");
        }
        return j.view();
    }

    JobView cancel(String id) {
        requireId(id);
        if (id.startsWith(RESYNC)) {
            String mirror = id.substring(RESYNC.length());
            get(id);
            throw ControlException.conflict("job " + id + " is mirror " + mirror + "'s resync, which cannot be "
                    + "cancelled: it makes the legs equal again; to stop it, remove the mirror (DELETE /api/v1/mirrors/"
                    + mirror + ")");
        }
        ControlJob j = registry.get(id);
        if (j == null) {
            throw ControlException.notFound("no job " + id);
        }
        j.cancel();
        return j.view();
    }

    private static void requireId(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            throw ControlException.badRequest("job id '" + Text.printable(id) + "' is not a job's identity (1 to 80 "
                    + "characters of A-Z a-z 0-9 . _ -)");
        }
    }

    /** @return the running merge of snapshot {@code name}, or null */
    MergeRun merging(String name) {
        for (ControlJob j : registry.running()) {
            if (j instanceof MergeRun m && m.snapshot().equals(name)) {
                return m;
            }
        }
        return null;
    }

    /** Starts merging snapshot {@code name} (its checks made by the caller, under the change lock). */
    JobView merge(String name, Services.Held<Snapshot> held) {
        Snapshot s = held.service();
        if (s.state() != SnapshotState.ACTIVE) {
            held.close();
            throw ControlException.conflict("snapshot " + name + " is " + s.state().name().toLowerCase(Locale.ROOT)
                    + s.invalidReason().map(r -> " (" + r + ")").orElse("") + ": only an active snapshot is merged");
        }
        String id;
        try {
            id = registry.reserve();
        } catch (ControlException e) {
            held.close();
            throw e;
        }
        MergeRun run = new MergeRun(id, name, clock.get(), nanoTime, held);
        run.start(() -> removeSnapshot.accept(name), clock, ends);
        registry.put(run);
        return run.view();
    }

    /** Starts a copy or zero job. */
    JobView start(JobRequest r) {
        // One start at a time: a job's devices are checked against the running jobs' until it runs too.
        synchronized (starting) {
            return startChecked(r);
        }
    }

    /**
     * @throws ControlException CONFLICT if a running copy or zero job writes one of {@code dests} or
     *         {@code source}, or reads one of {@code dests} (a snapshot, origin or mirror device
     *         service, which no file claim guards, or a file: a claim guards writers only): two jobs
     *         writing one device at once would leave it holding a mix of both, and a job reading a
     *         device another writes would copy a mix of old and new data and call it complete
     */
    private void refuseBusy(JobDevices.Named source, List<JobDevices.Named> dests) {
        for (ControlJob j : registry.running()) {
            if (j instanceof CopyRun run) {
                if (source != null && run.writes(source)) {
                    throw ControlException.conflict("source '" + Text.printable(source.text()) + "' is written by job "
                            + run.id() + " (running): a job reading it now would copy a mix of old and new data; wait "
                            + "for it, or cancel it");
                }
                for (JobDevices.Named n : dests) {
                    if (run.writes(n)) {
                        throw ControlException.conflict("destination '" + Text.printable(n.text()) + "' is written by "
                                + "job " + run.id() + " (running): one job writes a device at a time; wait for it, or "
                                + "cancel it");
                    }
                    if (run.reads(n)) {
                        throw ControlException.conflict("destination '" + Text.printable(n.text()) + "' is read by job "
                                + run.id() + " (running): writing it now would make that job copy a mix of old and new "
                                + "data; wait for it, or cancel it");
                    }
                }
            }
        }
    }

    private JobView startChecked(JobRequest r) {
        if (r.kind() == null) {
            throw ControlException.badRequest("kind is missing: copy or zero");
        }
        String kind = r.kind().toLowerCase(Locale.ROOT);
        if (!"copy".equals(kind) && !"zero".equals(kind)) {
            throw ControlException.badRequest("kind '" + Text.printable(r.kind()) + "' is not copy or zero (merges are "
                    + "started by POST /api/v1/snapshots/{name}/merge)");
        }
        boolean copy = kind.equals("copy");
        List<String> names = r.destinations() == null ? List.of() : r.destinations();
        if (names.isEmpty() || names.size() > MAX_DESTINATIONS) {
            throw ControlException.badRequest(names.size() + " destinations given; a " + kind + " job writes 1 to "
                    + MAX_DESTINATIONS);
        }
        Set<CopyFlag> flags;
        if (copy) {
            flags = sparse(r.sparse());
        } else {
            if (r.source() != null) {
                throw ControlException.badRequest("a zero job has no source (got '" + Text.printable(r.source()) + "')");
            }
            if (r.sparse() != null) {
                throw ControlException.badRequest("a zero job has no sparse setting (got '" + Text.printable(r.sparse())
                        + "')");
            }
            flags = EnumSet.noneOf(CopyFlag.class);
        }
        List<ServiceReference<KcopydClientFactory>> factories = services.references(KcopydClientFactory.class, null);
        if (factories.isEmpty()) {
            throw ControlException.unavailable("the kcopyd engine is not running (no KcopydClientFactory service; is the "
                    + "bundle kcopyd.impl started?)");
        }
        JobDevices devices = new JobDevices(services, exports);
        Services.Held<KcopydClientFactory> factory = null;
        KcopydClient client = null;
        boolean started = false;
        try {
            JobDevices.Named source = copy ? devices.name("source", r.source(), false) : null;
            List<JobDevices.Named> dests = new ArrayList<>();
            for (String d : names) {
                JobDevices.Named n = devices.name("destination", d, copy);
                if (source != null && n.same(source)) {
                    throw ControlException.badRequest("destination '" + Text.printable(d) + "' and the source '"
                            + Text.printable(r.source()) + "' are the same device: a job cannot copy a device onto itself");
                }
                String shared = source == null ? null : n.sharedBytes(source);
                if (shared != null) {
                    throw ControlException.badRequest("destination '" + Text.printable(d) + "' and the source '"
                            + Text.printable(r.source()) + "' overlap: " + Text.printable(shared));
                }
                for (JobDevices.Named other : dests) {
                    if (n.same(other)) {
                        throw ControlException.badRequest("destinations '" + Text.printable(other.text()) + "' and '"
                                + Text.printable(d) + "' are the same device: name each device once");
                    }
                    shared = n.sharedBytes(other);
                    if (shared != null) {
                        throw ControlException.badRequest("destinations '" + Text.printable(other.text()) + "' and '"
                                + Text.printable(d) + "' overlap: " + Text.printable(shared));
                    }
                }
                dests.add(n);
            }
            refuseBusy(source, dests);
            factory = services.hold(factories.get(0));
            if (factory == null) {
                throw ControlException.unavailable("the kcopyd engine went away meanwhile");
            }
            int maxDestinations = factory.service().settings().maxDestinations();
            if (names.size() > maxDestinations) {
                throw ControlException.badRequest(names.size() + " destinations given; the engine's maxDestinations is "
                        + maxDestinations);
            }
            JobDevices.Opened from = source == null ? null : devices.open(source, false);
            if (from != null) {
                if (from.bytes() % BlockDevice.SECTOR_SIZE != 0) {
                    throw ControlException.badRequest("source " + Text.printable(from.name()) + " has " + from.bytes()
                            + " bytes, not whole sectors of " + BlockDevice.SECTOR_SIZE + ": a daemon job copies whole "
                            + "sectors; copy it with the one-shot copy (without --daemon), which copies the tail too");
                }
                if (from.bytes() == 0) {
                    throw ControlException.badRequest("source " + Text.printable(from.name()) + " has 0 bytes: "
                            + "nothing to copy");
                }
            }
            List<JobDevices.Opened> to = new ArrayList<>();
            for (JobDevices.Named n : dests) {
                if (n.missing()) {
                    to.add(null);
                    continue;
                }
                JobDevices.Opened d = devices.open(n, true);
                if (from != null && d.bytes() < from.bytes()) {
                    throw ControlException.badRequest("destination " + Text.printable(d.name()) + " has " + d.bytes()
                            + " bytes, fewer than the source " + Text.printable(from.name()) + "'s " + from.bytes()
                            + ": an existing destination is written in place, never extended");
                }
                if (from == null && d.bytes() < BlockDevice.SECTOR_SIZE) {
                    throw ControlException.badRequest("destination " + Text.printable(d.name()) + " has " + d.bytes()
                            + " bytes, less than one sector of " + BlockDevice.SECTOR_SIZE + ": nothing to zero");
                }
                if (from == null && d.bytes() % BlockDevice.SECTOR_SIZE != 0) {
                    // The job would zero the whole sectors, leave the last bytes and report the device zeroed.
                    throw ControlException.badRequest("destination " + Text.printable(d.name()) + " has " + d.bytes()
                            + " bytes, not whole sectors of " + BlockDevice.SECTOR_SIZE + ": a daemon job zeroes whole "
                            + "sectors; zero it with the one-shot zero (without --daemon), which zeroes its last "
                            + (d.bytes() % BlockDevice.SECTOR_SIZE) + " bytes too");
                }
                to.add(d);
            }
            String id = registry.reserve();
            try {
                client = factory.service().createClient(ClientOptions.builder().name("kcopyd.control job " + id)
                        .build());
            } catch (IllegalStateException | IllegalArgumentException e) {
                throw ControlException.conflict("the engine cannot make a client for the job: " + e.getMessage());
            }
            for (int i = 0; i < dests.size(); i++) {
                if (to.get(i) == null) {
                    to.set(i, devices.create(dests.get(i), from.bytes()));
                }
            }
            List<CopyRun.Part> parts = copy ? List.of(copyPart(client, from, to, flags)) : zeroParts(client, to);
            String description = copy ? from.name() + " -> " + String.join(", ", names)
                    : "zero " + String.join(", ", names);
            List<JobDevices.Named> written = new ArrayList<>();
            for (int i = 0; i < dests.size(); i++) {
                // A destination created for the job had no identity when named: the file made has one.
                written.add(dests.get(i).created(to.get(i)));
            }
            CopyRun run = new CopyRun(id, kind, description, clock.get(), nanoTime, parts, names,
                    i -> to.get(i).whyNotNamed(), source == null ? List.of() : List.of(source), written);
            started = true;
            KcopydClient c = client;
            Services.Held<KcopydClientFactory> f = factory;
            run.whenDone(clock, () -> {
                CopyRun.closeQuietly(c);
                devices.close();
                f.close();
            }, ends);
            registry.put(run);
            return run.view();
        } finally {
            if (!started) {
                if (client != null) {
                    CopyRun.closeQuietly(client);
                }
                devices.removeCreated();
                if (factory != null) {
                    factory.close();
                }
            }
        }
    }

    private static CopyRun.Part copyPart(KcopydClient client, JobDevices.Opened from, List<JobDevices.Opened> to,
            Set<CopyFlag> flags) {
        long sectors = from.bytes() / BlockDevice.SECTOR_SIZE;
        List<IoRegion> regions = new ArrayList<>();
        int[] order = new int[to.size()];
        for (int i = 0; i < to.size(); i++) {
            regions.add(region(to.get(i).device(), sectors));
            order[i] = i;
        }
        IoRegion source = region(from.device(), sectors);
        CopyJob job = submit(() -> client.copyJob(source, regions, flags, null, null));
        return new CopyRun.Part(job, order);
    }

    /** One engine job per destination size (the engine zeroes regions of one length per job). */
    private static List<CopyRun.Part> zeroParts(KcopydClient client, List<JobDevices.Opened> to) {
        Map<Long, List<Integer>> bySize = new LinkedHashMap<>();
        for (int i = 0; i < to.size(); i++) {
            bySize.computeIfAbsent(to.get(i).bytes() / BlockDevice.SECTOR_SIZE, k -> new ArrayList<>()).add(i);
        }
        // Every region is checked before any job starts: a refused one leaves nothing zeroed.
        List<List<IoRegion>> jobs = new ArrayList<>();
        for (Map.Entry<Long, List<Integer>> e : bySize.entrySet()) {
            List<IoRegion> regions = new ArrayList<>();
            for (int i : e.getValue()) {
                regions.add(region(to.get(i).device(), e.getKey()));
            }
            jobs.add(regions);
        }
        List<CopyRun.Part> parts = new ArrayList<>();
        int k = 0;
        for (Map.Entry<Long, List<Integer>> e : bySize.entrySet()) {
            List<IoRegion> regions = jobs.get(k++);
            CopyJob job = submit(() -> client.zeroJob(regions, EnumSet.noneOf(CopyFlag.class), null, null));
            parts.add(new CopyRun.Part(job, e.getValue().stream().mapToInt(Integer::intValue).toArray()));
        }
        return parts;
    }

    /**
     * @return the whole-device region of {@code sectors} sectors
     * @throws ControlException BAD_REQUEST naming why the device refuses it (its minimum block, say)
     */
    private static IoRegion region(BlockDevice device, long sectors) {
        try {
            return IoRegion.of(device, 0, sectors);
        } catch (IllegalArgumentException e) {
            throw ControlException.badRequest(e.getMessage());
        }
    }

    private static CopyJob submit(Supplier<CopyJob> submission) {
        try {
            return submission.get();
        } catch (IllegalArgumentException e) {
            throw ControlException.badRequest("the engine refused the job: " + e.getMessage());
        } catch (IllegalStateException e) {
            throw ControlException.unavailable("the engine refused the job: " + e.getMessage());
        }
    }

    /** @return the job options of {@code sparse} (null: auto), as the command line's --sparse */
    static Set<CopyFlag> sparse(String sparse) {
        switch (sparse == null ? "auto" : sparse.toLowerCase(Locale.ROOT)) {
            case "auto":
                return EnumSet.of(CopyFlag.SPARSE);
            case "always":
                return EnumSet.of(CopyFlag.SPARSE_ALWAYS);
            case "never":
                return EnumSet.noneOf(CopyFlag.class);
            default:
                throw ControlException.badRequest("sparse '" + Text.printable(sparse) + "' is not one of auto, always, "
                        + "never");
        }
    }

    /** @return the mirrors' resyncs running now, as jobs */
    private List<JobView> resyncs() {
        List<JobView> list = new ArrayList<>();
        for (MirrorView m : mirrors.list()) {
            if (!"active".equals(m.state()) || m.regionsToResync() <= 0) {
                continue;
            }
            long region = mirrors.regionBytes(m.name());
            long total = (m.regionsToResync() + m.regionsResynced()) * region;
            long done = m.regionsResynced() * region;
            double rate = m.resyncBytesPerSecond();
            List<String> targets = m.legs().stream().filter(l -> "resyncing".equals(l.state()))
                    .map(MirrorView.Leg::device).toList();
            String from = m.legs().isEmpty() ? "leg 0" : m.legs().get(0).device();
            list.add(new JobView(RESYNC + m.name(), "resync", "mirror:" + m.name() + " resync " + from + " -> "
                    + (targets.isEmpty() ? "its other legs" : String.join(", ", targets)), "running", total, done,
                    rate, rate > 0 && total > done ? (total - done) / rate : null, null, null, null, null));
        }
        return list;
    }

    /**
     * Cancels the running copies and zeroes and waits up to {@code wait} for them to end (their
     * devices then closed); merges go on in their snapshot (the configuration is then not removed
     * by this bundle).
     */
    void close(Duration wait) {
        for (ControlJob j : registry.running()) {
            if (j instanceof CopyRun) {
                j.cancel();
            }
        }
        long deadline = System.nanoTime() + wait.toNanos();
        while (registry.running().stream().anyMatch(j -> j instanceof CopyRun) && System.nanoTime() - deadline < 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }
}
