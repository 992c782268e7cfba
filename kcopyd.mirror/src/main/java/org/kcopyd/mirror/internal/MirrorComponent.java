package org.kcopyd.mirror.internal;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.ClientBinding;
import org.kcopyd.api.ClientOptions;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.api.Throttle;
import org.kcopyd.device.ConfigurationValues;
import org.kcopyd.device.FileClaims;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.support.component.NotOpenStatus;
import org.kcopyd.support.component.Refusals;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
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
 * One mirror per factory configuration. Its kcopyd client comes from whichever factory is bound
 * (dynamic, greedy) and uses the mirror's own named throttle, set live from the configuration.
 * While no factory is bound, the resync pauses; writes and reads go on. A configuration that is
 * refused (see {@link MirrorSettings}, {@link OpenedMirror}) leaves the mirror closed, having written
 * nothing, and the component active, its not-open status saying the refusal, so that the
 * configuration's next change is tried ({@link #refused}). When it makes a new region log, it writes
 * the log's identity back into its configuration ({@value Mirror#CONFIG_REGION_LOG_ID}, and clears
 * {@value Mirror#CONFIG_FORMAT}), so that the next activation adopts that log and only that one.
 *
 * <p>Legs named by URI (NBD exports) are opened through the {@link BlockDeviceOpener} service,
 * bound dynamically (optional, greedy) and used by such mirrors only: a mirror of files and
 * {@code service:} legs never notices the opener come or go, so restarting or updating kcopyd.impl
 * (which registers it) leaves its services registered, as its kcopyd client waits for a factory. A
 * mirror with a URI leg configured while no opener is bound waits, logged with the reason, and
 * opens when one binds; when the opener its legs came from goes away, the mirror is closed first
 * (as a deactivation closes it: writes and resync drained, the region log and the legs'
 * fingerprints recorded, its services unregistered), since kcopyd.impl then closes the devices
 * the opener opened, and reopens with the next opener, adopting its region log. A refusal when it
 * opens after a bind (an unreachable server, say) is logged; the next bind tries again.
 *
 * <p>A mirror with legs named by URI, new or existing, is opened on a daemon thread of its own,
 * never in the thread that activates, modifies or binds the component: a server that accepts the
 * connection and never answers would hold that thread for the opener's whole timeout (60 s), and
 * with it the daemon's start, its stop and every configuration change (Declarative Services
 * activates on Config Admin's one event thread: every other mirror, snapshot and export created
 * meanwhile waited too). While a new one is connected to, its not-open status carries
 * {@link Mirror#NOT_OPEN_CREATING}; its refusal is said there, with the exception's class
 * ({@link Mirror#NOT_OPEN_EXCEPTION}), instead of failing the activation. Each attempt first connects
 * to the legs named by URI without the component's lock ({@link OpenedMirror#connect}), and the
 * mirror then opens on those connections. If
 * a leg cannot be opened (its NBD server down when the daemon starts again, say) the mirror is not
 * refused: the component stays active, logs a warning naming the mirror, the leg and the cause,
 * and tries again after 1 s,
 * then after twice the last delay, at most 60 s apart ({@link Backoff}), until the mirror opens,
 * the configuration changes (the retries start again with it), the opener goes (the mirror then
 * waits for the next one, as above) or the component is deactivated. The whole mirror waits: it
 * does not come up degraded without the leg, which its region log would then have to record as
 * failed and resync fully. A failure is retried only if both hold ({@link LegUnreachableException},
 * decided by {@link OpenedMirror}):
 * <ul>
 * <li>the opener failed to open the leg with an {@link IOException}: what the NBD client reports
 *     when it cannot reach the export (connection refused, a socket that is missing, a handshake
 *     timeout, an export the server does not serve, a failed TLS negotiation, an export served
 *     read-only, one the client cannot use, TLS files it cannot read), and the opener's
 *     {@code NoDeviceProviderException} (the provider of the scheme, kcopyd.nbd, not started
 *     yet): the server's, the files' or the framework's state, which changes without the
 *     configuration changing. The opener does not tell these apart by type, so all are retried,
 *     each warned about once (again when the reason changes). A malformed URI, reported as an
 *     {@link IllegalArgumentException}, is the configuration's fault, and refused;</li>
 * <li>the mirror exists: the configuration names a region log identity and the file at its region
 *     log path holds that log, of this version and region size ({@link OpenedMirror#holdsLogToReopen}),
 *     so that opening it later adopts it and creates or formats nothing. A new mirror is refused at
 *     its first attempt, so that whoever creates it learns why; so is a configuration naming a log
 *     that is missing, another one or of another region size.</li>
 * </ul>
 * Refusals found once the leg opens (legs not as the log records them, sizes) end the retries,
 * logged as an error. While it waits nothing is written: the legs opened before the one that
 * failed are closed again at each attempt, the log's header is read, read-only, and no service
 * is registered but the mirror's not-open status ({@link Mirror#NOT_OPEN}: waiting for an opener,
 * the last attempt's cause and when the next is made, or the refusal that ended the attempts).
 *
 * <p>Threads: DS may call the opener's bind and unbind while another thread activates, modifies
 * or deactivates; all of them run under one lock, held while the mirror opens or closes. Each
 * retry takes that lock and checks it has not been stopped, so no attempt starts once the
 * component is deactivated, modified or unbound; an attempt already started (which may block for
 * the opener's connection timeout) finishes first, and a deactivation then closes what it opened.
 */
@Component(configurationPid = Mirror.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = {}, immediate = true)
@Designate(ocd = MirrorConfiguration.class, factory = true)
public final class MirrorComponent {

    /** Retries of a resync that cannot run for a while: 50 ms, doubling, at most 30 s apart. */
    static final Duration FIRST_RETRY = Duration.ofMillis(50);
    static final Duration MAX_RETRY = Duration.ofSeconds(30);
    /** Retries of an existing mirror whose leg named by URI cannot be opened: after 1 s, doubling, at most 60 s apart. */
    static final Duration FIRST_OPEN_RETRY = Duration.ofSeconds(1);
    static final Duration MAX_OPEN_RETRY = Duration.ofSeconds(60);
    private static final System.Logger LOG = System.getLogger(MirrorComponent.class.getName());

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile ConfigurationAdmin configurationAdmin;

    private final ClientBinding kcopyd = new ClientBinding(this::clientFor);
    /** Unthrottled: copies a region a write waits for ({@link ResyncClients}). */
    private final ClientBinding urgent = new ClientBinding(KcopydClientFactory::createClient);
    private final Set<KcopydClientFactory> factories = ConcurrentHashMap.newKeySet();
    /** Guards the fields below but {@link #settings}, and every open and close of the mirror. */
    private final Object lock = new Object();
    /** The opener bound now (needed by legs named by URI only), or null. */
    private BlockDeviceOpener opener;
    /** The opener the open mirror's URI legs came from, or null (no URI leg, or nothing open). */
    private BlockDeviceOpener openedWith;
    /** Between activation and deactivation. */
    private boolean active;
    private BundleContext context;
    /** The configuration in effect: open, or waiting for an opener (or for a retry after a refusal). */
    private MirrorSettings wanted;
    /** The configuration's name, for the status of one refused before {@link #wanted} was made of it. */
    private String configuredName;
    private String pid;
    /**
     * The configuration's creation mark ({@value Mirror#CONFIG_CREATING}), this framework's, until the
     * mirror is open and has cleared it; else null. Guarded by lock.
     */
    private String creating;
    /** The open mirror's settings (null while it is not open); read by {@link #clientFor} from any thread. */
    private volatile MirrorSettings settings;
    private ScheduledExecutorService retries;
    private OpenedMirror opened;
    private ServiceRegistration<Mirror> mirrorRegistration;
    private ServiceRegistration<BlockDevice> deviceRegistration;
    /** The retries while the existing mirror's leg cannot be opened, or null. Guarded by lock. */
    private volatile OpenRetry openRetry;
    /** The not-open status service, registered while active and not open; its value says the attempts. */
    private final NotOpenStatus status = new NotOpenStatus(new NotOpenStatus.Keys(Mirror.NOT_OPEN,
            Mirror.NOT_OPEN_REFUSED, Mirror.NOT_OPEN_EXCEPTION, Mirror.NOT_OPEN_CREATING), () -> openRetry);
    private final Duration firstOpenRetry;
    private final Duration maxOpenRetry;

    /** The component as DS makes it: retries after {@link #FIRST_OPEN_RETRY}, at most {@link #MAX_OPEN_RETRY} apart. */
    public MirrorComponent() {
        this(FIRST_OPEN_RETRY, MAX_OPEN_RETRY);
    }

    /**
     * @param firstOpenRetry the delay before the first retry of a leg that cannot be opened (at least 1 ms)
     * @param maxOpenRetry   the longest delay between retries (at least {@code firstOpenRetry})
     * @throws IllegalArgumentException naming both if not
     */
    MirrorComponent(Duration firstOpenRetry, Duration maxOpenRetry) {
        if (firstOpenRetry.toMillis() < 1 || maxOpenRetry.compareTo(firstOpenRetry) < 0) {
            throw new IllegalArgumentException("open retries from " + firstOpenRetry + " to " + maxOpenRetry
                    + ": the first must be at least 1 ms and at most the longest");
        }
        this.firstOpenRetry = firstOpenRetry;
        this.maxOpenRetry = maxOpenRetry;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindFactory(KcopydClientFactory factory) {
        factories.add(factory);
        // DS binds before activation: the client, which needs the configuration, is then made in open().
        if (settings != null) {
            kcopyd.bind(factory);
        }
        urgent.bind(factory);
    }

    void unbindFactory(KcopydClientFactory factory) {
        factories.remove(factory);
        kcopyd.unbind(factory);
        urgent.unbind(factory);
    }

    private KcopydClient clientFor(KcopydClientFactory factory) {
        MirrorSettings s = settings;
        Throttle throttle = factory.throttle("mirror-" + s.name());
        applyThrottle(throttle, s);
        return factory.createClient(ClientOptions.builder().throttle(throttle).build());
    }

    private static void applyThrottle(Throttle throttle, MirrorSettings s) {
        throttle.setBytesPerSecond(s.throttleBytesPerSecond());
        throttle.setIoPercent(s.throttleIoPercent());
    }

    @Activate
    void activate(BundleContext bundleContext, MirrorConfiguration configuration, Map<String, Object> properties)
            throws IOException {
        synchronized (lock) {
            context = bundleContext;
            pid = (String) properties.get(Constants.SERVICE_PID);
            active = true;
            try {
                refuseNonNumbers(properties);
                creating = requireCreatedHere(properties);
                openOrWait(MirrorSettings.of(configuration));
            } catch (IOException | RuntimeException e) {
                if (!refused(properties, e)) {
                    throw e;
                }
            }
        }
    }

    /**
     * Under lock: the configuration is refused (at activation, or changed while the mirror is not open).
     * The component stays active and the mirror closed, its not-open status saying the refusal
     * ({@link Mirror#NOT_OPEN_REFUSED}, the exception's class with it), logged; the configuration's next
     * change is tried. Failing the activation instead would end there: Felix SCR does not activate a
     * component whose activation failed again when its configuration changes, so a configuration file
     * mended in place (FileInstall, Karaf's etc/) would never be tried.
     *
     * @return false if the configuration names no mirror by the name rule (no status can say it): the caller
     *         throws the refusal, for DS to report
     */
    private boolean refused(Map<String, Object> properties, Exception e) {
        String name = Refusals.nameOf(properties, Mirror.CONFIG_NAME, Mirror::isValidName);
        if (name == null) {
            notOpen(null);
            return false;
        }
        configuredName = name;
        stopOpenRetry();
        notOpen(e.getMessage(), false, e.getClass().getName());
        Refusals.log(LOG, "mirror '" + name + "': not opened", e);
        return true;
    }

    /**
     * Under lock: the configuration's creation mark ({@value Mirror#CONFIG_CREATING}) if it is this
     * framework's, to be cleared once open; null if none.
     *
     * @throws IllegalStateException if it is another framework's: a creation its process ended in the middle of
     */
    private String requireCreatedHere(Map<String, Object> properties) {
        BundleContext c = context;
        return ConfigurationValues.requireCreatedHere(properties, Mirror.CONFIG_CREATING,
                () -> c.getProperty(Constants.FRAMEWORK_UUID), "mirror '" + properties.get(Mirror.CONFIG_NAME) + "'");
    }

    /** A number given as a text that is none (a configuration file's {@code regionSectors = abc}), named, refused. */
    private static void refuseNonNumbers(Map<String, Object> properties) {
        ConfigurationValues.requireNumbers(MirrorConfiguration.class, properties, "mirror '"
                + properties.get(Mirror.CONFIG_NAME) + "': ");
    }

    /**
     * A {@link BlockDeviceOpener} service appeared (DS binds it before activation if there is one).
     * A mirror with a URI leg waiting for one opens now; one open already keeps the opener it has.
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
     * A {@link BlockDeviceOpener} service goes away: if the mirror's URI legs came from it, the
     * mirror closes now, before kcopyd.impl closes the devices that opener opened, and opens again
     * through the next opener if one is bound already, else when one is.
     */
    void unbindOpener(BlockDeviceOpener gone) {
        synchronized (lock) {
            if (opener == gone) {
                opener = null;
                if (openRetry != null) {
                    // Nothing to try with: the retries end, and the mirror waits for the next opener.
                    stopOpenRetry();
                    waitForOpener(wanted);
                }
            }
            if (opened == null || openedWith != gone) {
                return;
            }
            LOG.log(System.Logger.Level.INFO, "mirror '" + wanted.name() + "': the BlockDeviceOpener service its "
                    + "legs named by URI were opened through is going away: closing the mirror (its region log records"
                    + " where it stands) until an opener is bound again");
            closeMirror();
            retryOpen("another BlockDeviceOpener service is bound");
        }
    }

    /** Under lock: opens a configured mirror that is not open (waiting, or refused at its last try). */
    private void retryOpen(String why) {
        if (!active || opened != null || wanted == null) {
            return;
        }
        try {
            openOrWait(wanted);
        } catch (IOException | RuntimeException e) {
            Refusals.log(LOG, "mirror '" + wanted.name() + "': not opened although " + why, e);
        }
    }

    /**
     * Under lock: opens the mirror, unless a leg is named by URI and no opener is bound; then it
     * waits for one (logged), and nothing is opened or created. An existing mirror whose leg
     * cannot be opened ({@link LegUnreachableException}) is tried again later (see the class
     * comment); any other outcome ends the retries.
     *
     * @throws IOException              as {@link OpenedMirror#open} throws it, but for the retried failure
     * @throws IllegalArgumentException as {@link OpenedMirror#open} throws it
     */
    private void openOrWait(MirrorSettings s) throws IOException {
        wanted = s;
        if (opener == null && s.legs().stream().anyMatch(MirrorSettings::isUriLeg)) {
            stopOpenRetry();
            waitForOpener(s);
            return;
        }
        if (s.legs().stream().anyMatch(MirrorSettings::isUriLeg)) {
            // The legs named by URI are opened on the retry thread, not in the caller's (activation, a configuration
            // change, a bind), which a server that accepts and never answers would hold for the opener's whole
            // timeout, and everything waiting for this component too: with an activation, Config Admin's event thread.
            openLater(!OpenedMirror.reopensLog(s));
            return;
        }
        openNow(s);
    }

    /** Under lock: opens the mirror in this thread (see {@link #openOrWait}). */
    private void openNow(MirrorSettings s) throws IOException {
        openNow(s, null);
    }

    /**
     * Under lock: as {@link #openNow(MirrorSettings)}, with its legs named by URI connected already
     * through the opener bound now, outside the lock (null: connected here).
     */
    private void openNow(MirrorSettings s, Connected connected) throws IOException {
        try {
            open(s, connected);
        } catch (LegUnreachableException e) {
            if (openRetry != null && openRetry.creating) {
                // A new mirror is not retried: whoever creates it learns why.
                refuse(e);
                throw e;
            }
            retryLater(e);
            return;
        } catch (IOException | RuntimeException e) {
            refuse(e);
            throw e;
        }
        notOpen(null);
        if (openRetry != null) {
            if (openRetry.failures > 0) {
                LOG.log(System.Logger.Level.INFO, "mirror '" + s.name() + "': its legs could be opened at attempt "
                        + (openRetry.failures + 1) + ": the mirror is open");
            }
            stopOpenRetry();
        }
    }

    /** Under lock: the retries end, and the status says the refusal, the exception's class with it. */
    private void refuse(Exception e) {
        stopOpenRetry();
        notOpen(e.getMessage() + " (refused: not tried again until a BlockDeviceOpener service is bound or the "
                + "configuration changes)", false, e.getClass().getName());
    }

    /**
     * Under lock, {@link #wanted} being the mirror's: its legs are opened on the retry thread, at
     * once (started now if there are no retries; brought forward if one waits for its time).
     *
     * @param creating a new mirror (refused if a leg cannot be opened, not retried)
     */
    private void openLater(boolean creating) {
        if (openRetry == null || openRetry.creating != creating) {
            stopOpenRetry();
            openRetry = new OpenRetry(wanted.name(), creating);
            notOpen("opening: its legs named by URI are being connected to", true);
        }
        openRetry.now();
    }

    /** Under lock: the mirror with URI legs waits for a BlockDeviceOpener service (logged, and its status says so). */
    private void waitForOpener(MirrorSettings s) {
        String why = "waiting for a BlockDeviceOpener service to open its legs named by URI (is kcopyd.impl started?)";
        LOG.log(System.Logger.Level.WARNING, "mirror '" + s.name() + "': " + why + ": the mirror opens when one is "
                + "bound");
        notOpen(why);
    }


    /**
     * Under lock: registers (or updates) the {@link Mirror#NOT_OPEN} status service saying why the
     * mirror is not open, or, with null, unregisters it (the mirror is open, or the component
     * goes). Nothing is registered before activation or after deactivation.
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
     * refused the mirror, which is not tried again by itself ({@link Mirror#NOT_OPEN_REFUSED} and
     * {@link Mirror#NOT_OPEN_EXCEPTION} set on the status), or null. {@link Mirror#NOT_OPEN_CREATING} is set
     * while the retries are a new mirror's.
     */
    private void notOpen(String reason, boolean retried, String refusedBy) {
        OpenRetry r = openRetry;
        String name = wanted != null ? wanted.name() : configuredName;
        status.set(context, active, name, reason, retried, refusedBy, r != null && r.creating);
    }

    /**
     * Under lock, {@link #wanted} being the mirror's: a leg of the existing mirror could not be
     * opened; the retries try again after their next delay (started now if there are none). The
     * first failure is warned about with the plan, later ones only when the cause changes; the
     * not-open status says the cause and the attempts.
     */
    private void retryLater(LegUnreachableException e) {
        String cause = e.getCause() == null ? e.getMessage() : String.valueOf(e.getCause().getMessage());
        if (openRetry == null) {
            openRetry = new OpenRetry(wanted.name(), false);
        }
        OpenRetry r = openRetry;
        r.failures++;
        boolean changed = !cause.equals(r.cause);
        r.cause = cause;
        long delay = r.next();
        if (r.failures == 1) {
            LOG.log(System.Logger.Level.WARNING, e.getMessage() + "; the region log " + wanted.regionLog() + " ("
                    + wanted.regionLogId() + ") and the legs are left as they are and the mirror is tried again in "
                    + seconds(Duration.ofMillis(delay)) + ", then at growing intervals up to " + seconds(maxOpenRetry)
                    + ", until the leg can be opened");
        } else {
            LOG.log(changed ? System.Logger.Level.WARNING : System.Logger.Level.DEBUG, e.getMessage() + " (attempt "
                    + r.failures + "; tried again in " + seconds(Duration.ofMillis(delay)) + ")");
        }
        notOpen(e.getMessage(), true);
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    /** Under lock: ends the retries, if any: no attempt starts afterwards, and their thread ends. */
    private void stopOpenRetry() {
        if (openRetry != null) {
            openRetry.stopped = true;
            Thread probing = openRetry.probing ? openRetry.thread : null;
            if (probing != null) {
                // Its connections, which a silent server holds for the opener's timeout, are given up now: they held
                // the exports' claims meanwhile (H41 B1). While probing the thread only connects: nothing else closes.
                probing.interrupt();
            }
            // Not shutdownNow: an interrupt would close the files of an attempt under way on that thread.
            openRetry.scheduler.shutdown();
            openRetry = null;
        }
    }

    /**
     * The attempts to open a mirror with legs named by URI, on a daemon thread of its own: the
     * first at once when started by {@link #openLater}, the next ones (an existing mirror's only)
     * after each delay of a {@link Backoff}. An attempt first connects to the legs named by URI
     * ({@link OpenedMirror#connect}) without holding {@link #lock}, and the mirror then opens on
     * those connections: a server that accepts the
     * connection and never answers holds only this thread, for the opener's timeout, not whoever
     * deactivates, reconfigures or rebinds the component meanwhile. If a leg could not be opened,
     * the next attempt is scheduled ({@link #retryLater}); any other failure to connect refuses the
     * mirror without connecting again; else, under the lock and unless stopped meanwhile, the
     * mirror is opened with the settings wanted ({@link #openNow}) on those connections (if the
     * settings or the opener changed meanwhile, they are closed and the next attempt starts at once
     * with them). The retries end at the first attempt that does not fail with
     * {@link LegUnreachableException} (logged as an error if refused), or when
     * {@link #stopOpenRetry()} stops them: at any other opening or waiting, a modification, the
     * opener's unbinding and deactivation.
     */
    private final class OpenRetry extends NotOpenStatus.Attempts {
        final ScheduledThreadPoolExecutor scheduler;
        final Backoff backoff;
        /** A new mirror's: its first failure refuses it, whatever it is. */
        final boolean creating;
        /** Set by {@link #stopOpenRetry()}. Guarded by lock. */
        boolean stopped;
        /** The opener's reason at the last failure, to warn again only when it changes. Guarded by lock. */
        String cause;
        /** The legs are being probed, outside the lock: nothing this thread does then needs waiting for. */
        volatile boolean probing;
        /** The scheduler's thread, once started. */
        volatile Thread thread;
        /** The attempt that may run: one scheduled earlier finds it changed and does nothing. Guarded by lock. */
        long ticket;


        OpenRetry(String name, boolean creating) {
            this.creating = creating;
            scheduler = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "kcopyd-mirror-" + name + "-open-retry");
                t.setDaemon(true);
                thread = t;
                return t;
            });
            // Stopped, it drops the attempt it waits for, and its thread ends at once.
            scheduler.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
            backoff = new Backoff(scheduler, firstOpenRetry, maxOpenRetry);
        }

        /** Under lock: schedules the next attempt after the next delay; returns that delay in milliseconds. */
        long next() {
            long delay = backoff.peek();
            nextAttemptNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delay);
            long mine = ++ticket;
            backoff.retry(() -> attempt(mine));
            return delay;
        }

        /** Under lock: an attempt now, instead of the one waiting for its time. */
        void now() {
            long mine = ++ticket;
            try {
                scheduler.execute(() -> attempt(mine));
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                // Stopped meanwhile: no attempt is wanted.
            }
        }

        private void attempt(long mine) {
            MirrorSettings s;
            BlockDeviceOpener using;
            synchronized (lock) {
                if (stopped || !active || opened != null || mine != ticket) {
                    return;
                }
                s = wanted;
                using = opener;
                underWay = true;
                probing = true;
            }
            LegUnreachableException unreachable = null;
            Exception refused = null;
            Connected connected = null;
            try {
                connected = new Connected(using, OpenedMirror.connect(s, using));
            } catch (LegUnreachableException e) {
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
                boolean current = s == wanted && using == opener;
                try {
                    if (stopped || !active || opened != null) {
                        return;
                    }
                    if (!current) {
                        // The settings or the opener changed meanwhile: an attempt with them, at once.
                        now();
                        return;
                    }
                    if (unreachable != null) {
                        retryLater(unreachable);
                        return;
                    }
                    String attempt = creating ? "': not made" : "': not opened at attempt " + (failures + 1)
                            + ", no more attempts";
                    if (refused != null) {
                        refuse(refused);
                        Refusals.log(LOG, "mirror '" + wanted.name() + attempt, refused);
                        return;
                    }
                    try {
                        openNow(wanted, connected);
                    } catch (IOException | RuntimeException e) {
                        Refusals.log(LOG, "mirror '" + wanted.name() + attempt, e);
                    }
                } finally {
                    if (connected != null) {
                        connected.closeUnused();
                    }
                }
            }
        }
    }

    /**
     * The bound opener, with the legs named by URI connected already (outside the lock): an
     * opening asking for one of them gets it, once; anything else goes to the opener. Those not
     * taken are closed after the opening.
     */
    private static final class Connected implements BlockDeviceOpener {
        private final BlockDeviceOpener opener;
        private final Map<URI, BlockDevice> devices;

        Connected(BlockDeviceOpener opener, Map<URI, BlockDevice> devices) {
            this.opener = opener;
            this.devices = devices;
        }

        @Override
        public BlockDevice open(Path path, DeviceOption... options) throws IOException {
            return opener.open(path, options);
        }

        @Override
        public BlockDevice open(URI uri, DeviceOption... options) throws IOException {
            BlockDevice d = devices.remove(uri);
            return d != null ? d : opener.open(uri, options);
        }

        @Override
        public BlockDevice create(Path path, long sizeInSectors, DeviceOption... options)
                throws IOException {
            return opener.create(path, sizeInSectors, options);
        }

        void closeUnused() {
            for (BlockDevice d : devices.values()) {
                try {
                    d.close();
                } catch (IOException e) {
                    // Nothing was written through it.
                }
            }
            devices.clear();
        }
    }

    private void open(MirrorSettings s, Connected connected) throws IOException {
        String name = s.name();
        BlockDeviceOpener using = s.legs().stream().anyMatch(MirrorSettings::isUriLeg) ? opener : null;
        BlockDeviceOpener legs = using != null && connected != null ? connected : using;
        retries = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kcopyd-mirror-" + name + "-retry");
            t.setDaemon(true);
            return t;
        });
        try {
            BundleContext bundleContext = context;
            opened = OpenedMirror.open(s, deviceName -> lease(bundleContext, deviceName), legs,
                    new ResyncClients(kcopyd, urgent), new Backoff(retries, FIRST_RETRY, MAX_RETRY));
        } catch (IOException | RuntimeException e) {
            retries.shutdownNow();
            retries = null;
            throw e;
        }
        openedWith = using;
        MirrorVolume mirror = opened.volume();
        settings = s.withRegionLogId(mirror.regionLogId());
        // A reopening (the opener replaced) adopts this log, whatever the configuration says yet.
        wanted = settings;
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Mirror.NAME, name);
        props.put(Mirror.LEGS, s.legs().toArray(new String[0]));
        props.put(Mirror.REGION_LOG, s.regionLog().toString());
        props.put(Mirror.REGION_LOG_ID, mirror.regionLogId().toString());
        for (KcopydClientFactory factory : factories) {
            // A fresh client per open: its throttle is named after the (possibly new) mirror name.
            kcopyd.unbind(factory);
            kcopyd.bind(factory);
        }
        // Started before it is published, so that whoever finds it sees its resync already planned; said open
        // before it is published, so that whoever finds it does not read the refusal of the configuration before.
        mirror.start();
        notOpen(null);
        mirrorRegistration = context.registerService(Mirror.class, mirror, props);
        props.put(BlockDevice.ROLE, Mirror.ROLE_MIRROR);
        deviceRegistration = context.registerService(BlockDevice.class, mirror.device(), props);
        if (!mirror.regionLogId().equals(s.regionLogId()) || s.format() || creating != null
                || !s.resyncLegs().isEmpty()) {
            recordLogIdentity(mirror.regionLogId());
        }
    }

    /**
     * Writes the identity of a log made just now into the configuration (and clears format), so
     * that the next activation adopts it and formats nothing, and clears the creation mark: the
     * mirror is made. Failing that, the mirror works, but its next activation refuses the file until
     * the identity, logged here, is set by hand (and the mark removed).
     */
    private void recordLogIdentity(UUID id) {
        String failure;
        ConfigurationAdmin cm = configurationAdmin;
        try {
            Configuration[] found = cm == null || pid == null ? null
                    : cm.listConfigurations("(" + Constants.SERVICE_PID + "=" + escape(pid) + ")");
            if (found != null) {
                Dictionary<String, Object> props = found[0].getProperties();
                props.put(Mirror.CONFIG_REGION_LOG_ID, id.toString());
                props.remove(Mirror.CONFIG_FORMAT);
                props.remove(Mirror.CONFIG_CREATING);
                props.remove(Mirror.CONFIG_RESYNC_LEGS);
                found[0].update(props);
                creating = null;
                return;
            }
            failure = cm == null ? "no ConfigurationAdmin service" : "the configuration " + pid + " is gone";
        } catch (IOException | InvalidSyntaxException | IllegalStateException e) {
            failure = e.toString();
        }
        LOG.log(System.Logger.Level.WARNING, "mirror '" + settings.name() + "' made region log " + id + " at "
                + settings.regionLog() + " but could not record its identity in the configuration (" + failure
                + "): set " + Mirror.CONFIG_REGION_LOG_ID + "=" + id + " there" + (creating == null ? "" : " and remove "
                + Mirror.CONFIG_CREATING) + ", or the log will not be reopened");
    }

    /**
     * A {@code service:NAME} leg: a {@link BlockDevice} service with {@value BlockDevice#NAME}={@code NAME}
     * (a remote volume, another bundle's device), held while the mirror is open.
     */
    private static OpenedMirror.Lease lease(BundleContext context, String deviceName) {
        try {
            for (ServiceReference<BlockDevice> ref : context.getServiceReferences(BlockDevice.class,
                    "(" + BlockDevice.NAME + "=" + escape(deviceName) + ")")) {
                BlockDevice device = context.getService(ref);
                if (device != null) {
                    return new OpenedMirror.Lease(device, ref.getProperty(org.osgi.framework.Constants.SERVICE_ID),
                            () -> context.ungetService(ref));
                }
            }
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("device name '" + deviceName + "' makes an invalid filter", e);
        }
        return null;
    }

    /** Escapes what an LDAP filter value gives a meaning to: a name is matched literally. */
    static String escape(String value) {
        StringBuilder b = new StringBuilder();
        for (char c : value.toCharArray()) {
            if (c == '\\' || c == '*' || c == '(' || c == ')') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }

    /**
     * The throttle and error handling apply at once; a change of name, legs, region size, log or
     * log identity closes the mirror and opens it again with the new configuration (an added or
     * replaced leg is then resynchronised fully, dirty regions are resynchronised). A refused
     * configuration (a bad value, or another identity for the open log's file, whether or not it
     * asks to format it) changes nothing: the mirror goes on as it was; one whose legs or log are
     * refused when opened leaves the mirror closed, with the reason logged. The log's identity being
     * recorded (and format cleared) changes nothing.
     */
    @Modified
    void modified(BundleContext bundleContext, MirrorConfiguration configuration, Map<String, Object> properties)
            throws IOException {
        synchronized (lock) {
            context = bundleContext;
            try {
                reconfigure(configuration, properties);
            } catch (IOException | RuntimeException e) {
                // An open mirror goes on as it was (DS logs the refusal); a closed one says it (see refused).
                if (opened != null || !refused(properties, e)) {
                    throw e;
                }
            }
        }
    }

    private void reconfigure(MirrorConfiguration configuration, Map<String, Object> properties) throws IOException {
        pid = (String) properties.get(Constants.SERVICE_PID);
        refuseNonNumbers(properties);
        creating = requireCreatedHere(properties);
        MirrorSettings next = MirrorSettings.of(configuration);
        MirrorSettings old = settings;
        if (old != null && next.regionLogId() != null && !next.regionLogId().equals(old.regionLogId())
                && sameFile(old.regionLog(), next.regionLog())) {
            throw new IllegalArgumentException("mirror '" + next.name() + "': configuration refused, the mirror goes on "
                    + "as it was: " + next.regionLog() + " is its region log " + old.regionLogId() + " and the new "
                    + "configuration names " + Mirror.CONFIG_REGION_LOG_ID + " " + next.regionLogId() + " (set "
                    + Mirror.CONFIG_REGION_LOG_ID + "=" + old.regionLogId() + "; a kcopyd region log is never "
                    + "formatted, not even with " + Mirror.CONFIG_FORMAT + "=true)");
        }
        if (old == null || old.structurallyDifferent(next)) {
            closeMirror();
            // Retries of the previous configuration end: the new one's first failure starts its own.
            stopOpenRetry();
            openOrWait(next);
            return;
        }
        UUID id = opened.volume().regionLogId();
        settings = next.withRegionLogId(id);
        wanted = settings;
        for (KcopydClientFactory factory : factories) {
            applyThrottle(factory.throttle("mirror-" + next.name()), next);
        }
        if (next.regionLogId() == null || next.format() || creating != null) {
            recordLogIdentity(id);
        }
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return a.equals(b) || Files.exists(b) && FileClaims.identityOf(a).equals(FileClaims.identityOf(b));
        } catch (IOException e) {
            // Not known to be the same: opening it will tell.
            return false;
        }
    }

    /**
     * Closes the mirror (see {@link #closeMirror()}) and ends the retries of its legs, if any: no
     * attempt starts afterwards (one under way finished before, holding the lock), and their thread
     * has ended, or ends at once, when this returns.
     */
    @Deactivate
    void deactivate() {
        OpenRetry retrying;
        synchronized (lock) {
            active = false;
            retrying = openRetry;
            stopOpenRetry();
            notOpen(null);
            closeMirror();
        }
        kcopyd.close();
        urgent.close();
        // A thread probing the legs (outside the lock) opens nothing afterwards: it sees itself stopped.
        if (retrying != null && retrying.thread != Thread.currentThread() && !retrying.probing) {
            try {
                // Its waiting attempt is dropped: the thread ends as soon as it sees that.
                retrying.scheduler.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Under lock: unregisters the services and closes the mirror (draining it), if open. */
    private void closeMirror() {
        if (deviceRegistration != null) {
            deviceRegistration.unregister();
            mirrorRegistration.unregister();
            deviceRegistration = null;
            mirrorRegistration = null;
        }
        if (opened != null) {
            opened.close();
            opened = null;
            openedWith = null;
        }
        if (retries != null) {
            retries.shutdownNow();
            retries = null;
        }
        settings = null;
    }
}
