package org.kcopyd.bench;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;

/**
 * How often each program of a scenario runs: untimed warm-up runs first, then {@code timed} runs
 * of which the best counts. The untimed runs let the JIT compile the engine's code (the state of a
 * daemon or an OSGi service that has copied before) and put the peers' programs and data in the
 * page cache.
 *
 * <p><b>Until the JIT is quiet</b> ({@link #AUTO}, the default): one untimed run of every program,
 * then more of the scenario's kcopyd part alone ({@link Loop#peers()} false) until the JIT compiled
 * for less than {@value #QUIET_SHARE} of the wall time of {@value #QUIET_RUNS} runs in a row, at most
 * {@value #MOST_WARMUPS} in all. Measured on 2 cores (BENCHMARKS.md, stop 30): the HotSpot compilers spent 1.5 s of a
 * kcopyd NBD copy's 1.4 s, then 200-500 ms of each of the next seven copies of about 0.6 s, on the
 * same two cores the copy, nbdkit and nbdcopy need; one warm-up run timed the compiler as much as
 * the engine. A fixed count ({@code --warmup N}) runs every program exactly N times untimed, as
 * earlier reports did; {@code --warmup 0} times cold runs.
 *
 * <p>A scenario loops with {@link #loop}: {@code for (Runs.Loop run = runs.loop(NAME); run.next();)}.
 * When a loop ends it tells the reporter given to the constructor how many warm-up runs it made.
 */
final class Runs {

    /** Warm up until the JIT is quiet; see the class comment. */
    static final int AUTO = -1;
    /** The share of a run's wall time spent compiling under which the JIT is taken as quiet. */
    static final double QUIET_SHARE = 0.05;
    /** Warm-up runs in a row under {@link #QUIET_SHARE} that make the JIT quiet: it compiles in bursts. */
    static final int QUIET_RUNS = 2;
    /** The most warm-up runs of {@link #AUTO}. */
    static final int MOST_WARMUPS = 12;

    private final int warmup;
    private final int timed;
    private final LongSupplier compileMillis;
    private final LongSupplier nanos;
    private final BiConsumer<String, Loop> reporter;

    /**
     * With the JVM's compilation time and clock.
     *
     * @param warmup   untimed runs of each program, 0 or more, or {@link #AUTO}
     * @param timed    timed runs of each program, 1 or more
     * @param reporter told of each loop that ended, with the scenario's name
     */
    Runs(int warmup, int timed, BiConsumer<String, Loop> reporter) {
        this(warmup, timed, reporter, jvmCompileMillis(), System::nanoTime);
    }

    /**
     * @param compileMillis the JVM's compilation time so far, in milliseconds (grows only)
     * @param nanos         a monotonic clock in nanoseconds
     */
    Runs(int warmup, int timed, BiConsumer<String, Loop> reporter, LongSupplier compileMillis, LongSupplier nanos) {
        if (warmup < AUTO || timed < 1) {
            throw new IllegalArgumentException("warm-up runs " + warmup + " (at least 0, or " + AUTO
                    + " for until the JIT is quiet) and timed runs " + timed + " (at least 1)");
        }
        this.warmup = warmup;
        this.timed = timed;
        this.reporter = reporter;
        this.compileMillis = compileMillis;
        this.nanos = nanos;
    }

    private static LongSupplier jvmCompileMillis() {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            // No JIT to wait for (an interpreter-only VM), or no way to tell: the minimum warm-up only.
            return () -> 0;
        }
        return jit::getTotalCompilationTime;
    }

    int timed() {
        return timed;
    }

    /** @return how the warm-up goes, for the report's first line */
    String describe() {
        if (warmup == AUTO) {
            return "best of " + timed + " after 1 untimed run of each program and more of kcopyd until the JIT "
                    + "compiles for under " + Math.round(QUIET_SHARE * 100) + "% of " + QUIET_RUNS
                    + " runs in a row (at most " + MOST_WARMUPS + " in all)";
        }
        return "best of " + timed + " after " + warmup + " untimed warm-up run" + (warmup == 1 ? "" : "s")
                + " of each program";
    }

    /** @return a new loop over one scenario's runs */
    Loop loop(String scenario) {
        return new Loop(scenario);
    }

    /** One scenario's runs; not thread-safe. */
    final class Loop {
        private final String scenario;
        private boolean started;
        private boolean timing;
        private int warmups;
        private int timedDone;
        private long startNanos;
        private long startCompile;
        private double lastShare = Double.NaN;
        /** Warm-up runs in a row, up to the last, in which the JIT compiled for under {@link #QUIET_SHARE}. */
        private int quietRuns;
        private long timedCompileMillis;

        private Loop(String scenario) {
            this.scenario = scenario;
        }

        /**
         * Ends the run before (if any) and starts the next.
         *
         * @return false once the timed runs are done (the reporter has then been told)
         */
        boolean next() {
            long now = nanos.getAsLong();
            long compiled = compileMillis.getAsLong();
            if (started) {
                double wall = Math.max(1e-9, (now - startNanos) / 1e9);
                if (timing) {
                    timedDone++;
                    timedCompileMillis += compiled - startCompile;
                } else {
                    warmups++;
                    lastShare = (compiled - startCompile) / 1e3 / wall;
                    quietRuns = lastShare < QUIET_SHARE ? quietRuns + 1 : 0;
                }
            }
            started = true;
            startNanos = now;
            startCompile = compiled;
            if (!timing && !warmingUp()) {
                timing = true;
            }
            if (timing && timedDone == timed) {
                reporter.accept(scenario, this);
                return false;
            }
            return true;
        }

        private boolean warmingUp() {
            if (warmup != AUTO) {
                return warmups < warmup;
            }
            return warmups < 1 || (quietRuns < QUIET_RUNS && warmups < MOST_WARMUPS);
        }

        /** @return true in a timed run */
        boolean timing() {
            return timing;
        }

        /**
         * @return true if the peers run in this run: every run but {@link #AUTO}'s warm-up runs after the first
         *         (the peers are native programs; only kcopyd's JIT needs them)
         */
        boolean peers() {
            return timing || warmups == 0 || warmup != AUTO;
        }

        /** @return the best so far after this run took {@code seconds}: a warm-up run does not count */
        double best(double best, double seconds) {
            return timing ? Math.min(best, seconds) : best;
        }

        /** @return the untimed runs made */
        int warmups() {
            return warmups;
        }

        /**
         * @return the warm-up runs made, the share of the last one's wall time the JIT compiled and its compilation
         *         time in the timed runs, for the report
         */
        String summary() {
            String share = Double.isNaN(lastShare) ? ""
                    : String.format(Locale.ROOT, ", the last %.0f%% JIT", lastShare * 100);
            return warmups + share + "; " + timedCompileMillis + " ms JIT in timed runs";
        }
    }
}
