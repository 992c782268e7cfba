package org.kcopyd.nbd.internal.server;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A server's exports by name. The empty name selects the export named "" if there is one, else
 * the only export if there is exactly one. Exports may be added and removed while clients
 * negotiate; thread-safe (every method holds the object's lock briefly).
 */
public final class Exports {

    private final Map<String, ServerExport> byName = new LinkedHashMap<>();

    /** @param exports the exports, names unique */
    public Exports(List<ServerExport> exports) {
        for (ServerExport export : exports) {
            add(export);
        }
    }

    /**
     * Adds an export.
     *
     * @throws IllegalArgumentException if an export of that name exists
     */
    public synchronized void add(ServerExport export) {
        if (byName.putIfAbsent(export.name(), export) != null) {
            throw new IllegalArgumentException("export name '" + export.name() + "' is given twice");
        }
    }

    /** @return the export removed, or null if there was none of that name */
    public synchronized ServerExport remove(String name) {
        return byName.remove(name);
    }

    /** @return true if {@code export} (this very one, not another of its name) is served */
    public synchronized boolean contains(ServerExport export) {
        return byName.get(export.name()) == export;
    }

    /** @return the number of exports */
    public synchronized int size() {
        return byName.size();
    }

    /** @return the export a client asking for {@code name} gets, or null */
    public synchronized ServerExport find(String name) {
        ServerExport export = byName.get(name);
        if (export == null && name.isEmpty() && byName.size() == 1) {
            return byName.values().iterator().next();
        }
        return export;
    }

    /** @return all exports in the order given */
    public synchronized List<ServerExport> all() {
        return new ArrayList<>(byName.values());
    }

    /** @return the names, quoted and comma-separated, for messages */
    public synchronized String names() {
        List<String> quoted = new ArrayList<>();
        byName.keySet().forEach(name -> quoted.add("'" + name + "'"));
        return String.join(", ", quoted);
    }
}
