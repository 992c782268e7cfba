package org.kcopyd.nbd.internal.server;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A server's exports by name. The empty name selects the export named "" if there is one, else
 * the only export if there is exactly one. Immutable.
 */
public final class Exports {

    private final Map<String, ServerExport> byName;

    /** @param exports the exports, names unique */
    public Exports(List<ServerExport> exports) {
        Map<String, ServerExport> map = new LinkedHashMap<>();
        for (ServerExport export : exports) {
            if (map.putIfAbsent(export.name(), export) != null) {
                throw new IllegalArgumentException("export name '" + export.name() + "' is given twice");
            }
        }
        this.byName = map;
    }

    /** @return the export a client asking for {@code name} gets, or null */
    public ServerExport find(String name) {
        ServerExport export = byName.get(name);
        if (export == null && name.isEmpty() && byName.size() == 1) {
            return byName.values().iterator().next();
        }
        return export;
    }

    /** @return all exports in the order given */
    public List<ServerExport> all() {
        return new ArrayList<>(byName.values());
    }

    /** @return the names, quoted and comma-separated, for messages */
    public String names() {
        List<String> quoted = new ArrayList<>();
        byName.keySet().forEach(name -> quoted.add("'" + name + "'"));
        return String.join(", ", quoted);
    }
}
