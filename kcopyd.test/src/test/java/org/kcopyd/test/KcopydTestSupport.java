package org.kcopyd.test;

import org.ops4j.pax.exam.CoreOptions;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.options;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import javax.inject.Inject;

import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.util.tracker.ServiceTracker;

/**
 * What every in-framework test shares: the framework's contents (the reactor's bundles by path,
 * Felix SCR, Config Admin, Metatype; Felix Log on Felix, Equinox's own log on Equinox) and a
 * few helpers to look up services and wait for conditions with a timeout.
 */
public abstract class KcopydTestSupport {

    static final long TIMEOUT_MS = 20_000;

    @Inject
    protected BundleContext context;

    @Configuration
    public Option[] framework() {
        List<Option> options = new ArrayList<>(List.of(
                systemProperty("org.ops4j.pax.logging.DefaultServiceLog.level").value("WARN"),
                junitBundles(),
                bundleAt("bundle.promise"), bundleAt("bundle.function"), bundleAt("bundle.component"),
                bundleAt("bundle.scr"), bundleAt("bundle.configadmin"), bundleAt("bundle.metatype"),
                bundleAt("bundle.kcopyd.api"), bundleAt("bundle.kcopyd.device"), bundleAt("bundle.kcopyd.impl"),
                bundleAt("bundle.kcopyd.snapshot"), bundleAt("bundle.kcopyd.mirror"),
                bundleAt("bundle.kcopyd.testbundle"), bundleAt("bundle.kcopyd.testdevices")));
        if (!"equinox".equals(System.getProperty("kcopyd.test.framework"))) {
            // Equinox has a Log Service built in; Felix needs one.
            options.add(0, bundleAt("bundle.logapi"));
            options.add(1, bundleAt("bundle.log"));
        }
        return options(options.toArray(new Option[0]));
    }

    private static Option bundleAt(String property) {
        String path = System.getProperty(property);
        if (path == null) {
            throw new IllegalStateException("system property " + property + " is not set: run through Maven");
        }
        return CoreOptions.bundle(new File(path).toURI().toString());
    }

    /** @return the names of the live threads of kcopyd engines (workers "kcopyd-CLIENT", "kcopyd-io-…") */
    protected static List<String> kcopydThreads() {
        List<String> names = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive() && t.getName().startsWith("kcopyd-")) {
                names.add(t.getName());
            }
        }
        return names;
    }

    /** @return the installed bundle of that symbolic name */
    protected Bundle bundle(String symbolicName) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError("bundle " + symbolicName + " is not installed");
    }

    /** Waits for a service; fails after the timeout. The tracker stays open until the test ends. */
    protected <T> T service(Class<T> type) throws InterruptedException {
        ServiceTracker<T, T> tracker = new ServiceTracker<>(context, type, null);
        tracker.open();
        trackers.add(tracker);
        T service = tracker.waitForService(TIMEOUT_MS);
        if (service == null) {
            throw new AssertionError(type.getName() + " not registered within " + TIMEOUT_MS + " ms");
        }
        return service;
    }

    /** @return the reference of the one registered service of that type (waiting for it) */
    protected <T> ServiceReference<T> reference(Class<T> type) throws InterruptedException {
        service(type);
        return context.getServiceReference(type);
    }

    private final List<ServiceTracker<?, ?>> trackers = new ArrayList<>();

    @org.junit.After
    public void closeTrackers() {
        trackers.forEach(ServiceTracker::close);
    }

    /**
     * Polls a condition every 5 ms until it holds (as Awaitility would); fails with {@code what}
     * after the timeout. For outcomes that no service event or future announces.
     */
    protected static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + TIMEOUT_MS + " ms waiting for " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
    }
}
