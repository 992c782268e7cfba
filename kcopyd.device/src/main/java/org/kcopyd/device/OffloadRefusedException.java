package org.kcopyd.device;

import java.io.IOException;

/**
 * The kernel or file system refused to copy between two files by itself ({@code EXDEV},
 * {@code EOPNOTSUPP}, {@code EINVAL}, {@code ENOSYS}, ...): not an I/O error, a copy through
 * buffers will do. {@link FileBlockDevice#offloadTo} turns it into the
 * {@link UnsupportedOperationException} the {@link org.kcopyd.api.BlockDevice} contract asks for.
 */
final class OffloadRefusedException extends IOException {

    private static final long serialVersionUID = 1L;

    OffloadRefusedException(String message, Throwable cause) {
        super(message, cause);
    }

    OffloadRefusedException(String message) {
        super(message);
    }
}
