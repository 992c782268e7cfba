package org.kcopyd.cli.internal;

import java.io.IOException;

import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;

/** Snapshots and mirrors are factory configurations found by their {@code name} property. */
final class FactoryConfigurations {

    private FactoryConfigurations() {
    }

    /** @return the configuration of that factory PID and name, or null */
    static Configuration find(Console console, String factoryPid, String name) throws IOException {
        try {
            Configuration[] found = console.services().configurationAdmin().listConfigurations(
                    "(&(service.factoryPid=" + factoryPid + ")(name=" + name + "))");
            return found == null ? null : found[0];
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("'" + name + "' is not a valid name", e);
        }
    }

    /**
     * Deletes the configuration, telling the user.
     *
     * @param kind "snapshot" or "mirror", for messages
     * @return the exit code
     */
    static int remove(Console console, String factoryPid, String kind, String name) throws IOException {
        Configuration c = find(console, factoryPid, name);
        if (c == null) {
            console.err().println("kcopyd " + kind + ": no " + kind + " named '" + name + "'");
            return Exit.USAGE;
        }
        c.delete();
        console.out().println(kind + " " + name + " removed");
        return Exit.OK;
    }
}
