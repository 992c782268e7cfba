package org.kcopyd.device;

import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.function.Supplier;

/**
 * One file claimed for one purpose (see {@link FileClaims}). Closing releases it; closing twice
 * is harmless. A claim held by another process (the {@linkplain FileClaimedException#holder()
 * holder} named by a refusal) is only a description: closing it does nothing.
 */
public final class FileClaim implements AutoCloseable {

    private final Object identity;
    private final Path path;
    private final Supplier<String> purpose;
    private final OptionalLong processId;
    private final boolean ours;
    private final ClaimLockFile.Held lock;
    /** A reader's hold (see {@link FileClaims#reader}); null for a claim, or a reader without OFD locks. */
    private final ClaimLockFile.Lock reading;
    private final boolean reader;
    private boolean released; // guarded by FileClaims' registry

    private FileClaim(Object identity, Path path, Supplier<String> purpose, OptionalLong processId, boolean ours,
            ClaimLockFile.Held lock, ClaimLockFile.Lock reading, boolean reader) {
        this.identity = identity;
        this.path = path;
        this.purpose = purpose;
        this.processId = processId;
        this.ours = ours;
        this.lock = lock;
        this.reading = reading;
        this.reader = reader;
    }

    /** A claim of this registry, holding {@code lock} (null when it holds none) until it is closed. */
    static FileClaim held(Object identity, Path path, Supplier<String> purpose, ClaimLockFile.Held lock) {
        return new FileClaim(identity, path, purpose, OptionalLong.of(ProcessHandle.current().pid()), true, lock, null,
                false);
    }

    /** A reader of this registry, holding {@code reading} (null when it holds nothing) until it is closed. */
    static FileClaim reader(Object identity, Path path, ClaimLockFile.Lock reading) {
        return new FileClaim(identity, path, () -> ClaimLockFile.READING, OptionalLong.of(ProcessHandle.current().pid()),
                true, null, reading, true);
    }

    /** A claim found in the claims directory, held by another process (or another copy of this bundle). */
    static FileClaim elsewhere(Object identity, Path path, String purpose, OptionalLong processId) {
        return new FileClaim(identity, path, () -> purpose, processId, false, null, null, false);
    }

    Object identity() {
        return identity;
    }

    ClaimLockFile.Held lock() {
        return lock;
    }

    /** @return true for a reader of this registry ({@link FileClaims#reader}), false for a claim */
    boolean isReader() {
        return reader;
    }

    /** @return a reader's hold; null for a claim, or a reader without OFD locks */
    ClaimLockFile.Lock reading() {
        return reading;
    }

    /** Marks a reader released; under the registry's lock. @return false if it was already */
    boolean markReleased() {
        if (released) {
            return false;
        }
        released = true;
        return true;
    }

    /** @return the path the file was claimed by (absolute, if claimed by another process) */
    public Path path() {
        return path;
    }

    /** @return what the file is to its holder now, e.g. {@code "the origin of snapshot s1"} */
    public String purpose() {
        return purpose.get();
    }

    /**
     * @return the id of the process that holds the claim: this one for a claim made here; empty if
     *         another process holds it but has not said which (its claim is being taken, say)
     * @since 1.1
     */
    public OptionalLong processId() {
        return processId;
    }

    /**
     * @return true for a claim of this process's registry, false for one another process (or another
     *         copy of the {@code kcopyd.device} bundle in this process) holds
     * @since 1.1
     */
    public boolean isHeldHere() {
        return ours;
    }

    @Override
    public void close() {
        if (ours) {
            FileClaims.release(this);
        }
    }

    /** @return {@code "PATH is PURPOSE"}, and for a claim held elsewhere {@code " (kcopyd process PID)"} */
    @Override
    public String toString() {
        return path + " is " + purpose() + holderSuffix();
    }

    /** @return {@code " (kcopyd process PID)"} for a claim held elsewhere whose process is known, else empty */
    public String holderSuffix() {
        return ours || processId.isEmpty() ? "" : " (kcopyd process " + processId.getAsLong() + ")";
    }
}
