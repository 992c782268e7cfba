package org.kcopyd.impl.engine;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.ClientOptions;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydEngine;
import org.kcopyd.api.Throttle;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.device.UriProviders;

/**
 * The engine behind a client factory: the I/O threads, the page budget, the named throttles
 * and the clients created from it. Public for the OSGi component and the ServiceLoader
 * provider of this bundle; not exported.
 */
public final class Engine implements KcopydEngine {

    /** Name of the throttle used by clients created without one; configured by the settings. */
    public static final String DEFAULT_THROTTLE = "default";

    /** How long {@link #close()} lets accepted jobs finish before aborting them. */
    public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(30);

    private static final Duration ABORT_GRACE = Duration.ofSeconds(10);
    private static final AtomicInteger ENGINES = new AtomicInteger();

    private final String id;
    /** Where the engine's and its clients' notices go (in OSGi, the Log Service while one is bound). */
    private final System.Logger log;
    private final ThreadPoolExecutor io;
    private final ConcurrentHashMap<String, IoThrottle> throttles = new ConcurrentHashMap<>();
    private final Set<Client> clients = ConcurrentHashMap.newKeySet();
    /** The zero buffer each open client holds, released when the client ends. */
    private final Map<Client, ZeroBuffer> zeroUsers = new ConcurrentHashMap<>();
    /** Clients aborted by close(): their device I/O may outlive them. */
    private final Set<Client> aborted = ConcurrentHashMap.newKeySet();
    /** Every I/O thread ever started, so that close() can wait until each has really ended. */
    private final Set<Thread> ioThreads = ConcurrentHashMap.newKeySet();
    private final AtomicInteger clientNumbers = new AtomicInteger();
    private final Object budgetLock = new Object();
    private volatile EngineSettings settings;
    /** The zero buffer new clients get. Guarded by budgetLock. */
    private ZeroBuffer zeros;
    private volatile FileDeviceOpener devices;
    /** The providers of device URI schemes other than file:, shared by every opener of the engine. */
    private final UriProviders uriProviders;
    private int pagesReserved;
    private volatile boolean closed;

    /**
     * Starts an engine that writes its notices to the {@code System.Logger} of its class name.
     *
     * @param settings the settings
     */
    public Engine(EngineSettings settings) {
        this(settings, System.getLogger(Engine.class.getName()));
    }

    /**
     * Starts an engine: its I/O threads start now, each client's worker when it is created.
     *
     * @param settings the settings
     * @param log      where the engine and its clients write their notices (a job aborted at close, a
     *                 client's worker failing, a completion callback that threw)
     */
    public Engine(EngineSettings settings, System.Logger log) {
        this(settings, log, new UriProviders());
    }

