package org.kcopyd.mirror.internal;

import java.io.IOException;

/**
 * An existing mirror cannot open yet: the {@link org.kcopyd.api.BlockDeviceOpener} service failed
 * to open one of its legs named by URI with an {@link IOException} (a server that refuses the
 * connection, a socket that is missing, a timeout, an export the server does not serve, no
 * provider of the scheme yet), while its configuration names a region log that is there to be
 * used ({@link OpenedMirror#holdsLogToReopen}). Nothing was created or written, and the files
 * opened so far are closed again, so trying again later (see {@link MirrorComponent}) changes
 * nothing until the leg can be opened. The message is the one a refusal would have: the mirror,
 * the leg, its URI and the opener's reason; the cause is the opener's exception.
 */
final class LegUnreachableException extends IOException {

    private static final long serialVersionUID = 1L;

    LegUnreachableException(String message, IOException cause) {
        super(message, cause);
    }
}
