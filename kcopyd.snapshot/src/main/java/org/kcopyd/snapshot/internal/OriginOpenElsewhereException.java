package org.kcopyd.snapshot.internal;

import java.io.IOException;

/**
 * A snapshot of an origin named by URI cannot attach yet: other snapshots hold that origin open
 * through another {@link org.kcopyd.api.BlockDeviceOpener} service, one that is going away (a
 * replacement opener was bound first). Sharing that device would leave the snapshot on a device
 * about to be closed; it waits until the others let go ({@link Origins#retryWaiting()}).
 */
final class OriginOpenElsewhereException extends IOException {

    private static final long serialVersionUID = 1L;

    OriginOpenElsewhereException(String message) {
        super(message);
    }
}
