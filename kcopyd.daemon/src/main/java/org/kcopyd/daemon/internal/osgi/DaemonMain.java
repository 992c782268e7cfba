package org.kcopyd.daemon.internal.osgi;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.util.Hashtable;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * The daemon's main program: registered as a {@code Callable} with {@code main.thread=true}, which the
 * bnd launcher runs on the main thread once every bundle has started, stopping the framework (bundles
 * stop cleanly: exports close, snapshots flush) and exiting with its result when it returns. It returns
 * 0 at SIGTERM or SIGINT (a service manager's normal stop), or 1 after printing why when the daemon
 * cannot run ({@link #stop}).
 *
 * <p>Thread-safe: {@link #stop} may be called from any thread, the first call wins.
 */
final class DaemonMain implements Callable<Integer> {

    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile int exitCode;
    private volatile String reason;
    private ServiceRegistration<?> registration;

    /**
     * Replaces the JVM's SIGTERM and SIGINT handlers: from now on they end the daemon with 0. Called
     * first at the bundle's start, before anything a client or service manager can see is written.
     */
    void handleSignals() {
        try {
            Signals.onTermAndInt(() -> stop(0, null));
        } catch (LinkageError | IllegalArgumentException e) {
            stop(1, "cannot handle SIGTERM and SIGINT (sun.misc.Signal): " + e);
        }
    }

    /** Registers the main program. */
    void register(BundleContext context) {
        Hashtable<String, Object> properties = new Hashtable<>();
        properties.put("main.thread", Boolean.TRUE);
        registration = context.registerService(Callable.class.getName(), this, properties);
    }

    /** Withdraws the main program. */
    void unregister() {
        if (registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the framework is stopping
            }
            registration = null;
        }
    }

    /**
     * Ends the daemon.
     *
     * @param code    the exit code
     * @param message printed to standard error as {@code kcopyd: MESSAGE}, or null
     */
    synchronized void stop(int code, String message) {
        if (stopped.getCount() == 0) {
            return;
        }
        exitCode = code;
        reason = message;
        stopped.countDown();
    }

    @Override
    public Integer call() throws InterruptedException {
        stopped.await();
        if (reason != null) {
            PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true);
            err.println("kcopyd: " + reason);
        }
        return exitCode;
    }
}
