package org.kcopyd.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A running engine outside OSGi, from {@link Kcopyd#start}: a client factory that owns its
 * I/O threads and must be closed. Inside OSGi the framework manages this lifecycle and
 * consumers only see {@link KcopydClientFactory}.
 */
@ProviderType
public interface KcopydEngine extends KcopydClientFactory, AutoCloseable {

    /**
     * @return a device opener whose default for O_DIRECT follows {@link EngineSettings#directIo()};
     *         it opens devices named by URI with the {@link UriDeviceProvider}s that
     *         {@link java.util.ServiceLoader} found when the engine started (see {@link Kcopyd})
     */
    BlockDeviceOpener devices();

    /**
     * Applies new settings without losing work: new clients use them; the admission bound and
     * the default throttle apply to existing clients at once; existing page reservations are kept.
     *
     * @param settings the new settings
     */
    void reconfigure(EngineSettings settings);

    /**
     * Closes every client (each finishes its accepted jobs), then stops the I/O threads.
     * Blocks until done. Idempotent.
     */
    @Override
    void close();
}
