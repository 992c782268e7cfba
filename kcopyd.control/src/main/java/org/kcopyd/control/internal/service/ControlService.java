package org.kcopyd.control.internal.service;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

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
import org.kcopyd.mirror.Mirror;
import org.kcopyd.nbd.NbdConfig;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.runtime.ServiceComponentRuntime;

/**
 * The {@link KcopydControl} service: snapshots, mirrors, exports and the engine's configuration through
 * Config Admin and the kcopyd services. Changes are made one at a time (a lock, so that "the name
 * is free" still holds when the configuration is written); reads run concurrently.
 */
@Component(service = KcopydControl.class)
public final class ControlService implements KcopydControl {

    private final Snapshots snapshots;
    private final Exports exports;
    private final Mirrors mirrors;
    private final Engine engine;
    private final Configurations configurations;
    private final Services services;
    private final Jobs jobs;
    private final Duration wait;
    private final ReentrantLock changes = new ReentrantLock();

    @Activate
    public ControlService(BundleContext context, @Reference ConfigurationAdmin admin,
            @Reference ServiceComponentRuntime scr) {
        this(context, admin, scr, Duration.ofSeconds(WAIT_SECONDS));
    }

    ControlService(BundleContext context, ConfigurationAdmin admin, ServiceComponentRuntime scr, Duration wait) {
        services = new Services(context);
        this.wait = wait;
        configurations = new Configurations(admin, scr, services, wait);
        // The creation mark of the snapshots and mirrors created here: this run of the framework.
        String framework = context.getProperty(org.osgi.framework.Constants.FRAMEWORK_UUID);
        snapshots = new Snapshots(configurations, services, wait, framework);
        mirrors = new Mirrors(configurations, services, wait, framework);
        exports = new Exports(configurations, services, snapshots, mirrors, wait);
        engine = new Engine(services, admin, wait);
        jobs = new Jobs(services, exports, mirrors, this::removeMerged);
    }

    /** Cancels the running copies and zeroes and waits for them to end (their devices closed). */
    @Deactivate
    void deactivate() {
        jobs.close(wait);
    }

    @Override
    public ControlStatus status() {
        EngineConfiguration e;
        try {
            e = engine.get();
        } catch (ControlException unavailable) {
            e = null;
        }
        return new ControlStatus(e, e == null ? null : engine.clients(), configurations.all(Snapshot.FACTORY_PID).size(),
                configurations.all(Mirror.FACTORY_PID).size(), configurations.all(NbdConfig.EXPORT_FACTORY_PID).size(),
                exports.connections(), jobs.running());
    }

    @Override
    public List<SnapshotView> snapshots() {
        return snapshots.list();
    }

    @Override
    public SnapshotView snapshot(String name) {
        return snapshots.get(name);
    }

    @Override
    public SnapshotView createSnapshot(SnapshotRequest request) {
        // Made under the change lock; its opening (an NBD origin's connection, up to the opener's timeout) is awaited
        // without it: a silent server held every other change for 30 s (H41 C1).
        return snapshots.finish(changing(() -> snapshots.start(request)));
    }

    @Override
    public void removeSnapshot(String name) {
        changing(() -> {
            SnapshotRules.requireName("snapshot", name);
            MergeRun merge = jobs.merging(name);
            if (merge != null) {
                throw ControlException.conflict("snapshot " + name + " is merging (job " + merge.id() + "): it is "
                        + "removed when the merge completes");
            }
            snapshots.remove(name, exports);
            return null;
        });
    }

    /**
     * The end of a merge: the snapshot's configuration removed, serialized with the other changes,
     * unless the snapshot removed it already ({@link Snapshot#CONFIG_REMOVE_WHEN_MERGED}).
     */
    private void removeMerged(String name) {
        changing(() -> {
            try {
                snapshots.remove(name, exports);
            } catch (ControlException e) {
                if (e.code() != ControlException.Code.NOT_FOUND) {
                    throw e;
                }
            }
            return null;
        });
    }

    @Override
    public JobView mergeSnapshot(String name) {
        return changing(() -> {
            snapshots.requireBundle();
            SnapshotRules.requireName("snapshot", name);
            snapshots.configuration(name);
            List<String> users = exports.usersOfSnapshot(name);
            if (!users.isEmpty()) {
                throw ControlException.conflict("snapshot " + name + " is exported by " + String.join(", ", users)
                        + ": it is removed when its merge completes, so remove " + (users.size() == 1 ? "that export"
                        : "those exports") + " first");
            }
            MergeRun running = jobs.merging(name);
            if (running != null) {
                throw ControlException.conflict("snapshot " + name + " is merging already (job " + running.id() + ")");
            }
            ServiceReference<Snapshot> ref = snapshots.service(name);
            Services.Held<Snapshot> held = ref == null ? null : services.hold(ref);
            if (held == null) {
                throw ControlException.conflict("snapshot " + name + " is not active ("
                        + snapshots.get(name).invalidReason() + "): only an active snapshot is merged");
            }
            try {
                snapshots.removeWhenMerged(name, true);
            } catch (ControlException e) {
                held.close();
                throw e;
            }
            try {
                return jobs.merge(name, held);
            } catch (RuntimeException e) {
                // Not started: the snapshot stays as it is, and must not remove itself later.
                try {
                    snapshots.removeWhenMerged(name, false);
                } catch (ControlException clearing) {
                    e.addSuppressed(clearing);
                }
                throw e;
            }
        });
    }

    @Override
    public List<JobView> jobs() {
        return jobs.list();
    }

    @Override
    public JobView job(String id) {
        return jobs.get(id);
    }

    @Override
    public JobView startJob(JobRequest request) {
        return jobs.start(request);
    }

    @Override
    public JobView cancelJob(String id) {
        return jobs.cancel(id);
    }

    @Override
    public List<MirrorView> mirrors() {
        return mirrors.list();
    }

    @Override
    public MirrorView mirror(String name) {
        return mirrors.get(name);
    }

    @Override
    public MirrorView createMirror(MirrorRequest request) {
        // As a snapshot: made under the change lock, its opening awaited without it.
        return mirrors.finish(changing(() -> mirrors.start(request)));
    }

    @Override
    public void removeMirror(String name) {
        changing(() -> {
            mirrors.remove(name, exports);
            return null;
        });
    }

    @Override
    public MirrorView replaceLeg(String name, int leg, String device) {
        return changing(() -> mirrors.replaceLeg(name, leg, device));
    }

    @Override
    public List<ExportView> exports() {
        return exports.list();
    }

    @Override
    public ExportView export(String name) {
        return exports.get(name);
    }

    @Override
    public ExportView createExport(ExportRequest request) {
        return changing(() -> exports.create(request));
    }

    @Override
    public void removeExport(String name) {
        changing(() -> {
            exports.remove(name);
            return null;
        });
    }

    @Override
    public EngineConfiguration engineConfiguration() {
        return engine.get();
    }

    @Override
    public EngineConfiguration updateEngineConfiguration(Map<String, Object> changes) {
        return changing(() -> engine.update(Map.copyOf(changes)));
    }

    @Override
    public ConfigurationOutcome awaitConfiguration(String pid, Duration wait) {
        return configurations.awaitOutcome(pid, wait);
    }

    private <T> T changing(Supplier<T> change) {
        try {
            changes.lockInterruptibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ControlException.failed("interrupted while waiting for another change to end");
        }
        try {
            return change.get();
        } finally {
            changes.unlock();
        }
    }
}
