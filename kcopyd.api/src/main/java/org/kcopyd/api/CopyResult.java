package org.kcopyd.api;

import java.util.Optional;

/**
 * The outcome of a job, as delivered to {@link CopyCallback} and through the stage returned
 * at submission. Immutable.
 *
 * <p>An I/O error is an outcome, not an exception: the stage completes normally with a
 * result whose {@link #readError()} or {@link #writeErrors()} say what failed.
 *
 * <p>Since 1.3.0 a result also says whether the job was {@linkplain #cancelled() cancelled}
 * (see {@link CopyJob#cancel()}) and which destinations do not hold the whole source region
 * ({@link #incompleteDestinations()}): those of a cancelled job, a destination whose write
 * failed, and every destination after a read error or a job stopped early by an error.
 */
public final class CopyResult {

    private final int destinations;
    private final boolean readError;
    private final long writeErrors;
    private final Throwable readFailure;
    private final Throwable[] writeFailures;
    private final boolean cancelled;
    private final long incompleteDestinations;

    private CopyResult(int destinations, Throwable readFailure, Throwable[] writeFailures) {
        this(destinations, readFailure, writeFailures, false, -1);
    }

    /** @param incomplete the incomplete bits, or -1 to derive them from the failures */
    private CopyResult(int destinations, Throwable readFailure, Throwable[] writeFailures, boolean cancelled,
            long incomplete) {
        this.destinations = destinations;
        this.readFailure = readFailure;
        this.readError = readFailure != null;
        this.writeFailures = writeFailures.clone();
        long bits = 0;
        for (int i = 0; i < this.writeFailures.length; i++) {
            if (this.writeFailures[i] != null) {
                bits |= 1L << i;
            }
        }
        this.writeErrors = bits;
        this.cancelled = cancelled;
        this.incompleteDestinations = incomplete != -1 ? incomplete
                : readFailure != null ? allDestinations(destinations) : bits;
    }

    private static long allDestinations(int destinations) {
        return destinations == 64 ? -1L : (1L << destinations) - 1;
    }

    /**
     * Builds a result.
     *
     * @param destinations  number of destinations of the job (0..64)
     * @param readFailure   the first read failure, or null if every read succeeded
     * @param writeFailures per destination, its first write or flush failure, or null;
     *                      length {@code destinations}
     * @return the result
     * @throws IllegalArgumentException if the array length differs from {@code destinations}
     *                                  or {@code destinations} is outside 0..64
     */
    public static CopyResult of(int destinations, Throwable readFailure, Throwable... writeFailures) {
        if (destinations < 0 || destinations > 64) {
            throw new IllegalArgumentException("destinations " + destinations + " outside 0..64");
        }
        if (writeFailures.length != destinations) {
            throw new IllegalArgumentException(writeFailures.length + " write outcomes for "
                    + destinations + " destinations");
        }
        return new CopyResult(destinations, readFailure, writeFailures);
    }

    /**
     * Builds the result of a job that may have been cancelled or stopped before its end: what an
     * engine reports. The plain {@link #of(int, Throwable, Throwable...)} is this with
     * {@code cancelled} false and the incomplete destinations derived from the failures.
     *
     * @param destinations           number of destinations of the job (0..64)
     * @param readFailure            the first read failure, or null if every read succeeded
     * @param writeFailures          per destination, its first write or flush failure, or null;
     *                               length {@code destinations}
     * @param cancelled              whether a cancel stopped the job with part of its region not copied
     * @param incompleteDestinations bit {@code i} set when {@code dests[i]} does not hold the whole
     *                               source region; must include every destination with a write
     *                               failure, and every destination when there is a read failure
     * @return the result
     * @throws IllegalArgumentException if {@code destinations} is outside 0..64, the array length
     *         differs from it, a bit names no destination, or the bits leave out a failed one
     */
    public static CopyResult of(int destinations, Throwable readFailure, Throwable[] writeFailures,
            boolean cancelled, long incompleteDestinations) {
        CopyResult plain = of(destinations, readFailure, writeFailures);
        long all = allDestinations(destinations);
        if ((incompleteDestinations & ~all) != 0) {
            throw new IllegalArgumentException("incomplete destinations 0x" + Long.toHexString(incompleteDestinations)
                    + " name a destination past the last of " + destinations);
        }
        if ((plain.incompleteDestinations & ~incompleteDestinations) != 0) {
            throw new IllegalArgumentException("incomplete destinations 0x" + Long.toHexString(incompleteDestinations)
                    + " leave out failed destinations 0x" + Long.toHexString(plain.incompleteDestinations)
                    + (readFailure != null ? " (a read failure leaves every destination incomplete)" : ""));
        }
        return new CopyResult(destinations, readFailure, writeFailures, cancelled, incompleteDestinations);
    }

