package org.kcopyd.cli.internal;

import java.util.List;
import java.util.Locale;

import org.kcopyd.device.FileErrors;

/**
 * What a job did to each destination: complete (every byte written, and flushed when asked),
 * failed (writing or flushing it failed, with the cause), or incomplete (it was not written to the
 * end because the job stopped at another error, or unreadable source chunks were written as
 * zeros). Without {@code --ignore-errors} a job stops at its first error, so every destination
 * that did not fail itself is incomplete.
 */
final class Outcome {

    /** A destination's state, as reported. */
    enum State {
        COMPLETE, INCOMPLETE, FAILED;

        String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final String source;
    private final List<Target> targets;
    private final Throwable readFailure;
    private final Throwable[] writeFailures;
    private final boolean ignoreErrors;
    /** Per destination, why what was written is not at its name (found after the job), or null. */
    private final String[] lost;

    /**
     * @param source        the source's name, or null for a zero job
     * @param targets       the destinations
     * @param readFailure   the first read failure, or null
     * @param writeFailures per destination, its first write or flush failure, or null
     * @param ignoreErrors  whether the job went on after errors
     */
    Outcome(String source, List<Target> targets, Throwable readFailure, Throwable[] writeFailures,
            boolean ignoreErrors) {
        this.source = source;
        this.targets = targets;
        this.readFailure = readFailure;
        this.writeFailures = writeFailures.clone();
        this.ignoreErrors = ignoreErrors;
        this.lost = new String[writeFailures.length];
    }

    private Outcome(Outcome o, String[] lost) {
        this(o.source, o.targets, o.readFailure, o.writeFailures, o.ignoreErrors);
        System.arraycopy(lost, 0, this.lost, 0, lost.length);
    }

    /**
     * @return this outcome with destination {@code i} failed after the job for {@code why}: its file
     *         was removed or replaced while it was written, so what was written is not at its name
     *         (the other destinations keep their states: the job itself went on to the end)
     */
    Outcome losing(int i, String why) {
        String[] l = lost.clone();
        l[i] = why;
        return new Outcome(this, l);
    }

    private int firstLost() {
        for (int i = 0; i < lost.length; i++) {
            if (lost[i] != null) {
                return i;
            }
        }
        return -1;
    }

    State state(int i) {
        if (writeFailures[i] != null || lost[i] != null) {
            return State.FAILED;
        }
        return readFailure != null || !ignoreErrors && firstFailed() >= 0 ? State.INCOMPLETE : State.COMPLETE;
    }

    /** @return why destination {@code i} is not complete, or null if it is */
    String reason(int i) {
        if (writeFailures[i] != null) {
            return FileErrors.reason(writeFailures[i]);
        }
        if (lost[i] != null) {
            return lost[i];
        }
        if (readFailure != null) {
            return ignoreErrors ? "the source could not be read in places; zeros were written there"
                    : "the copy stopped at the read error before reaching the end";
        }
        int failed = firstFailed();
        return ignoreErrors || failed < 0 ? null
                : "the job stopped at the write error on " + targets.get(failed).name() + " before reaching the end";
    }

    private int firstFailed() {
        for (int i = 0; i < writeFailures.length; i++) {
            if (writeFailures[i] != null) {
                return i;
            }
        }
        return -1;
    }

    boolean isSuccess() {
        return readFailure == null && firstFailed() < 0 && firstLost() < 0;
    }

    int exitCode() {
        if (readFailure != null) {
            return Exit.READ_ERROR;
        }
        return firstFailed() >= 0 || firstLost() >= 0 ? Exit.WRITE_ERROR : Exit.OK;
    }

    /** @return the first failure in words, or null on success */
    String message() {
        if (readFailure != null) {
            return "reading " + source + " failed: " + FileErrors.reason(readFailure);
        }
        int failed = firstFailed();
        if (failed >= 0) {
            return "writing " + targets.get(failed).name() + " failed: " + FileErrors.reason(writeFailures[failed]);
        }
        int gone = firstLost();
        return gone < 0 ? null : "writing " + targets.get(gone).name() + " failed: " + lost[gone];
    }

    /** @return the source's read failure, or null */
    Throwable readFailure() {
        return readFailure;
    }
}
