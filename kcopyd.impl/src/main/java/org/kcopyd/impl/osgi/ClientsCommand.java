package org.kcopyd.impl.osgi;

import java.util.Comparator;
import java.util.Locale;

import org.kcopyd.api.ClientStatistics;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.impl.engine.Engine;

/**
 * The shell command {@code kcopyd:clients}: every client of the engine with its pages and
 * counters. Registered by {@link KcopydComponent} with the Gogo command properties; it needs no
 * Gogo classes, so the bundle works without a shell.
 *
 * <p>It is the one command that is not in kcopyd.cli: it lists the clients of every bundle and the
 * engine's page reservations, which the exported API does not show (each bundle's view of the
 * factory knows only that bundle's clients), so it needs the engine itself.
 */
public final class ClientsCommand {

    private final Engine engine;

    ClientsCommand(Engine engine) {
        this.engine = engine;
    }

    /**
     * Lists the clients.
     *
     * @return one line per client, then the engine's page use
     */
    public String clients() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "%-28s %9s %9s %10s %9s %10s %8s %14s %14s%n", "client", "pages",
                "in use", "submitted", "in flight", "completed", "failed", "bytes read", "bytes written"));
        engine.clients().stream().sorted(Comparator.comparing(KcopydClient::name)).forEach(c -> {
            ClientStatistics s = c.statistics();
            out.append(String.format(Locale.ROOT, "%-28s %9d %9d %10d %9d %10d %8d %14d %14d%n", c.name(), s.pages(),
                    s.pagesInUse(), s.jobsSubmitted(), s.jobsInFlight(), s.jobsCompleted(), s.jobsFailed(),
                    s.bytesRead(), s.bytesWritten()));
        });
        out.append(String.format(Locale.ROOT, "%d clients, %d of %d budget pages reserved", engine.clients().size(),
                engine.pagesReserved(), engine.settings().pageBudget()));
        return out.toString();
    }
}
