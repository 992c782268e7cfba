package org.kcopyd.impl.standalone;

import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.KcopydEngine;
import org.kcopyd.api.KcopydProvider;
import org.kcopyd.impl.engine.Engine;

/**
 * The {@link java.util.ServiceLoader} provider behind {@link org.kcopyd.api.Kcopyd#start}, for
 * use outside OSGi.
 */
public final class StandaloneProvider implements KcopydProvider {

    @Override
    public KcopydEngine start(EngineSettings settings) {
        return new Engine(settings);
    }
}
