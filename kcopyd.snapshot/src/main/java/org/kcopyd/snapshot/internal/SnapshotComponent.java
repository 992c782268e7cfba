package org.kcopyd.snapshot.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.device.ConfigurationValues;
import org.kcopyd.device.DeviceIdentity;
import org.kcopyd.device.FileClaims;
import org.kcopyd.snapshot.Snapshot;
import org.kcopyd.support.component.Delays;
import org.kcopyd.support.component.NotOpenStatus;
import org.kcopyd.support.component.Refusals;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One snapshot per factory configuration: opens, creates or formats its COW store as the
 * configuration allows ({@link CowStoreOpener}), attaches it to the origin, and registers the
 * {@link Snapshot} and snapshot {@link BlockDevice} services. When it makes a new store, it writes
 * the store's identity back into its configuration ({@value Snapshot#CONFIG_COW_STORE_ID}, and
 * clears {@value Snapshot#CONFIG_FORMAT}), so that the next activation adopts that store and only
 * that one. Deleting the configuration detaches the snapshot; its COW store file stays, and a
 * configuration naming its identity reopens the snapshot as it was.
 *
 * <p>An origin named by URI ({@code nbd+unix:///disk?socket=/run/a.sock}) is opened through the
 * {@link BlockDeviceOpener} service, which this component binds dynamically (optional, greedy)
 * and uses for such an origin only: a snapshot of a file never notices the opener come or go, so
 * restarting or updating kcopyd.impl (which registers it) leaves its services registered. A
 * snapshot of a URI configured while no opener is bound waits, logged with the reason, and opens
 * when one binds; when the opener its origin came from goes away, the snapshot is closed first
 * (as a deactivation closes it: writes drained, the COW store and the origin's fingerprint
 * recorded, its services unregistered), since kcopyd.impl then closes the devices the opener
 * opened, and reopens with the next opener. A refusal when it opens after a bind (an unreachable
 * server, a store that is not its origin's) is logged; the next bind tries again.
 *
 * <p>A snapshot of an origin named by URI, new or existing, is opened on a daemon thread of its own,
 * never in the thread that activates, modifies or binds the component: a server that accepts the
 * connection and never answers would hold that thread for the opener's whole timeout (60 s), and
 * with it the daemon's start, its stop and every configuration change (Declarative Services
 * activates on Config Admin's one event thread: every other snapshot, mirror and export created
 * meanwhile waited too). While a new one is connected to, its not-open status carries
 * {@link Snapshot#NOT_OPEN_CREATING}; its refusal is said there, with the exception's class
 * ({@link Snapshot#NOT_OPEN_EXCEPTION}), instead of failing the activation. If its origin cannot be
 * opened (its NBD server down when the daemon starts again, say) it is not refused: the component
 * stays active, logs a warning naming the snapshot, the origin and the cause, and tries again
 * after 1 s, then after twice the last delay, at most 60 s apart ({@link Delays}), until the
 * snapshot opens, the configuration changes (the retries start again with it), the opener goes
 * (the snapshot then waits for the next one, as above) or the component is deactivated. A failure
 * is retried only if both hold ({@link OriginUnreachableException}, decided by {@link Origins}):
 * <ul>
 * <li>the opener failed to open the origin with an {@link IOException}: what the NBD client
 *     reports when it cannot reach the export (connection refused, a socket that is missing, a
 *     handshake timeout, an export the server does not serve, a failed TLS negotiation, an export
 *     served read-only, one the client cannot use, TLS files it cannot read), and the opener's
 *     {@code NoDeviceProviderException} (the provider of the scheme, kcopyd.nbd, not started
 *     yet): the server's, the files' or the framework's state, which changes without the
 *     configuration changing. The opener does not tell these apart by type, so all are retried,
 *     each warned about once (again when the reason changes). A malformed URI or a read-only device
 *     reported as an {@link IllegalArgumentException} is the configuration's fault, and refused;</li>
 * <li>the snapshot exists: the configuration names a COW store identity and the file at its COW
 *     store path holds that store, readable, with its chunk size, made for this origin
 *     ({@link CowStoreOpener#holdsStoreToReopen}), so that opening it later creates, formats and
 *     writes nothing. A new snapshot (no identity, nothing there yet, or a file to format) is
 *     refused at its first attempt, so that whoever creates it learns why; so is a configuration
 *     whose store is missing, another one, of other chunks or of another origin.</li>
 * </ul>
 * Refusals found once the origin opens (its size or fingerprint not the store's) end the retries,
 * logged as an error. While it waits nothing is opened but the attempts: no store is created,
 * formatted or written (its header is read, read-only, at each failed attempt), and no service is
 * registered but the snapshot's not-open status ({@link Snapshot#NOT_OPEN}: waiting for an opener
 * or for other snapshots to let go of its origin, the last attempt's cause and when the next is
 * made, or the refusal that ended the attempts).
 *
 * <p>Threads: DS may call the opener's bind and unbind while another thread activates, modifies
 * or deactivates; all of them run under one lock, held while the snapshot opens or closes. The
 * retry thread waits on that lock's monitor; each attempt first connects to the origin without
 * the lock (what may block for the opener's timeout, holding up no one), then opens the snapshot
 * on that connection under it unless stopped meanwhile, so nothing is opened once the component
 * is deactivated, modified or unbound, and a deactivation closes what an attempt opened before it.
 */
@Component(configurationPid = Snapshot.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = {}, immediate = true)
@Designate(ocd = SnapshotConfiguration.class, factory = true)
public final class SnapshotComponent {

    private static final System.Logger LOG = System.getLogger(SnapshotComponent.class.getName());
    /** Retries of an existing snapshot whose origin cannot be opened: after 1 s, doubling, at most 60 s apart. */
    static final Duration FIRST_RETRY = Duration.ofSeconds(1);
    static final Duration MAX_RETRY = Duration.ofSeconds(60);

    @Reference
    Origins origins;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile ConfigurationAdmin configurationAdmin;

    /** Guards everything below, and every open and close of the snapshot. */
    private final Object lock = new Object();
    /** Given to {@link Origins#awaitOriginClosed} while its origin is open through an opener going away. */
    private final Runnable retry = () -> {
        synchronized (lock) {
            retryOpen("the snapshots holding its origin through the previous BlockDeviceOpener service let go");
        }
    };
    /** The opener bound now (needed by an origin named by URI only), or null. */
    private BlockDeviceOpener opener;
    /** The opener the open snapshot's remote origin came from, or null (a file origin, or nothing open). */
    private BlockDeviceOpener openedWith;
    /** Between activation and deactivation. */
    private boolean active;
    private BundleContext context;
    private String pid;
    /** The configuration in effect: open, or waiting for an opener (or for a retry after a refusal). */
    private SnapshotSettings settings;
    /** The configuration's name, for the status of one refused before {@link #settings} was made of it. */
    private String configuredName;
    private SnapshotVolume snapshot;
    private ServiceRegistration<Snapshot> snapshotRegistration;
    private ServiceRegistration<BlockDevice> deviceRegistration;
    /** {@link Snapshot#CONFIG_REMOVE_WHEN_MERGED}, as the configuration says now. Guarded by lock. */
    private boolean removeWhenMerged;
    /** The snapshot whose merge's end removes the configuration, once watched. Guarded by lock. */
    private SnapshotVolume watched;
    /** The retries while the existing snapshot's origin cannot be opened, or null. Guarded by lock. */
    private volatile OriginRetry originRetry;
    /**
     * The configuration's creation mark ({@value Snapshot#CONFIG_CREATING}), this framework's, until the
     * snapshot is open and has cleared it; else null. Guarded by lock.
     */
    private String creating;
    /** The not-open status service, registered while active and not open; its value says the attempts. */
    private final NotOpenStatus status = new NotOpenStatus(new NotOpenStatus.Keys(Snapshot.NOT_OPEN,
            Snapshot.NOT_OPEN_REFUSED, Snapshot.NOT_OPEN_EXCEPTION, Snapshot.NOT_OPEN_CREATING), () -> originRetry);
    private final Duration firstRetry;
    private final Duration maxRetry;

    /** The component as DS makes it: retries after {@link #FIRST_RETRY}, at most {@link #MAX_RETRY} apart. */
    public SnapshotComponent() {
        this(FIRST_RETRY, MAX_RETRY);
    }

    /**
     * @param firstRetry the delay before the first retry of an origin that cannot be opened (at least 1 ms)
     * @param maxRetry   the longest delay between retries (at least {@code firstRetry})
     * @throws IllegalArgumentException naming both if not
     */
    SnapshotComponent(Duration firstRetry, Duration maxRetry) {
        // Refuses delays it would refuse at the first retry.
        new Delays(firstRetry, maxRetry).peek();
        this.firstRetry = firstRetry;
        this.maxRetry = maxRetry;
    }

    @Activate
    void activate(BundleContext bundleContext, SnapshotConfiguration config, Map<String, Object> properties)
            throws IOException {
        synchronized (lock) {
            context = bundleContext;
            pid = (String) properties.get(Constants.SERVICE_PID);
            active = true;
            removeWhenMerged = config.removeWhenMerged();
            try {
                refuseNonNumbers(properties);
                creating = requireCreatedHere(properties);
                openOrWait(SnapshotSettings.of(config));
            } catch (IOException | RuntimeException e) {
                if (!refused(properties, e)) {
                    throw e;
                }
            }
        }
    }

    /**
     * Under lock: the configuration is refused (at activation, or changed while the snapshot is not
     * open). The component stays active and the snapshot closed, its not-open status saying the refusal
     * ({@link Snapshot#NOT_OPEN_REFUSED}, the exception's class with it), logged; the configuration's next
     * change is tried. Failing the activation instead would end there: Felix SCR does not activate a
     * component whose activation failed again when its configuration changes, so a configuration file
     * mended in place (FileInstall, Karaf's etc/) would never be tried.
     *
     * @return false if the configuration names no snapshot by the name rule (no status can say it): the caller
     *         throws the refusal, for DS to report
     */
    private boolean refused(Map<String, Object> properties, Exception e) {
        String name = Refusals.nameOf(properties, Snapshot.CONFIG_NAME, Snapshot::isValidName);
        if (name == null) {
            notOpen(null);
            return false;
        }
        configuredName = name;
        stopRetry();
        notOpen(e.getMessage(), false, e.getClass().getName());
        Refusals.log(LOG, "snapshot '" + name + "': not opened", e);
        return true;
    }

    /**
     * Under lock: the configuration's creation mark ({@value Snapshot#CONFIG_CREATING}) if it is this
     * framework's, to be cleared once open; null if none.
     *
     * @throws IllegalStateException if it is another framework's: a creation its process ended in the middle of
     */
    private String requireCreatedHere(Map<String, Object> properties) {
        BundleContext c = context;
        return ConfigurationValues.requireCreatedHere(properties, Snapshot.CONFIG_CREATING,
                () -> c.getProperty(Constants.FRAMEWORK_UUID), "snapshot '" + properties.get(Snapshot.CONFIG_NAME) + "'");
    }

    /** A number given as a text that is none (a configuration file's {@code chunkSectors = abc}), named, refused. */
    private static void refuseNonNumbers(Map<String, Object> properties) {
        ConfigurationValues.requireNumbers(SnapshotConfiguration.class, properties, "snapshot '"
                + properties.get(Snapshot.CONFIG_NAME) + "': ");
    }

    /**
     * A {@link BlockDeviceOpener} service appeared (DS binds it before activation if there is one).
     * A snapshot of a URI waiting for one opens now; one open already keeps the opener it has.
     */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindOpener(BlockDeviceOpener bound) {
        synchronized (lock) {
            opener = bound;
            retryOpen("a BlockDeviceOpener service is bound");
        }
    }

    /**
     * A {@link BlockDeviceOpener} service goes away: if the snapshot's origin came from it, the
     * snapshot closes now, before kcopyd.impl closes the devices that opener opened, and opens
     * again through the next opener if one is bound already, else when one is.
     */
    void unbindOpener(BlockDeviceOpener gone) {
        Origins shared;
        synchronized (lock) {
            if (opener == gone) {
                opener = null;
                if (originRetry != null) {
                    // Nothing to try with: the retries end, and the snapshot waits for the next opener.
                    stopRetry();
                    waitForOpener(settings);
                }
            }
            if (snapshot == null || openedWith != gone) {
                return;
            }
            LOG.log(System.Logger.Level.INFO, settings.label() + ": the BlockDeviceOpener service its origin "
                    + settings.originName() + " was opened through is going away: closing the snapshot (its COW store "
                    + "stays as it is) until an opener is bound again");
            shared = closeAndReopen("another BlockDeviceOpener service is bound");
        }
        // Outside the lock: snapshots that share this origin and waited for it to close try again.
        shared.retryWaiting();
    }

    /**
     * Under lock: closes the open snapshot and opens it again as {@link #retryOpen} does, adopting the
     * store it has (whatever the configuration says yet).
     *
     * @return the origins, whose waiting snapshots the caller tells to try again once out of the lock
     */
    private Origins closeAndReopen(String why) {
        settings = settings.withCowStoreId(snapshot.cowStoreId());
        close();
        retryOpen(why);
        return origins;
    }

    /** Under lock: opens a configured snapshot that is not open (waiting, or refused at its last try). */
    private void retryOpen(String why) {
        if (!active || snapshot != null || settings == null) {
            return;
        }
        try {
            openOrWait(settings);
        } catch (IOException | RuntimeException e) {
            Refusals.log(LOG, settings.label() + ": not opened although " + why, e);
        }
    }

    /**
     * Under lock: opens the snapshot, unless its origin is named by URI and no opener is bound;
     * then it waits for one (logged), and nothing is opened or created. An existing snapshot whose
     * origin cannot be opened ({@link OriginUnreachableException}) is tried again later, on the
     * retry thread (started if it is not running; see the class comment). Any other outcome ends
     * the retries.
     *
     * @throws IOException              as {@link Origins#attach} throws it, but for the retried failure
     * @throws IllegalArgumentException as {@link Origins#attach} throws it
     */
    private void openOrWait(SnapshotSettings next) throws IOException {
        if (next.remoteOrigin() && opener == null) {
            stopRetry();
            settings = next;
            waitForOpener(next);
            return;
        }
        if (next.remoteOrigin()) {
            // The origin is opened on the retry thread, not in the caller's (activation, a configuration change, a
            // bind), which a server that accepts and never answers would hold for the opener's whole timeout, and
            // everything waiting for this component too: with an activation, Config Admin's event thread.
            settings = next;
            openLater(!origins.reopensStore(next));
            return;
        }
        openNow(next);
    }

    /** Under lock: opens the snapshot in this thread (see {@link #openOrWait}). */
    private void openNow(SnapshotSettings next) throws IOException {
        openNow(next, null);
    }

    /**
     * Under lock: as {@link #openNow(SnapshotSettings)}, with its origin's device opened already
     * through the opener bound now, outside the lock (null: opened here); it is the origin's, or
     * closed.
     */
    private void openNow(SnapshotSettings next, BlockDevice connected) throws IOException {
        try {
            open(next, connected);
        } catch (OriginUnreachableException e) {
            if (originRetry != null && originRetry.creating) {
                // A new snapshot is not retried: whoever creates it learns why.
                refuse(e);
                throw e;
            }
            retryLater(e);
            return;
        } catch (OriginOpenElsewhereException e) {
            stopRetry();
            origins.awaitOriginClosed(retry);
            LOG.log(System.Logger.Level.WARNING, e.getMessage());
            notOpen(e.getMessage());
            return;
        } catch (IOException | RuntimeException e) {
            refuse(e);
            throw e;
        }
        notOpen(null);
        if (originRetry != null) {
            if (originRetry.failures > 0) {
                LOG.log(System.Logger.Level.INFO, settings.label() + ": its origin " + settings.originName()
                        + " could be opened at attempt " + (originRetry.failures + 1) + ": the snapshot is open");
            }
            stopRetry();
        }
    }

    /** Under lock: the retries end, and the status says the refusal, the exception's class with it. */
    private void refuse(Exception e) {
        stopRetry();
        notOpen(e.getMessage() + " (refused: not tried again until a BlockDeviceOpener service is bound or the "
                + "configuration changes)", false, e.getClass().getName());
    }

    /**
     * Under lock, {@link #settings} being the snapshot's: its origin is opened on the retry thread,
     * at once (started now if it is not running; woken if it waits for its next attempt).
     *
     * @param creating a new snapshot (refused if its origin cannot be opened, not retried)
     */
    private void openLater(boolean creating) {
        if (originRetry == null || originRetry.creating != creating) {
            stopRetry();
            originRetry = new OriginRetry(settings, creating);
            notOpen("opening: its origin " + settings.originName() + " is being connected to", true);
            originRetry.thread.start();
        } else {
            originRetry.now = true;
            lock.notifyAll();
        }
    }

    /** Under lock: the snapshot of a URI waits for a BlockDeviceOpener service (logged, and its status says so). */
    private void waitForOpener(SnapshotSettings next) {
        String why = "waiting for a BlockDeviceOpener service to open its origin " + next.originName()
                + " (named by URI; is kcopyd.impl started?)";
        LOG.log(System.Logger.Level.WARNING, next.label() + ": " + why + ": the snapshot opens when one is bound");
        notOpen(why);
    }


    /**
     * Under lock: registers (or updates) the {@link Snapshot#NOT_OPEN} status service saying why
     * the snapshot is not open, or, with null, unregisters it (the snapshot is open, or the
     * component goes). Nothing is registered before activation or after deactivation.
     */
    private void notOpen(String reason) {
        notOpen(reason, false, null);
    }

    /** Under lock: as {@link #notOpen(String)}; {@code retried}: the retries' reason, their attempts said after it. */
    private void notOpen(String reason, boolean retried) {
        notOpen(reason, retried, null);
    }

    /**
     * Under lock: as {@link #notOpen(String, boolean)}; {@code refusedBy}: the class of the exception that
     * refused the snapshot, which is not tried again by itself ({@link Snapshot#NOT_OPEN_REFUSED} and
     * {@link Snapshot#NOT_OPEN_EXCEPTION} set on the status), or null. {@link Snapshot#NOT_OPEN_CREATING} is
     * set while the retries are a new snapshot's.
     */
    private void notOpen(String reason, boolean retried, String refusedBy) {
        OriginRetry r = originRetry;
        String name = settings != null ? settings.name() : configuredName;
        status.set(context, active, name, reason, retried, refusedBy, r != null && r.creating);
    }

    /**
     * Under lock, {@link #settings} being the snapshot's: the origin of the existing snapshot could
     * not be opened; the retry thread tries again after its next delay (started now if it is not
     * running). The first failure is warned about with the plan, later ones only when the cause
     * changes; the not-open status says the cause and the attempts.
     */
    private void retryLater(OriginUnreachableException e) {
        String cause = e.getCause() == null ? e.getMessage() : String.valueOf(e.getCause().getMessage());
        if (originRetry == null) {
            originRetry = new OriginRetry(settings, false);
            originRetry.now = false;
            originRetry.thread.start();
        }
        OriginRetry r = originRetry;
        r.failures++;
        boolean changed = !cause.equals(r.cause);
        r.cause = cause;
        if (r.failures == 1) {
            LOG.log(System.Logger.Level.WARNING, e.getMessage() + "; the COW store " + settings.cowStore() + " ("
                    + settings.cowStoreId() + ") is left as it is and the snapshot is tried again in "
                    + millis(r.delays.peek()) + ", then at growing intervals up to " + millis(maxRetry.toMillis())
                    + ", until its origin can be opened");
        } else {
            LOG.log(changed ? System.Logger.Level.WARNING : System.Logger.Level.DEBUG, e.getMessage() + " (attempt "
                    + r.failures + "; tried again in " + millis(r.delays.peek()) + ")");
        }
        notOpen(e.getMessage(), true);
    }

    private static void closeQuietly(BlockDevice device) {
        if (device != null) {
            Origins.closeQuietly(device);
        }
    }

    private static String millis(long ms) {
        return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
    }

    /** Under lock: ends the retries, if any (their thread ends without another attempt). */
    private void stopRetry() {
        if (originRetry != null) {
            originRetry.stopped = true;
            if (originRetry.probing) {
                // Its connection, which a silent server holds for the opener's timeout, is given up now: it held the
                // export's claim meanwhile, and another snapshot of the export was refused (H41 B1). The thread only
                // connects while probing: an interrupt closes that socket and nothing else.
                originRetry.thread.interrupt();
            }
            originRetry = null;
            lock.notifyAll();
        }
    }

    /**
     * The attempts to open a snapshot whose origin is named by URI, on a daemon thread of its own:
     * the first at once when started by {@link #openLater}, the next ones (an existing snapshot's
     * only) after each delay of a {@link Delays}, waited on {@link #lock}'s monitor. An attempt first opens the origin
     * ({@link Origins#openOrigin}) without holding the lock, and the snapshot then opens on that
     * connection: a server that accepts the
     * connection and never answers holds only this thread, for the opener's timeout, not whoever
     * deactivates, reconfigures or rebinds the component meanwhile. If the origin could not be
     * opened, the next attempt waits ({@link #retryLater}); else, under the lock and unless stopped
     * meanwhile, the snapshot is opened with the settings in effect ({@link #openNow}) on the origin
     * connected (if the settings or the opener changed meanwhile, that connection is closed and the
     * next attempt starts at once with them). Any other failure to connect refuses the snapshot
     * without connecting again. It ends at the first attempt that does not fail with
     * {@link OriginUnreachableException} (logged as an error if refused), or when
     * {@link #stopRetry()} marks it stopped: at any other opening or waiting, a modification, the
     * opener's unbinding and deactivation.
     */
    private final class OriginRetry extends NotOpenStatus.Attempts implements Runnable {
        final Delays delays = new Delays(firstRetry, maxRetry);
        final Thread thread;
        /** A new snapshot's: its first failure refuses it, whatever it is. */
        final boolean creating;
        /** Set by {@link #stopRetry()}. Guarded by lock. */
        boolean stopped;
        /** The next attempt starts without waiting. Guarded by lock. */
        boolean now = true;
        /** The opener's reason at the last failure, to warn again only when it changes. Guarded by lock. */
        String cause;
        /** The origin is being probed, outside the lock: nothing this thread does then needs waiting for. */
        volatile boolean probing;


        OriginRetry(SnapshotSettings s, boolean creating) {
            this.creating = creating;
            thread = new Thread(this, "kcopyd " + s.label() + " origin retry");
            thread.setDaemon(true);
        }

        @Override
        public void run() {
            try {
                while (true) {
                    SnapshotSettings s;
                    BlockDeviceOpener using;
                    synchronized (lock) {
                        if (!awaitAttempt()) {
                            return;
                        }
                        s = settings;
                        using = opener;
                        underWay = true;
                        probing = true;
                    }
                    OriginUnreachableException unreachable = null;
                    Exception refused = null;
                    BlockDevice connected = null;
                    try {
                        connected = origins.openOrigin(s, using);
                    } catch (OriginUnreachableException e) {
                        unreachable = creating ? null : e;
                        refused = creating ? e : null;
                    } catch (IOException | RuntimeException e) {
                        // Refused as it is: connecting again, under the lock, could wait for the opener's timeout.
                        refused = e;
                    } finally {
                        probing = false;
                    }
                    synchronized (lock) {
                        underWay = false;
                        boolean current = s == settings && using == opener;
                        if (stopped || !active || !current) {
                            closeQuietly(connected);
                        }
                        if (stopped || !active) {
                            return;
                        }
                        if (!current) {
                            // The settings or the opener changed meanwhile: an attempt with them, at once.
                            now = true;
                            continue;
                        }
                        if (unreachable != null) {
                            retryLater(unreachable);
                            continue;
                        }
                        String attempt = creating ? ": not made" : ": not opened at attempt " + (failures + 1)
                                + ", no more attempts";
                        if (refused != null) {
                            refuse(refused);
                            Refusals.log(LOG, settings.label() + attempt, refused);
                            return;
                        }
                        try {
                            openNow(settings, connected);
                        } catch (IOException | RuntimeException e) {
                            Refusals.log(LOG, settings.label() + attempt, e);
                        }
                        if (originRetry != this) {
                            return;
                        }
                    }
                }
            } catch (InterruptedException e) {
                // Nobody interrupts it; if someone does, the retries end as if stopped.
                Thread.currentThread().interrupt();
            } finally {
                synchronized (lock) {
                    // Ended by anything but stopRetry() (an Error): the next failure starts new retries.
                    if (originRetry == this) {
                        originRetry = null;
                    }
                }
            }
        }

        /** Under lock: waits for the next attempt's time; false if stopped meanwhile (no attempt then). */
        private boolean awaitAttempt() throws InterruptedException {
            if (!now) {
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delays.next());
                nextAttemptNanos = deadline;
                for (long left = deadline - System.nanoTime(); !stopped && !now && left > 0;
                        left = deadline - System.nanoTime()) {
                    TimeUnit.NANOSECONDS.timedWait(lock, left);
                }
            }
            now = false;
            return !stopped && active;
        }
    }

    /**
     * The store's identity being recorded (and format cleared) changes nothing; any other change
     * closes the snapshot and opens it with the new configuration. A configuration that is sure
     * to be refused (it names the open store's file without its identity, whether or not it asks
     * to format it, or with another origin than the one the store belongs to, or another existing
     * file without any identity or format) is refused before anything closes: the snapshot goes on
     * as it was.
     */
    @Modified
    void modified(SnapshotConfiguration config, Map<String, Object> properties) throws IOException {
        synchronized (lock) {
            try {
                reconfigure(config, properties);
            } catch (IOException | RuntimeException e) {
                // An open snapshot goes on as it was (DS logs the refusal); a closed one says it (see refused).
                if (snapshot != null || !refused(properties, e)) {
                    throw e;
                }
            }
        }
    }

    /** Under lock: as {@link #modified}. */
    private void reconfigure(SnapshotConfiguration config, Map<String, Object> properties) throws IOException {
        refuseNonNumbers(properties);
        creating = requireCreatedHere(properties);
        SnapshotSettings next = SnapshotSettings.of(config);
        removeWhenMerged = config.removeWhenMerged();
        if (snapshot != null) {
            if (settings.sameSnapshot(next, snapshot.cowStoreId())) {
                settings = next;
                if (next.format() || creating != null) {
                    recordStoreIdentity();
                }
                return;
            }
            refuseBeforeClosing(next);
        }
        close();
        // Retries of the previous configuration end: the new one's first failure starts its own.
        stopRetry();
        openOrWait(next);
    }

    private void refuseBeforeClosing(SnapshotSettings next) throws IOException {
        if (!Files.exists(next.cowStore())) {
            return;
        }
        UUID open = snapshot.cowStoreId();
        boolean sameFile = FileClaims.identityOf(next.cowStore()).equals(FileClaims.identityOf(settings.cowStore()));
        String refused = next.label() + ": configuration refused, the snapshot goes on as it was: ";
        String names = next.cowStoreId() == null ? "no " + Snapshot.CONFIG_COW_STORE_ID
                : Snapshot.CONFIG_COW_STORE_ID + " " + next.cowStoreId();
        if (sameFile && !open.equals(next.cowStoreId())) {
            throw new IllegalArgumentException(refused + next.cowStore() + " is its COW store " + open
                    + " and the new configuration names " + names + " (set " + Snapshot.CONFIG_COW_STORE_ID + "="
                    + open + "; a kcopyd COW store is never formatted, not even with " + Snapshot.CONFIG_FORMAT
                    + "=true)");
        }
        if (sameFile && next.chunkSectors() != snapshot.chunkSectors()) {
            throw new IllegalArgumentException(refused + "its COW store " + next.cowStore() + " was made with chunks "
                    + "of " + snapshot.chunkSectors() + " sectors, the new configuration says " + next.chunkSectors());
        }
        if (sameFile && (next.remoteOrigin() || Files.exists(next.origin()))) {
            String originId = OriginIdentity.of(next);
            if (next.originId() != null && !DeviceIdentity.matches(next.originId(), originId)) {
                throw new IllegalArgumentException(refused + Snapshot.CONFIG_ORIGIN_ID + " " + next.originId()
                        + " is not the identity of its origin " + next.originName() + ", which is " + originId);
            }
            String other = CowStoreOpener.originRefusal(next, snapshot.store.originId(), snapshot.store.originPath(),
                    originId);
            if (other != null) {
                throw new IllegalArgumentException(refused + other);
            }
        }
        if (!sameFile && next.cowStoreId() == null && !next.format()) {
            throw new IllegalArgumentException(refused + next.cowStore() + " exists and the new configuration names "
                    + "no " + Snapshot.CONFIG_COW_STORE_ID);
        }
    }

    private void open(SnapshotSettings next, BlockDevice connected) throws IOException {
        settings = next;
        BlockDeviceOpener using = next.remoteOrigin() ? opener : null;
        snapshot = origins.attach(next, using, connected);
        openedWith = using;
        // Said open before it is published: whoever finds the snapshot's service must not read the refusal of the
        // configuration before (the control's awaitConfiguration did, FAILED for a snapshot mended in place).
        notOpen(null);
        try {
            Hashtable<String, Object> props = new Hashtable<>();
            props.put(Snapshot.NAME, next.name());
            props.put(Snapshot.ORIGIN, next.originName());
            props.put(Snapshot.COW_STORE, next.cowStore().toString());
            props.put(Snapshot.COW_STORE_ID, snapshot.cowStoreId().toString());
            snapshotRegistration = context.registerService(Snapshot.class, snapshot, props);
            props.put(BlockDevice.ROLE, Snapshot.ROLE_SNAPSHOT);
            deviceRegistration = context.registerService(BlockDevice.class, snapshot.device(), props);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        recordStoreIdentity();
        watchMerge();
        if (next.remoteOrigin()) {
            watchOrigin(snapshot);
        }
    }

    /**
     * Under lock, as a snapshot of an origin named by URI opens: when the origin's device is lost
     * (its server went away or restarted: the NBD client does not connect again by itself, H40),
     * the snapshot is closed and opened again as at a start ({@link #originLost}), on a thread of
     * its own: the device's thread that reports it is not held up.
     */
    private void watchOrigin(SnapshotVolume opened) {
        String label = settings.label();
        opened.origin.whenLost().thenAccept(cause -> {
            Thread t = new Thread(() -> originLost(opened, cause), "kcopyd " + label + " origin lost");
            t.setDaemon(true);
            t.start();
        });
    }

    /**
     * The origin of the open snapshot {@code lost} was lost: every read of an uncopied chunk and
     * every origin write fails from then on. The snapshot is closed as a deactivation closes it
     * (its COW store as it is: the origin's fingerprint cannot be read, so none is recorded) and
     * opened again through the retries of an existing snapshot: it waits while the server cannot be
     * reached, and is adopted again only if the origin shows the snapshot as it recorded it (its
     * view samples, as after a kill -9), so that a server restarted with another disk at the same
     * address is refused, not written. Nothing happens if that snapshot is no longer open here.
     */
    private void originLost(SnapshotVolume lost, IOException cause) {
        Origins shared;
        synchronized (lock) {
            if (!active || snapshot != lost) {
                return;
            }
            LOG.log(System.Logger.Level.WARNING, settings.label() + ": its origin " + settings.originName() + " was lost ("
                    + cause.getMessage() + "): the snapshot is closed, its COW store left as it is, and opened again "
                    + "once its origin can be, checked as at a start; meanwhile it is not open and origin writes fail");
            shared = closeAndReopen("its origin was lost");
        }
        // Outside the lock: snapshots that share this origin and waited for it to close try again.
        shared.retryWaiting();
    }

    /**
     * Under lock, as the snapshot opens with {@link Snapshot#CONFIG_REMOVE_WHEN_MERGED} set: removes
     * this configuration when the merge resumed at opening completes (the process was stopped or
     * killed in the middle of it; no job of the commands waits for it any more). A merge running in
     * this process is the business of whoever started it (the commands' merge job removes the
     * snapshot at its end). A snapshot that opens with the setting and no merge to resume stays (a
     * merge asked for but not begun, or done just before the process ended, or a setting given by
     * hand: which cannot be told), and the log says so.
     */
    private void watchMerge() {
        SnapshotVolume s = snapshot;
        if (!removeWhenMerged || s == null || watched == s) {
            return;
        }
        if (s.isMergingNow()) {
            watched = s;
            CompletionStage<Void> merged;
            try {
                merged = s.merge();
            } catch (IllegalStateException e) {
                return;
            }
            merged.whenComplete((v, failure) -> {
                if (failure == null) {
                    removeConfiguration(s, "its merge completed");
                }
            });
        } else {
            LOG.log(System.Logger.Level.WARNING, settings.label() + ": " + Snapshot.CONFIG_REMOVE_WHEN_MERGED + " is set "
                    + "but the snapshot has no merge to resume: it stays; merge it, remove it, or clear the setting");
        }
    }

    /**
     * Deletes this configuration on a thread of its own (Config Admin then deactivates this
     * component, which must not happen under its lock or on the merge's completion thread), if
     * {@code merged} is still this component's snapshot.
     */
    private void removeConfiguration(SnapshotVolume merged, String why) {
        String label = settings.label();
        String ownPid = pid;
        ConfigurationAdmin cm = configurationAdmin;
        Thread remover = new Thread(() -> {
            synchronized (lock) {
                if (snapshot != merged || !active) {
                    return;
                }
            }
            try {
                Configuration[] found = cm == null || ownPid == null ? null
                        : cm.listConfigurations("(" + Constants.SERVICE_PID + "=" + Filters.escape(ownPid) + ")");
                if (found != null) {
                    LOG.log(System.Logger.Level.INFO, label + ": " + why + ": its configuration is removed, as "
                            + Snapshot.CONFIG_REMOVE_WHEN_MERGED + " asks (its COW store stays)");
                    found[0].delete();
                }
            } catch (IOException | InvalidSyntaxException | RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, label + ": merged, but its configuration could not be removed: "
                        + e + "; remove the snapshot yourself");
            }
        }, "kcopyd snapshot merged " + label);
        remover.setDaemon(true);
        remover.start();
    }

    /**
     * Writes the identity of a store made just now into the configuration, so that the next
     * activation adopts it (and formats nothing), and clears the creation mark: the snapshot is
     * made. Failing that, the snapshot works, but its next activation refuses the file until the
     * identity, logged here, is set by hand (and the mark removed).
     */
    private void recordStoreIdentity() {
        UUID id = snapshot.cowStoreId();
        if (id.equals(settings.cowStoreId()) && !settings.format() && creating == null) {
            return;
        }
        String failure;
        ConfigurationAdmin cm = configurationAdmin;
        try {
            Configuration[] found = cm == null || pid == null ? null
                    : cm.listConfigurations("(" + Constants.SERVICE_PID + "=" + Filters.escape(pid) + ")");
            if (found != null) {
                Dictionary<String, Object> props = found[0].getProperties();
                props.put(Snapshot.CONFIG_COW_STORE_ID, id.toString());
                props.remove(Snapshot.CONFIG_FORMAT);
                props.remove(Snapshot.CONFIG_CREATING);
                found[0].update(props);
                creating = null;
                return;
            }
            failure = cm == null ? "no ConfigurationAdmin service" : "the configuration " + pid + " is gone";
        } catch (IOException | InvalidSyntaxException | IllegalStateException e) {
            failure = e.toString();
        }
        LOG.log(System.Logger.Level.WARNING, settings.label() + " made COW store " + id + " at " + settings.cowStore()
                + " but could not record its identity in the configuration (" + failure + "): set "
                + Snapshot.CONFIG_COW_STORE_ID + "=" + id + " there" + (creating == null ? "" : " and remove "
                + Snapshot.CONFIG_CREATING) + ", or the store will not be reopened");
    }

    /**
     * Closes the snapshot (see {@link #close()}) and ends the retries of its origin, if any: no
     * attempt starts afterwards (one under way finished before, holding the lock), and their
     * thread has ended, or ends at once, when this returns.
     */
    @Deactivate
    void deactivate() {
        Origins shared;
        Thread retrying;
        synchronized (lock) {
            active = false;
            // A thread probing the origin (outside the lock) opens nothing afterwards: it sees itself stopped.
            retrying = originRetry == null || originRetry.probing ? null : originRetry.thread;
            stopRetry();
            notOpen(null);
            shared = origins;
            close();
        }
        shared.forget(retry);
        shared.retryWaiting();
        if (retrying != null && retrying != Thread.currentThread()) {
            try {
                // It only has to wake up and see itself stopped.
                retrying.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Under lock: unregisters the services and detaches the snapshot (draining it), if open. */
    private void close() {
        if (deviceRegistration != null) {
            deviceRegistration.unregister();
            deviceRegistration = null;
        }
        if (snapshotRegistration != null) {
            snapshotRegistration.unregister();
            snapshotRegistration = null;
        }
        if (snapshot != null) {
            origins.detach(snapshot);
            snapshot = null;
            openedWith = null;
        }
    }
}
