package org.kcopyd.control;

/**
 * What {@link KcopydControl#status} counts.
 *
 * @param engine    the engine's configuration, or null when no engine runs
 * @param snapshots configured snapshots (waiting ones too)
 * @param mirrors   configured mirrors
 * @param exports   configured NBD exports
 */
public record ControlStatus(EngineConfiguration engine, int snapshots, int mirrors, int exports) {
}
