package org.kcopyd.device;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file kcopyd was asked to write is already claimed for another purpose. The message names
 * the holder: {@code "origin.img is the origin of snapshot s1; write through its origin device"},
 * and when another process holds it, that process:
 * {@code "origin.img is the origin of snapshot s1; write through its origin device (kcopyd process 12345)"}.
 */
public final class FileClaimedException extends IOException {

    private static final long serialVersionUID = 1L;

    private final transient FileClaim holder;

    FileClaimedException(Path path, FileClaim holder) {
        super(path + (sameSpelling(path, holder.path()) ? "" : " (the same file as " + holder.path() + ")") + " is "
                + holder.purpose() + holder.holderSuffix());
        this.holder = holder;
    }

    /** A file kcopyd keeps its own state in ({@link FileClaims#reserve}): {@code message} says so; no holder. */
    FileClaimedException(String message) {
        this(message, null);
    }

    /** A claim on another file or device that shares bytes with the one asked for; {@code message} says how. */
    FileClaimedException(String message, FileClaim holder) {
        super(message);
        this.holder = holder;
    }

    private static boolean sameSpelling(Path path, Path holderPath) {
        return path.equals(holderPath) || path.toAbsolutePath().normalize().equals(holderPath.toAbsolutePath().normalize());
    }

    /**
     * @return the claim that stands in the way; {@linkplain FileClaim#isHeldHere() held here} or by
     *         the process {@link FileClaim#processId()} names; null for a file kcopyd keeps its own
     *         state in ({@link FileClaims#reserve}), which no claim holds
     */
    public FileClaim holder() {
        return holder;
    }
}
