package org.kcopyd.cli.internal;

import java.io.IOException;
import java.net.URI;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;

import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.control.ConfigurationOutcome;
import org.kcopyd.control.ControlException;
import org.kcopyd.control.KcopydControl;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;

/**
 * Before the runtime runs a command or opens the shell, every configuration read from the
 * configuration directory ({@code --config-dir}) must be in effect; otherwise the reasons, one
 * line each, and nothing runs. FileInstall has read the directory synchronously by then (it starts
 * before the kcopyd bundles, with no initial delay), but Config Admin hands configurations to the
 * components asynchronously, so this waits (up to {@link Console#WAIT}) for each outcome:
 *
 * <ul>
 * <li>a file that produced no configuration (unreadable as {@code .cfg}/{@code .config});</li>
 * <li>a configuration no component of the runtime takes (a misspelt PID);</li>
 * <li>the engine's configuration refused (the engine publishes why:
 *     {@value KcopydClientFactory#CONFIG_REFUSED});</li>
 * <li>a snapshot's or mirror's component that failed to activate, with its exception's message,
 *     or is not active in time.</li>
 * </ul>
 * What Declarative Services made of a configuration is asked of the control service
 * ({@link KcopydControl#awaitConfiguration}), the one reader of its component DTOs.
 */
final class ConfigurationCheck {

    /** FileInstall's filter in the runtime ({@code felix.fileinstall.filter}). */
    private static final Pattern FILES = Pattern.compile(".*\\.(cfg|config)");
    /** The property FileInstall adds to every configuration it made: the file's URL. */
    private static final String FILENAME = "felix.fileinstall.filename";

    /** A configuration not in effect: why, and the exit code (2: refused values, 1: failed). */
    record Problem(int exitCode, String message) {
    }

    private ConfigurationCheck() {
    }

    /**
     * Checks the configurations read from {@code dir}.
     *
     * @return the problems, empty when everything the directory asks for is in effect
     */
    static List<Problem> check(Services services, Path dir, Duration wait) throws IOException {
        long deadline = System.nanoTime() + wait.toNanos();
        Map<Path, Configuration> byFile = new HashMap<>();
        try {
            Configuration[] all = services.configurationAdmin().listConfigurations("(" + FILENAME + "=*)");
            for (Configuration c : all == null ? new Configuration[0] : all) {
                Object url = c.getProperties() == null ? null : c.getProperties().get(FILENAME);
                if (url != null) {
                    byFile.put(Path.of(URI.create(url.toString())).toAbsolutePath().normalize(), c);
                }
            }
        } catch (InvalidSyntaxException | IllegalArgumentException e) {
            throw new IllegalStateException("cannot list the configurations: " + e.getMessage(), e);
        }
        List<Problem> problems = new ArrayList<>();
        KcopydControl control = null;
        for (Path file : files(dir)) {
            Configuration c = byFile.get(file.toAbsolutePath().normalize());
            if (c == null) {
                problems.add(new Problem(Exit.USAGE, file + " was not applied: it could not be read as a "
                        + (file.toString().endsWith(".cfg") ? ".cfg (properties)" : ".config") + " file"));
                continue;
            }
            String pid = c.getFactoryPid() != null ? c.getFactoryPid() : c.getPid();
            if (pid.equals(KcopydClientFactory.PID)) {
                Problem p = engine(services, file, deadline);
                if (p != null) {
                    problems.add(p);
                }
                continue;
            }
            if (control == null) {
                control = services.control();
            }
            Problem p = component(control, file, pid, c.getPid(), deadline);
            if (p != null) {
                problems.add(p);
            }
        }
        return problems;
    }

    /**
     * Waits until the component of configuration {@code configurationPid} (of {@code pid}, its factory
     * PID or itself) is active, as the control service reports it.
     *
     * @return why it is not in effect, or null when it is
     */
    private static Problem component(KcopydControl control, Path file, String pid, String configurationPid,
            long deadline) {
        ConfigurationOutcome outcome;
        try {
            outcome = control.awaitConfiguration(configurationPid,
                    Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        } catch (ControlException e) {
            return new Problem(Exit.FAILED, file + " was not applied: " + Console.printable(e.getMessage()));
        }
        return switch (outcome.state()) {
            case ACTIVE -> null;
            case UNUSED -> new Problem(Exit.USAGE, file + " configures " + pid
                    + ", which no component of this runtime uses (a misspelt name?)");
            case FAILED, PENDING -> new Problem(outcome.refused() ? Exit.USAGE : Exit.FAILED, file
                    + " was not applied: " + Console.printable(outcome.reason()));
        };
    }

    /** The configuration files in {@code dir}, in name order. */
    private static List<Path> files(Path dir) throws IOException {
        Map<String, Path> files = new TreeMap<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                if (FILES.matcher(entry.getFileName().toString()).matches()) {
                    files.put(entry.getFileName().toString(), entry);
                }
            }
        }
        return new ArrayList<>(files.values());
    }

    /** Waits until the engine has applied or refused its configuration. */
    private static Problem engine(Services services, Path file, long deadline) {
        services.factory(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
        while (true) {
            Map<String, Object> published = services.factoryProperties();
            Object state = published.get(KcopydClientFactory.CONFIG_STATE);
            if (KcopydClientFactory.CONFIG_STATE_APPLIED.equals(state)) {
                return null;
            }
            if (KcopydClientFactory.CONFIG_STATE_REFUSED.equals(state)) {
                return new Problem(Exit.USAGE, file + " was refused: " + Console.printable(
                        String.valueOf(published.get(KcopydClientFactory.CONFIG_REFUSED))));
            }
            if (System.nanoTime() - deadline >= 0) {
                return new Problem(Exit.FAILED, file + " is not in effect: the engine has not taken it within "
                        + Console.WAIT.toSeconds() + " s");
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    /** @return the exit code for these problems: 2 when every one is a refusal of values, else 1 */
    static int exitCode(List<Problem> problems) {
        return problems.stream().allMatch(p -> p.exitCode() == Exit.USAGE) ? Exit.USAGE : Exit.FAILED;
    }
}
