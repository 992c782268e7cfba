package org.kcopyd.cli.internal.verify;

/**
 * What reading one destination region back found.
 *
 * @param state                ok, mismatch, error or source error
 * @param firstDifferentSector for a mismatch, the first sector that differs, absolute on the
 *                             destination device; -1 otherwise
 * @param failure              for an error or a source error, why the comparison could not be
 *                             completed; null otherwise
 */
public record Verdict(State state, long firstDifferentSector, Throwable failure) {

    /** The outcome of one destination's comparison. */
    public enum State {
        /** Every byte of the region equals the source's. */
        OK,
        /** A byte differs; {@link Verdict#firstDifferentSector()} says where first. */
        MISMATCH,
        /** The destination could not be read where no difference had been found yet. */
        ERROR,
        /**
         * The source could not be read back where no difference had been found yet: the destination
         * is neither known to differ nor known to be equal.
         */
        SOURCE_ERROR
    }

    /** @return the region equals the source */
    public static Verdict ok() {
        return new Verdict(State.OK, -1, null);
    }

    /** @return a difference, first at {@code sector} (absolute on the destination) */
    public static Verdict mismatch(long sector) {
        return new Verdict(State.MISMATCH, sector, null);
    }

    /** @return the comparison could not be completed: the destination could not be read */
    public static Verdict error(Throwable failure) {
        return new Verdict(State.ERROR, -1, failure);
    }

    /** @return the comparison could not be completed: the source could not be read */
    public static Verdict sourceError(Throwable failure) {
        return new Verdict(State.SOURCE_ERROR, -1, failure);
    }
}
