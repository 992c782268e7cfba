package org.kcopyd.bench;

/**
 * How often each program of a scenario runs: {@code warmup} untimed runs first, then {@code timed}
 * runs of which the best counts. The untimed runs let the JIT compile the engine's code (the
 * state of a daemon or an OSGi service that has copied before) and put the peers' programs and
 * data in the page cache; {@code --warmup 0} times cold runs. Loops go from {@link #first()}
 * (negative while warming up) to {@link #timed()}.
 *
 * @param warmup untimed runs of each program, 0 or more
 * @param timed  timed runs of each program, 1 or more
 */
record Runs(int warmup, int timed) {

    Runs {
        if (warmup < 0 || timed < 1) {
            throw new IllegalArgumentException("warm-up runs " + warmup + " (at least 0) and timed runs " + timed
                    + " (at least 1)");
        }
    }

    /** @return the number of the first run: {@code -warmup} */
    int first() {
        return -warmup;
    }

    /** @return the best so far after run number {@code run} took {@code seconds}: a warm-up run does not count */
    double best(int run, double best, double seconds) {
        return run < 0 ? best : Math.min(best, seconds);
    }
}
