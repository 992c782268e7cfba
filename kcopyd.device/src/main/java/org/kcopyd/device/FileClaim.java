package org.kcopyd.device;

import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * One file claimed for one purpose (see {@link FileClaims}). Closing releases it; closing twice
 * is harmless.
 */
public final class FileClaim implements AutoCloseable {

    private final Object identity;
    private final Path path;
    private final Supplier<String> purpose;

    FileClaim(Object identity, Path path, Supplier<String> purpose) {
        this.identity = identity;
        this.path = path;
        this.purpose = purpose;
    }

    Object identity() {
        return identity;
    }

    /** @return the path the file was claimed by */
    public Path path() {
        return path;
    }

    /** @return what the file is to its holder now, e.g. {@code "the origin of snapshot s1"} */
    public String purpose() {
        return purpose.get();
    }

    @Override
    public void close() {
        FileClaims.release(this);
    }

    @Override
    public String toString() {
        return path + " is " + purpose();
    }
}