    /**
     * Builds a result from the flags a caller passes to a prepared completion.
     *
     * @param readError   whether to report a read error
     * @param writeErrors write error bits
     * @return the result; its destination count is the highest set bit plus one
     */
    public static CopyResult ofFlags(boolean readError, long writeErrors) {
        Throwable[] writes = new Throwable[64 - Long.numberOfLeadingZeros(writeErrors)];
        for (int i = 0; i < writes.length; i++) {
            if ((writeErrors & (1L << i)) != 0) {
                writes[i] = new java.io.IOException("write error reported by caller for dest[" + i + "]");
            }
        }
        Throwable read = readError ? new java.io.IOException("read error reported by caller") : null;
        return new CopyResult(writes.length, read, writes);
    }

    /** @return true if reading the source failed */
    public boolean readError() {
        return readError;
    }

    /** @return bit {@code i} set when {@code dests[i]} failed */
    public long writeErrors() {
        return writeErrors;
    }

    /**
     * @param index destination index
     * @return true if {@code dests[index]} failed
     */
    public boolean destinationFailed(int index) {
        return index >= 0 && index < 64 && (writeErrors & (1L << index)) != 0;
    }

    /**
     * @return true when nothing failed and the job was not cancelled: every destination holds
     *         the whole source region (or zeros)
     */
    public boolean isSuccess() {
        return !readError && writeErrors == 0 && !cancelled;
    }

    /**
     * @return true if a {@linkplain CopyJob#cancel() cancel} stopped the job before every chunk
     *         was copied; false for a job that ran to its end (errors or not)
     * @since 1.3
     */
    public boolean cancelled() {
        return cancelled;
    }

    /**
     * @return bit {@code i} set when {@code dests[i]} does not hold the whole source region (or
     *         zeros, for a zero job): a cancelled job with bytes left, a write or flush error on
     *         that destination, a read error or a job stopped early by an error (every
     *         destination); 0 for a successful job
     * @since 1.3
     */
    public long incompleteDestinations() {
        return incompleteDestinations;
    }

    /**
     * @param index destination index
     * @return true if {@code dests[index]} does not hold the whole source region
     * @since 1.3
     */
    public boolean destinationIncomplete(int index) {
        return index >= 0 && index < 64 && (incompleteDestinations & (1L << index)) != 0;
    }

    /** @return the first read failure, if any */
    public Optional<Throwable> readFailure() {
        return Optional.ofNullable(readFailure);
    }

    /**
     * @param index destination index
     * @return the first write or flush failure of {@code dests[index]}, if any
     */
    public Optional<Throwable> writeFailure(int index) {
        return index >= 0 && index < writeFailures.length ? Optional.ofNullable(writeFailures[index])
                : Optional.empty();
    }

    /** @return the number of destinations of the job */
    public int destinations() {
        return destinations;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CopyResult r && r.readError == readError && r.writeErrors == writeErrors
                && r.destinations == destinations && r.cancelled == cancelled
                && r.incompleteDestinations == incompleteDestinations;
    }

    @Override
    public int hashCode() {
        return (Long.hashCode(writeErrors) * 31 + Long.hashCode(incompleteDestinations)) * 31
                + (readError ? 1 : 0) + (cancelled ? 2 : 0);
    }

    @Override
    public String toString() {
        if (isSuccess()) {
            return "CopyResult[ok]";
        }
        StringBuilder s = new StringBuilder("CopyResult[");
        if (cancelled) {
            s.append("cancelled");
        }
        if (readError) {
            s.append(s.length() > 11 ? "; " : "");
            s.append("read error: ").append(readFailure.getMessage());
        }
        for (int i = 0; i < writeFailures.length; i++) {
            if (writeFailures[i] != null) {
                s.append(s.length() > 11 ? "; " : "").append("dest[").append(i).append("]: ")
                        .append(writeFailures[i].getMessage());
            }
        }
        if (incompleteDestinations != 0) {
            s.append(s.length() > 11 ? "; " : "").append("incomplete 0x")
                    .append(Long.toHexString(incompleteDestinations));
        }
        return s.append(']').toString();
    }
}
