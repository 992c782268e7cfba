package org.kcopyd.runtime.client;

/**
 * Where a waiting command registers the JVM shutdown hook that speaks when SIGTERM or SIGINT (Ctrl-C)
 * ends the client while it waits: the JVM runs the shutdown hooks, then exits with 143 or 130, and
 * a Java program has no other portable way to see a signal. Tests give their own and run the hook
 * themselves, as the JVM would.
 */
interface ShutdownHooks {

    /** The JVM's shutdown hooks. */
    ShutdownHooks RUNTIME = new ShutdownHooks() {
        @Override
        public void add(Thread hook) {
            try {
                Runtime.getRuntime().addShutdownHook(hook);
            } catch (IllegalStateException e) {
                // Shutting down already: the process ends before the wait would.
            }
        }

        @Override
        public void remove(Thread hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // Shutting down: the hook is running or has run.
            }
        }
    };

    /** Registers {@code hook} while a command waits. */
    void add(Thread hook);

    /** Removes it when the wait is over. */
    void remove(Thread hook);
}