    /**
     * Starts an engine whose device opener serves URIs through {@code uriProviders}.
     *
     * @param settings     the settings
     * @param log          where the engine and its clients write their notices
     * @param uriProviders the providers of URI schemes other than {@code file}; they may change while
     *                     the engine runs (OSGi services come and go)
     */
    public Engine(EngineSettings settings, System.Logger log, UriProviders uriProviders) {
        this.uriProviders = Objects.requireNonNull(uriProviders, "uriProviders");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.log = Objects.requireNonNull(log, "log");
        this.id = "e" + ENGINES.incrementAndGet();
        AtomicInteger threadNumbers = new AtomicInteger();
        ThreadFactory threads = r -> {
            Thread t = new Thread(r, "kcopyd-io-" + id + "-" + threadNumbers.incrementAndGet());
            t.setDaemon(true);
            // TERMINATED, not "not alive": a thread made but not yet started is not alive either.
            ioThreads.removeIf(old -> old.getState() == Thread.State.TERMINATED);
            ioThreads.add(t);
            return t;
        };
        this.io = new ThreadPoolExecutor(settings.ioThreads(), settings.ioThreads(), 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), threads);
        this.zeros = new ZeroBuffer(settings.subJobKiB() * 1024);
        this.devices = opener(settings.directIo());
        applyDefaultThrottle(settings);
    }

    private FileDeviceOpener opener(boolean direct) {
        return new FileDeviceOpener(direct, "open for writing through kcopyd", uriProviders);
    }

    @Override
    public KcopydClient createClient(ClientOptions options) {
        Objects.requireNonNull(options, "options");
        EngineSettings s = settings;
        int pages = options.pages() == 0 ? s.defaultPages() : options.pages();
        if (pages > s.maxPagesPerClient()) {
            throw new IllegalArgumentException("pages " + pages + " is above the maximum " + s.maxPagesPerClient()
                    + " per client");
        }
        IoThrottle throttle = throttleFor(options.throttle());
        String name = options.name() != null ? options.name() : id + "-c" + clientNumbers.incrementAndGet();
        ZeroBuffer zero;
        synchronized (budgetLock) {
            ensureOpen();
            if (pagesReserved + pages > s.pageBudget()) {
                throw new IllegalStateException("page budget exhausted: client '" + name + "' asks for " + pages
                        + " pages, " + pagesReserved + " of the budget " + s.pageBudget() + " are reserved by "
                        + clients.size() + " clients");
            }
            pagesReserved += pages;
            zero = zeros;
            zero.retain();
        }
        try {
            Client client = new Client(this::clientClosed, log, name, pages, throttle, io, zero, s.subJobKiB(),
                    s.subJobsPerJob(), s.maxDestinations(), s.maxQueuedJobs());
            zeroUsers.put(client, zero);
            clients.add(client);
            return client;
        } catch (RuntimeException | Error e) {
            releasePages(pages);
            zero.release(true);
            throw e;
        }
    }

    private IoThrottle throttleFor(Throttle requested) {
        if (requested == null) {
            return throttles.get(DEFAULT_THROTTLE);
        }
        if (requested instanceof IoThrottle t && throttles.get(t.name()) == t) {
            return t;
        }
        throw new IllegalArgumentException("throttle " + requested + " was not created by this factory");
    }

    private void clientClosed(Client client) {
        if (clients.remove(client)) {
            releasePages(client.pages());
        }
        ZeroBuffer zero = zeroUsers.remove(client);
        if (zero != null) {
            zero.release(!aborted.remove(client));
        }
    }

    private void releasePages(int pages) {
        synchronized (budgetLock) {
            pagesReserved -= pages;
        }
    }

    @Override
    public Throttle throttle(String name) {
        Objects.requireNonNull(name, "throttle name");
        return throttles.computeIfAbsent(name, IoThrottle::new);
    }

    @Override
    public EngineSettings settings() {
        return settings;
    }

    @Override
    public BlockDeviceOpener devices() {
        return devices;
    }

    /** @return the file opener of the current configuration, with its claim-aware methods */
    public FileDeviceOpener fileDevices() {
        return devices;
    }

    /** @return pages reserved by the open clients */
    public int pagesReserved() {
        synchronized (budgetLock) {
            return pagesReserved;
        }
    }

    /**
     * @param client a client
     * @return true if it was created by this engine and has not finished closing
     */
    public boolean isOpen(KcopydClient client) {
        return clients.contains(client);
    }

    /** @return the open clients */
    public List<KcopydClient> clients() {
        return new ArrayList<>(clients);
    }

    @Override
    public void reconfigure(EngineSettings newSettings) {
        Objects.requireNonNull(newSettings, "settings");
        EngineSettings old = settings;
        settings = newSettings;
        int threads = newSettings.ioThreads();
        if (threads > io.getMaximumPoolSize()) {
            io.setMaximumPoolSize(threads);
            io.setCorePoolSize(threads);
        } else {
            io.setCorePoolSize(threads);
            io.setMaximumPoolSize(threads);
        }
        if (newSettings.subJobKiB() != old.subJobKiB()) {
            ZeroBuffer retired = null;
            synchronized (budgetLock) {
                if (!closed) {
                    retired = zeros;
                    zeros = new ZeroBuffer(newSettings.subJobKiB() * 1024);
                }
            }
            if (retired != null) {
                // The clients using it keep it until they end.
                retired.release(true);
            }
        }
        if (newSettings.directIo() != old.directIo()) {
            devices = opener(newSettings.directIo());
        }
        applyDefaultThrottle(newSettings);
        for (Client client : clients) {
            client.admission().setLimit(newSettings.maxQueuedJobs());
        }
    }

    private void applyDefaultThrottle(EngineSettings s) {
        Throttle t = throttle(DEFAULT_THROTTLE);
        t.setIoPercent(s.throttleIoPercent());
        t.setBytesPerSecond(s.throttleBytesPerSecond());
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("kcopyd engine " + id + " is closed");
        }
    }

    /**
     * Closes every client: each finishes its accepted jobs; a client still busy after
     * {@code timeout} is aborted (its remaining jobs complete with every destination reported
     * failed). Then stops the I/O threads.
     *
     * @param timeout how long accepted jobs may take to finish
     * @return true if every job finished normally and every thread ended
     */
    public boolean close(Duration timeout) {
        ZeroBuffer zero;
        synchronized (budgetLock) {
            zero = closed ? null : zeros;
            closed = true;
        }
        List<Client> open = new ArrayList<>(clients);
        List<CompletableFuture<Void>> closing = new ArrayList<>();
        for (Client client : open) {
            closing.add(client.closeAsync().toCompletableFuture());
        }
        CompletableFuture<Void> all = CompletableFuture.allOf(closing.toArray(new CompletableFuture<?>[0]));
        boolean clean = true;
        try {
            all.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            clean = false;
            for (Client client : open) {
                if (!client.isTerminated()) {
                    log.log(System.Logger.Level.WARNING, "kcopyd client '" + client.name()
                            + "' did not finish its jobs within " + timeout + "; aborting them");
                    aborted.add(client);
                    client.abort();
                }
            }
            clean &= awaitQuietly(all, ABORT_GRACE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            clean = false;
        } catch (ExecutionException e) {
            clean = false;
        }
        for (Client client : open) {
            clean &= client.joinWorker(ABORT_GRACE.toMillis());
        }
        if (zero != null) {
            // The engine's own hold; clients still open hold theirs.
            zero.release(true);
        }
        io.shutdown();
        try {
            clean &= io.awaitTermination(ABORT_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            for (Thread t : ioThreads) {
                t.join(ABORT_GRACE.toMillis());
                clean &= !t.isAlive();
            }
            return clean;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static boolean awaitQuietly(CompletableFuture<Void> f, Duration d) {
        try {
            f.get(d.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException | ExecutionException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Closes, giving accepted jobs up to {@link #DEFAULT_CLOSE_TIMEOUT} to finish. */
    @Override
    public void close() {
        close(DEFAULT_CLOSE_TIMEOUT);
    }

    @Override
    public String toString() {
        return "KcopydEngine[" + id + ", " + settings + "]";
    }
}
