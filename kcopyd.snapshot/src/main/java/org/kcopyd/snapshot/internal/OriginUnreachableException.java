package org.kcopyd.snapshot.internal;

import java.io.IOException;

/**
 * An existing snapshot cannot open yet: the {@link org.kcopyd.api.BlockDeviceOpener} service
 * failed to open its origin named by URI with an {@link IOException} (a server that refuses the
 * connection, a socket that is missing, a timeout, an export the server does not serve, no
 * provider of the scheme yet), while its configuration names a COW store that is there to be
 * reopened. Nothing was created, formatted or written, so trying again later (see
 * {@link SnapshotComponent}) changes nothing until the origin can be opened. The message is the
 * one a refusal would have: the snapshot, the origin and the opener's reason; the cause is the
 * opener's exception.
 */
final class OriginUnreachableException extends IOException {

    private static final long serialVersionUID = 1L;

    OriginUnreachableException(String message, IOException cause) {
        super(message, cause);
    }
}
