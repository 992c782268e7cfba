package org.kcopyd.device;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file kcopyd was asked to write is already claimed for another purpose. The message names
 * the holder: {@code "origin.img is the origin of snapshot s1; write through its origin device"}.
 */
public final class FileClaimedException extends IOException {

    private static final long serialVersionUID = 1L;

    private final transient FileClaim holder;

    FileClaimedException(Path path, FileClaim holder) {
        super(path + (path.equals(holder.path()) ? "" : " (the same file as " + holder.path() + ")") + " is "
                + holder.purpose());
        this.holder = holder;
    }

    /** @return the claim that stands in the way */
    public FileClaim holder() {
        return holder;
    }
}
