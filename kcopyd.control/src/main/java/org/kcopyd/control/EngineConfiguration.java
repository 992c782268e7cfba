package org.kcopyd.control;

import java.util.Map;

/**
 * The engine's configuration (Config Admin PID {@code org.kcopyd.engine}) as the engine applies it.
 *
 * @param pid           {@code org.kcopyd.engine}
 * @param configuration the effective settings by their property names (as the engine's service publishes them)
 * @param refused       why the latest stored configuration was refused, or null when it is in effect
 */
public record EngineConfiguration(String pid, Map<String, Object> configuration, Refusal refused) {

    /**
     * @param reason     the engine's reason, naming the property, the value and the limit
     * @param properties the refused configuration's properties
     */
    public record Refusal(String reason, Map<String, Object> properties) {
    }
}
