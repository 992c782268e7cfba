package org.kcopyd.cli.internal;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;

/** {@code config}: the engine's effective configuration, as its service advertises it. */
@Command(name = "config", mixinStandardHelpOptions = true,
        description = "Shows the engine's effective configuration (PID org.kcopyd.engine).")
final class ConfigCommand implements Callable<Integer> {

    private static final java.util.Set<String> SETTINGS = org.kcopyd.api.EngineSettings.defaults().toMap().keySet();
    private final Console console;

    ConfigCommand(Console console) {
        this.console = console;
    }

    @Override
    public Integer call() {
        console.services().factory(Console.WAIT);
        Map<String, Object> sorted = new TreeMap<>();
        console.services().factoryProperties().forEach((k, v) -> {
            if (SETTINGS.contains(k)) {
                sorted.put(k, v);
            }
        });
        sorted.forEach((k, v) -> console.out().println(k + " = " + v));
        return Exit.OK;
    }
}
