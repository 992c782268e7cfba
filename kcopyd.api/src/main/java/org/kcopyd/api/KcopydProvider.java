package org.kcopyd.api;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The {@link java.util.ServiceLoader} service provider interface behind {@link Kcopyd}; the
 * implementation jar provides it. Not used inside OSGi, where the services are registered by
 * Declarative Services.
 */
@ConsumerType
public interface KcopydProvider {

    /**
     * @param settings the engine settings
     * @return a started engine
     */
    KcopydEngine start(EngineSettings settings);
}
