package org.kcopyd.cli.internal;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;

import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.KcopydClientFactory;

import picocli.CommandLine.Command;

/**
 * {@code config}: the engine's effective configuration, as its service advertises it, and, on
 * standard error, why the latest configuration was refused if it was.
 */
@Command(name = "config", mixinStandardHelpOptions = true,
        description = "Shows the engine's effective configuration (PID " + KcopydClientFactory.PID + "), and why the latest "
                + "configuration was refused if it was.")
final class ConfigCommand implements Callable<Integer> {

    private static final Set<String> SETTINGS = EngineSettings.defaults().toMap().keySet();
    private final Console console;

    ConfigCommand(Console console) {
        this.console = console;
    }

    @Override
    public Integer call() {
        console.services().factory(Console.WAIT);
        Map<String, Object> published = console.services().factoryProperties();
        Map<String, Object> sorted = new TreeMap<>();
        published.forEach((k, v) -> {
            if (SETTINGS.contains(k)) {
                sorted.put(k, v);
            }
        });
        sorted.forEach((k, v) -> console.out().println(k + " = " + v));
        if (KcopydClientFactory.CONFIG_STATE_REFUSED.equals(published.get(KcopydClientFactory.CONFIG_STATE))) {
            console.err().println("kcopyd config: the latest configuration of " + KcopydClientFactory.PID
                    + " was refused (" + Console.printable(String.valueOf(published.get(KcopydClientFactory.CONFIG_REFUSED)))
                    + "); the values above are the last valid ones");
        }
        return Exit.OK;
    }
}
