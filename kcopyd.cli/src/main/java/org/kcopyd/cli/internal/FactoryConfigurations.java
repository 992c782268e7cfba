package org.kcopyd.cli.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.Dictionary;

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
                    "(&(service.factoryPid=" + escape(factoryPid) + ")(name=" + escape(name) + "))");
            return found == null ? null : found[0];
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("'" + name + "' is not a valid name", e);
        }
    }

    /** A value as an LDAP filter must spell it (RFC 4515): {@code *}, {@code (}, {@code )} and {@code \} are literal. */
    static String escape(String value) {
        StringBuilder b = new StringBuilder(value.length());
        for (char c : value.toCharArray()) {
            if (c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }

    /**
     * Creates a factory configuration and waits until Declarative Services has activated its
     * component (the snapshot's or mirror's services are then registered). When the component
     * fails to activate, or is not active within {@link Console#WAIT}, the configuration is deleted
     * again, so nothing is left behind, and the reason is thrown at once.
     *
     * @param kind "snapshot" or "mirror", for messages
     * @return the new configuration, its component active
     * @throws IllegalArgumentException when the component refused the values (exit code 2)
     * @throws IllegalStateException when it failed otherwise or did not start in time (exit code 1)
     */
    static Configuration create(Console console, String factoryPid, String kind, String name,
            Dictionary<String, ?> properties) throws IOException {
        return create(console, factoryPid, kind, name, properties, Console.WAIT);
    }

    static Configuration create(Console console, String factoryPid, String kind, String name,
            Dictionary<String, ?> properties, Duration wait) throws IOException {
        Configuration created = console.services().configurationAdmin().createFactoryConfiguration(factoryPid, "?");
        ComponentStates.Outcome outcome;
        try {
            created.update(properties);
            outcome = ComponentStates.await(console.services()::components, created.getPid(),
                    () -> properties(created), wait);
        } catch (IOException | RuntimeException e) {
            created.delete();
            throw e;
        }
        if (outcome.state() == ComponentStates.State.ACTIVE) {
            return created;
        }
        created.delete();
        String message = kind + " '" + name + "' not created: " + Console.printable(outcome.reason());
        throw outcome.refused() ? new IllegalArgumentException(message) : new IllegalStateException(message);
    }

    /** @return the configuration's properties now, or null when it is gone */
    static Dictionary<String, ?> properties(Configuration c) {
        try {
            return c.getProperties();
        } catch (IllegalStateException deleted) {
            return null;
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
