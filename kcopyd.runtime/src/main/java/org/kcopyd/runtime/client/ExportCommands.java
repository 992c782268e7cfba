package org.kcopyd.runtime.client;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

/**
 * {@code export add|list|remove}: the daemon's NBD exports. {@code export add} takes the options
 * of {@code kcopyd serve} under the names of the issue ({@code --tls DIR},
 * {@code --tls-verify-clients}; serve's {@code --tls-certificates} and {@code --tls-verify-peer}
 * are accepted too); the syntax of {@code --listen} and the bounds are checked here, the
 * address's safety rules (loopback unless TLS or {@code --insecure}) by the daemon. Stateless.
 */
final class ExportCommands {

    /** The most connections of one export (kcopyd serve's bound). */
    static final int MAX_CONNECTIONS = 100_000;

    private ExportCommands() {
    }

    static Map<String, ThinClient.Command> commands() {
        Map<String, ThinClient.Command> m = new LinkedHashMap<>();
        m.put("add", new ThinClient.Command(new Arguments.Spec("export add NAME DEVICE (--socket PATH | --listen "
                + "HOST:PORT) [--read-only] [--max-connections N] [--tls DIR] [--tls-verify-clients] [--insecure]", 2, 2,
                Set.of("--socket", "--listen", "--max-connections", "--tls", "--tls-certificates"),
                Set.of("--read-only", "--tls-verify-clients", "--tls-verify-peer", "--insecure")),
                "Serves DEVICE (a path, snapshot:NAME, origin:NAME or mirror:NAME) over NBD from the daemon "
                + "as export NAME, on a Unix socket or TCP, until export remove; NAME is the NBD export name. "
                + "--max-connections: 1..100000 (default 64). The rules of kcopyd serve apply: TCP on an address other "
                + "than loopback needs --tls DIR (nbdkit's certificate layout) or --insecure.", ExportCommands::add));
        m.put("list", new ThinClient.Command(new Arguments.Spec("export list", 0, 0, Set.of(), Set.of()),
                "Lists the daemon's NBD exports with their device, URI and connections.", ExportCommands::list));
        m.put("remove", new ThinClient.Command(new Arguments.Spec("export remove NAME", 1, 1, Set.of(), Set.of()),
                "Stops export NAME; its clients are disconnected and a Unix socket removed.", ExportCommands::remove));
        return m;
    }

    private static int add(Session s, Arguments a) {
        String name = DeviceNames.name("export", a.get(0));
        String device = DeviceNames.device("DEVICE", a.get(1), s.cwd());
        String socket = a.value("--socket");
        String listen = a.value("--listen");
        if ((socket == null) == (listen == null)) {
            throw ClientException.usage("give one of --socket PATH and --listen HOST:PORT" + (socket == null ? ""
                    : ", not both"));
        }
        String tls = a.value("--tls");
        String tlsAlias = a.value("--tls-certificates");
        if (tls != null && tlsAlias != null) {
            throw ClientException.usage("--tls and --tls-certificates name the same thing: give one");
        }
        tls = tls != null ? tls : tlsAlias;
        boolean verifyClients = a.flag("--tls-verify-clients") || a.flag("--tls-verify-peer");
        if (verifyClients && tls == null) {
            throw ClientException.usage("--tls-verify-clients needs --tls DIR (whose ca-cert.pem signs the clients' "
                    + "certificates)");
        }
        long maxConnections = a.number("--max-connections", 64, 1, MAX_CONNECTIONS);
        JsonObject body = new JsonObject();
        body.addProperty("name", name);
        body.addProperty("device", device);
        if (socket != null) {
            body.addProperty("socket", DeviceNames.socket("--socket", socket, s.cwd()));
        } else {
            body.addProperty("listen", checkListen(listen));
        }
        if (a.flag("--read-only")) {
            body.addProperty("readOnly", true);
        }
        if (a.value("--max-connections") != null) {
            body.addProperty("maxConnections", maxConnections);
        }
        if (tls != null) {
            body.addProperty("tlsCertificates", DeviceNames.path("--tls", tls, s.cwd()));
        }
        if (verifyClients) {
            body.addProperty("tlsVerifyClients", true);
        }
        if (a.flag("--insecure")) {
            body.addProperty("insecure", true);
        }
        JsonObject export = s.call("POST", "/api/v1/exports", body);
        s.say("export " + name + " of " + Json.printable(Json.string(export, "device", device)) + " at "
                + Json.printable(Json.string(export, "uri", "")) + "  " + mode(export));
        return s.done(export);
    }

    /** @return {@code HOST:PORT} or {@code [ADDRESS]:PORT} as given, its syntax and port checked */
    static String checkListen(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw ClientException.usage("--listen '" + Json.printable(text) + "' is not HOST:PORT");
        }
        String host = text.substring(0, colon);
        if (!(host.startsWith("[") && host.endsWith("]")) && host.contains(":")) {
            throw ClientException.usage("--listen '" + Json.printable(text) + "': write an IPv6 address in brackets, "
                    + "[ADDRESS]:PORT");
        }
        String digits = text.substring(colon + 1);
        if (!digits.matches("[0-9]{1,5}") || Integer.parseInt(digits) < 1 || Integer.parseInt(digits) > 65535) {
            throw ClientException.usage("--listen '" + Json.printable(text) + "': port '" + Json.printable(digits)
                    + "' is not a number from 1 to 65535");
        }
        return text;
    }

    /** @return how it is served: read-only or not, TLS, and its connections if serving, else its state and why */
    static String mode(JsonObject export) {
        String how = (Json.flag(export, "readOnly") ? "read-only" : "read-write") + (Json.flag(export, "tls") ? ", TLS"
                : "");
        String state = Json.string(export, "state", "serving");
        if (!state.equals("serving")) {
            String reason = Json.string(export, "reason", "");
            return how + "  " + Json.printable(state) + (reason.isEmpty() ? "" : ": " + Json.printable(reason));
        }
        long connections = Json.whole(export, "connections", 0);
        return how + "  " + connections + " connection" + (connections == 1 ? "" : "s");
    }

    private static int list(Session s, Arguments a) {
        JsonObject all = s.call("GET", "/api/v1/exports", null);
        for (JsonElement e : Json.array(all, "exports")) {
            JsonObject export = e.getAsJsonObject();
            s.say(Json.printable(Json.string(export, "name")) + "  " + Json.printable(Json.string(export, "device"))
                    + "  " + Json.printable(Json.string(export, "uri", "")) + "  " + mode(export));
        }
        if (Json.array(all, "exports").isEmpty()) {
            s.say("no exports");
        }
        return s.done(all);
    }

    private static int remove(Session s, Arguments a) {
        String name = DeviceNames.name("export", a.get(0));
        JsonObject removed = s.call("DELETE", "/api/v1/exports/" + name, null);
        s.say("export " + name + " removed");
        return s.done(removed);
    }
}
