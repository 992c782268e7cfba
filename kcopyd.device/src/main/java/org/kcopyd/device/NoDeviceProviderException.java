package org.kcopyd.device;

import java.io.IOException;

/**
 * No {@link org.kcopyd.api.UriDeviceProvider} serves a URI's scheme: the URI is well formed, but
 * nothing installed opens it. The message names the scheme, the URI and the schemes that are known,
 * and, for a scheme kcopyd's own bundles serve, which bundle to install.
 */
public final class NoDeviceProviderException extends IOException {

    private static final long serialVersionUID = 1L;

    private final String scheme;

    /**
     * @param scheme  the scheme nothing serves, lower case
     * @param message the whole message
     */
    public NoDeviceProviderException(String scheme, String message) {
        super(message);
        this.scheme = scheme;
    }

    /** @return the scheme nothing serves, lower case */
    public String scheme() {
        return scheme;
    }
}
