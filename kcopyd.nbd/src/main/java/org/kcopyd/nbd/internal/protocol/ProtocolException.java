package org.kcopyd.nbd.internal.protocol;

import java.io.IOException;

/** The peer broke the NBD protocol (bad magic, impossible length, malformed payload). */
public final class ProtocolException extends IOException {

    private static final long serialVersionUID = 1L;

    /** @param message what was wrong, naming the value and the rule */
    public ProtocolException(String message) {
        super(message);
    }
}
