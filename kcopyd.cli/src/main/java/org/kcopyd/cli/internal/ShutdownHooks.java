package org.kcopyd.cli.internal;

/**
 * Where a command registers the JVM shutdown hook that reports a job interrupted by Ctrl-C or
 * SIGTERM (the runtime has no signal handling a bundle could use cleanly). Tests run the hook
 * themselves instead.
 */
interface ShutdownHooks {

    /** The JVM's shutdown hooks. */
    ShutdownHooks RUNTIME = new ShutdownHooks() {
        @Override
        public void add(Thread hook) {
            try {
                Runtime.getRuntime().addShutdownHook(hook);
            } catch (IllegalStateException e) {
                // Shutting down already: the job is being torn down with the JVM and the hook could not run.
            }
        }

        @Override
        public void remove(Thread hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // Shutting down: the hook is running or has run, and the JVM discards it.
            }
        }
    };

    /** Registers {@code hook} while a job runs. */
    void add(Thread hook);

    /** Removes it when the job is over. */
    void remove(Thread hook);
}
