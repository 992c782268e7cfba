package org.kcopyd.impl.standalone;

import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.KcopydEngine;
import org.kcopyd.api.KcopydProvider;
import org.kcopyd.impl.engine.Engine;

/**
 * The {@link java.util.ServiceLoader} provider behind {@link org.kcopyd.api.Kcopyd#start}, for
 * use outside OSGi. The engine's opener serves device URIs through the
 * {@link org.kcopyd.api.UriDeviceProvider}s ServiceLoader finds at start ({@link LoadedUriProviders}).
 */
public final class StandaloneProvider implements KcopydProvider {

    @Override
    public KcopydEngine start(EngineSettings settings) {
        System.Logger log = System.getLogger(Engine.class.getName());
        return new Engine(settings, log, LoadedUriProviders.load(log));
    }
}
