package org.kcopyd.control.internal.http;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.kcopyd.api.ClientStatistics;
import org.kcopyd.api.ClientSummary;
import org.kcopyd.control.ConfigurationOutcome;
import org.kcopyd.control.ControlException;
import org.kcopyd.control.ControlStatus;
import org.kcopyd.control.EngineConfiguration;
import org.kcopyd.control.ExportRequest;
import org.kcopyd.control.ExportView;
import org.kcopyd.control.JobRequest;
import org.kcopyd.control.JobView;
import org.kcopyd.control.KcopydControl;
import org.kcopyd.control.MirrorRequest;
import org.kcopyd.control.MirrorView;
import org.kcopyd.control.SnapshotRequest;
import org.kcopyd.control.SnapshotView;

/** A KcopydControl in memory that records the requests it was given: for the HTTP layer's tests. */
final class FakeControl implements KcopydControl {

    final List<Object> requests = new ArrayList<>();
    final Map<String, SnapshotView> snapshots = new LinkedHashMap<>();
    final Map<String, ExportView> exports = new LinkedHashMap<>();
    final Map<String, MirrorView> mirrors = new LinkedHashMap<>();
    final Map<String, JobView> jobs = new LinkedHashMap<>();
    final Map<String, Object> engine = new LinkedHashMap<>(Map.of("defaultPages", 2048));

    @Override
    public ControlStatus status() {
        return new ControlStatus(engineConfiguration(), List.of(new ClientSummary("snapshot s1",
                new ClientStatistics(10, 0, 0, 10, 0, 4096, 4096, 0, 256))), snapshots.size(), 0, exports.size(), 1,
                (int) jobs.values().stream().filter(j -> !j.ended()).count());
    }

    @Override
    public List<SnapshotView> snapshots() {
        return List.copyOf(snapshots.values());
    }

    @Override
    public SnapshotView snapshot(String name) {
        SnapshotView v = snapshots.get(name);
        if (v == null) {
            throw ControlException.notFound("no snapshot named " + name);
        }
        return v;
    }

    @Override
    public SnapshotView createSnapshot(SnapshotRequest request) {
        requests.add(request);
        SnapshotView v = new SnapshotView(request.name(), request.origin(), request.cowStore(),
                request.chunkSectors() == null ? 16 : request.chunkSectors(), "active", null, 0, 100, "id",
                "snapshot:" + request.name(), "origin:" + request.name());
        snapshots.put(request.name(), v);
        return v;
    }

    @Override
    public void removeSnapshot(String name) {
        snapshot(name);
        snapshots.remove(name);
    }

    @Override
    public JobView mergeSnapshot(String name) {
        snapshot(name);
        return add("merge", "snapshot:" + name + " -> origin:" + name);
    }

    @Override
    public List<JobView> jobs() {
        return List.copyOf(jobs.values());
    }

    @Override
    public JobView job(String id) {
        JobView v = jobs.get(id);
        if (v == null) {
            throw ControlException.notFound("no job " + id);
        }
        return v;
    }

    @Override
    public JobView startJob(JobRequest request) {
        requests.add(request);
        return add(request.kind(), request.source() + " -> " + String.join(", ", request.destinations()));
    }

    private JobView add(String kind, String description) {
        String id = Integer.toString(jobs.size() + 1);
        JobView v = new JobView(id, kind, description, "running", 4096, 0, null, null, Instant.EPOCH, null, null,
                null);
        jobs.put(id, v);
        return v;
    }

    @Override
    public JobView cancelJob(String id) {
        JobView v = job(id);
        if (v.kind().equals("merge")) {
            throw ControlException.conflict("job " + id + " is a merge, which cannot be cancelled");
        }
        JobView cancelled = new JobView(id, v.kind(), v.description(), "cancelled", v.bytesTotal(), 512, null, null,
                v.startedAt(), Instant.EPOCH.plusSeconds(1), null, new JobView.Result(null,
                        List.of(new JobView.Destination("/b", false, null))));
        jobs.put(id, cancelled);
        return cancelled;
    }

    @Override
    public List<MirrorView> mirrors() {
        return List.copyOf(mirrors.values());
    }

    @Override
    public MirrorView mirror(String name) {
        MirrorView v = mirrors.get(name);
        if (v == null) {
            throw ControlException.notFound("no mirror named " + name);
        }
        return v;
    }

    @Override
    public MirrorView createMirror(MirrorRequest request) {
        requests.add(request);
        List<MirrorView.Leg> legs = new ArrayList<>();
        for (int i = 0; i < request.legs().size(); i++) {
            legs.add(new MirrorView.Leg(i, request.legs().get(i), i == 0 ? "in-sync" : "resyncing", null));
        }
        MirrorView v = new MirrorView(request.name(), "mirror:" + request.name(), request.regionLog(), "id", "active",
                null, 10, 10, 0, 0, legs);
        mirrors.put(request.name(), v);
        return v;
    }

    @Override
    public void removeMirror(String name) {
        mirror(name);
        mirrors.remove(name);
    }

    @Override
    public MirrorView replaceLeg(String name, int leg, String device) {
        requests.add(List.of(name, leg, device));
        return mirror(name);
    }

    @Override
    public List<ExportView> exports() {
        return List.copyOf(exports.values());
    }

    @Override
    public ExportView export(String name) {
        ExportView v = exports.get(name);
        if (v == null) {
            throw ControlException.notFound("no export named " + name);
        }
        return v;
    }

    @Override
    public ExportView createExport(ExportRequest request) {
        requests.add(request);
        ExportView v = new ExportView(request.name(), request.device(), request.socket(), request.listen(),
                request.readOnly(), false, null, "serving", null, "nbd+unix:///" + request.name());
        exports.put(request.name(), v);
        return v;
    }

    @Override
    public void removeExport(String name) {
        export(name);
        exports.remove(name);
    }

    @Override
    public EngineConfiguration engineConfiguration() {
        return new EngineConfiguration("org.kcopyd.engine", Map.copyOf(engine), null);
    }

    @Override
    public EngineConfiguration updateEngineConfiguration(Map<String, Object> changes) {
        requests.add(changes);
        Object pages = changes.get("defaultPages");
        if (pages instanceof Long l && l > 65536) {
            throw ControlException.badRequest("defaultPages " + l + " is outside the allowed range 1..65536");
        }
        engine.putAll(changes);
        return engineConfiguration();
    }

    /** The HTTP API does not ask this; the fake holds no Config Admin configurations, so none is found. */
    @Override
    public ConfigurationOutcome awaitConfiguration(String pid, Duration wait) {
        requests.add(pid);
        throw ControlException.notFound("no configuration has PID " + pid);
    }
}
