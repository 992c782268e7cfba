package org.kcopyd.daemon.internal.osgi;

import sun.misc.Signal;

/**
 * SIGTERM and SIGINT handlers through {@code sun.misc.Signal} (module jdk.unsupported, exported to
 * bundles by the runtime's framework): they replace the JVM's default handlers, which would exit with
 * 143 or 130 without stopping the framework. Kept in its own class so that a framework without
 * {@code sun.misc} fails only here, with a {@link LinkageError}.
 */
final class Signals {

    private Signals() {
    }

    /** Runs {@code action} (on a JVM signal thread) at each SIGTERM or SIGINT. */
    static void onTermAndInt(Runnable action) {
        Signal.handle(new Signal("TERM"), signal -> action.run());
        Signal.handle(new Signal("INT"), signal -> action.run());
    }
}
