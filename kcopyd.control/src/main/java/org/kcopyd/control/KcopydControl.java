package org.kcopyd.control;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The daemon's control operations, one service for every caller (the HTTP control API, the command
 * line): the same checks and the same words whoever asks. Snapshots and exports are Config Admin
 * factory configurations ({@code org.kcopyd.snapshot}, {@code org.kcopyd.nbd.export}); what is
 * reported is read from them and from the services their components register, never kept here.
 * Jobs ({@link #startJob}, {@link #mergeSnapshot}) are the exception: this service runs them and
 * keeps them, the ended ones for {@link #JOBS_KEPT_MINUTES} minutes and at most {@link #JOBS_KEPT}.
 *
 * <p>Operations that change something return once the change has taken effect (the snapshot is
 * active, the export listens, the configuration is gone, the engine has applied its settings), or
 * throw after at most {@link #WAIT_SECONDS} s; a refused or failed creation leaves nothing behind.
 * Changes are made one at a time; reads run concurrently. Every method throws
 * {@link ControlException} with the kind and a message naming the value and the limit.
 */
@ProviderType
public interface KcopydControl {

    /** The longest an operation waits for its change to take effect, in seconds. */
    int WAIT_SECONDS = 30;

    /** @return the engine's configuration and what is configured */
    ControlStatus status();

    /** @return every configured snapshot, sorted by name */
    List<SnapshotView> snapshots();

    /**
     * @param name the snapshot's name
     * @return the snapshot
     * @throws ControlException {@code NOT_FOUND}, {@code BAD_REQUEST} for a name against the rule
     */
    SnapshotView snapshot(String name);

    /**
     * Takes a snapshot: checks the request as the command line does, writes its configuration and
     * waits until it is active.
     *
     * @param request what to make
     * @return the active snapshot
     * @throws ControlException {@code BAD_REQUEST} (a value against the rules, or refused by the snapshot
     *         component), {@code CONFLICT} (name taken, COW store in use), {@code UNAVAILABLE}, {@code FAILED}
     */
    SnapshotView createSnapshot(SnapshotRequest request);

    /**
     * Removes a snapshot's configuration (its COW store file stays) and waits until it is closed.
     *
     * @param name the snapshot's name
     * @throws ControlException {@code NOT_FOUND}, {@code CONFLICT} while an export serves it or its origin
     */
    void removeSnapshot(String name);

    /**
     * Starts rolling snapshot {@code name}'s origin back to it, as a {@code merge} job; when the
     * merge completes, the snapshot's configuration is removed (its COW store file stays, empty).
     * Refused while an export serves the snapshot or its origin (the snapshot could not be removed
     * at the end).
     *
     * @param name the snapshot's name
     * @return the merge job, running
     * @throws ControlException {@code NOT_FOUND}, {@code CONFLICT} (exported, not active, invalid, merging
     *         already, another snapshot of the origin merging), {@code UNAVAILABLE}
     */
    JobView mergeSnapshot(String name);

    /** @return every configured mirror, sorted by name */
    List<MirrorView> mirrors();

    /**
     * @param name the mirror's name
     * @return the mirror
     * @throws ControlException {@code NOT_FOUND}, {@code BAD_REQUEST} for a name against the rule
     */
    MirrorView mirror(String name);

    /**
     * Makes a mirror: checks the request as the command line does, writes its configuration and
     * waits until it is open (its resync then runs in the background).
     *
     * @param request what to make
     * @return the open mirror
     * @throws ControlException {@code BAD_REQUEST}, {@code CONFLICT} (name taken, a file in use),
     *         {@code UNAVAILABLE}, {@code FAILED}
     */
    MirrorView createMirror(MirrorRequest request);

    /**
     * Removes a mirror's configuration (legs and region log stay) and waits until it is closed.
     *
     * @param name the mirror's name
     * @throws ControlException {@code NOT_FOUND}, {@code CONFLICT} while an export serves it
     */
    void removeMirror(String name);

    /**
     * Puts another device in place of one leg, which is then resynchronised fully from a leg in
     * sync; waits until the mirror is open again with it. Leg 0 can be replaced only once it has
     * failed while another leg is in sync. Given the leg's own device, brings a failed leg back:
     * resynchronised fully (a failed leg stays failed while it is the device the log recorded).
     *
     * @param name   the mirror's name
     * @param leg    the leg's index, 0 to the number of legs - 1
     * @param device the new leg: an absolute path, a device URI or {@code service:NAME}
     * @return the mirror with the new leg
     * @throws ControlException {@code BAD_REQUEST}, {@code NOT_FOUND}, {@code CONFLICT}, {@code FAILED}
     *         (the previous legs are configured again)
     */
    MirrorView replaceLeg(String name, int leg, String device);

    /** @return every configured NBD export, sorted by name */
    List<ExportView> exports();

    /**
     * @param name the export's name
     * @return the export
     * @throws ControlException {@code NOT_FOUND}
     */
    ExportView export(String name);

    /**
     * Adds an NBD export and waits until it listens.
     *
     * @param request what to export where
     * @return the export
     * @throws ControlException {@code BAD_REQUEST}, {@code NOT_FOUND} (no such snapshot or mirror),
     *         {@code CONFLICT} (name taken, device in use or not active), {@code UNAVAILABLE}, {@code FAILED}
     */
    ExportView createExport(ExportRequest request);

    /**
     * Removes an export (its clients are disconnected) and waits until it is closed.
     *
     * @param name the export's name
     * @throws ControlException {@code NOT_FOUND}
     */
    void removeExport(String name);

    /**
     * @return the jobs: running copies, zeroes and merges and those that ended in the last
     *         {@link #JOBS_KEPT_MINUTES} minutes (at most {@link #JOBS_KEPT} of them), then running resyncs;
     *         in the order they started
     */
    List<JobView> jobs();

    /**
     * @param id the job's identity
     * @return the job
     * @throws ControlException {@code NOT_FOUND}, {@code BAD_REQUEST} for an identity against the rule
     */
    JobView job(String id);

    /**
     * Starts a copy or zero of whole devices, checked as the command line's copy and zero check
     * theirs (devices, the same device twice, sizes); the devices are opened (claimed) for the job
     * and closed when it ends, whatever the outcome.
     *
     * @param request what to copy or zero
     * @return the job, running
     * @throws ControlException {@code BAD_REQUEST}, {@code NOT_FOUND} (no such snapshot or mirror),
     *         {@code CONFLICT} (a device in use, too many jobs), {@code UNAVAILABLE}, {@code FAILED}
     */
    JobView startJob(JobRequest request);

    /**
     * Asks a copy or zero job to stop; returns at once (the job ends soon after, its result saying
     * which destinations are incomplete).
     *
     * @param id the job's identity
     * @return the job now: {@code cancelling}, or ended
     * @throws ControlException {@code NOT_FOUND}, {@code CONFLICT} for a merge or resync (saying what to do)
     */
    JobView cancelJob(String id);

    /** How long an ended job stays listed, in minutes. */
    int JOBS_KEPT_MINUTES = 10;
    /** The most ended jobs listed; the oldest are forgotten first. */
    int JOBS_KEPT = 100;

    /**
     * @return the engine's effective configuration and the latest refusal
     * @throws ControlException {@code UNAVAILABLE} when no engine runs
     */
    EngineConfiguration engineConfiguration();

    /**
     * Changes some of the engine's settings (the others keep their stored values) and waits until
     * the engine has applied them.
     *
     * @param changes setting names and values (numbers, booleans for {@code directIo})
     * @return the configuration now in effect
     * @throws ControlException {@code BAD_REQUEST} naming the refused value and its limit (nothing is
     *         stored then), {@code UNAVAILABLE}, {@code FAILED}
     */
    EngineConfiguration updateEngineConfiguration(Map<String, Object> changes);

    /**
     * Waits until Declarative Services has activated the component that a configuration, written by
     * anyone (a file that FileInstall read, another bundle), configures, or until it has failed, or
     * {@code wait} is over; changes nothing. A component that rewrites its configuration while it
     * activates (a mirror recording its new region log's identity) counts as active only once it
     * runs with the rewritten values. Whether any component takes the configuration is decided at
     * once, without waiting. The command line's {@code --config-dir} check asks this of every
     * configuration its directory gave except the engine's (which publishes its own outcome).
     *
     * @param pid  the configuration's PID (for a factory configuration its own PID, not the factory PID)
     * @param wait how long to wait, from zero (look once) to {@link #WAIT_SECONDS} s
     * @return the outcome: {@code ACTIVE} or {@code FAILED} as soon as it is so; {@code PENDING} when
     *         {@code wait} is over first (or the calling thread is interrupted); {@code UNUSED} at once
     *         when no component takes configurations of its PID or factory PID
     * @throws ControlException {@code BAD_REQUEST} for an empty PID or a wait outside 0 to
     *         {@link #WAIT_SECONDS} s, {@code NOT_FOUND} when Config Admin has no configuration of that
     *         PID, {@code FAILED} when the configurations cannot be listed
     * @since 1.1.0
     */
    ConfigurationOutcome awaitConfiguration(String pid, Duration wait);
}
