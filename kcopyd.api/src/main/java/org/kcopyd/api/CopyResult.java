package org.kcopyd.api;

import java.util.Optional;

/**
 * The outcome of a job, as delivered to {@link CopyCallback} and through the stage returned
 * at submission. Immutable.
 *
 * <p>An I/O error is an outcome, not an exception: the stage completes normally with a
 * result whose {@link #readError()} or {@link #writeErrors()} say what failed.
 */
public final class CopyResult {

    private final int destinations;
    private final boolean readError;
    private final long writeErrors;
    private final Throwable readFailure;
    private final Throwable[] writeFailures;

    private CopyResult(int destinations, Throwable readFailure, Throwable[] writeFailures) {
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

    /** @return true when nothing failed */
    public boolean isSuccess() {
        return !readError && writeErrors == 0;
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
                && r.destinations == destinations;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(writeErrors) * 31 + (readError ? 1 : 0);
    }

    @Override
    public String toString() {
        if (isSuccess()) {
            return "CopyResult[ok]";
        }
        StringBuilder s = new StringBuilder("CopyResult[");
        if (readError) {
            s.append("read error: ").append(readFailure.getMessage());
        }
        for (int i = 0; i < writeFailures.length; i++) {
            if (writeFailures[i] != null) {
                s.append(s.length() > 11 ? "; " : "").append("dest[").append(i).append("]: ")
                        .append(writeFailures[i].getMessage());
            }
        }
        return s.append(']').toString();
    }
}
