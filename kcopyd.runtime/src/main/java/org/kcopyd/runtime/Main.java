package org.kcopyd.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.Properties;

import org.kcopyd.runtime.client.ThinClient;

/**
 * The runtime jar's entry point ({@code Main-Class}), run before the OSGi framework exists:
 * {@code java -jar kcopyd.jar [--config-dir DIR] [COMMAND ARGS...]}.
 *
 * <ul>
 * <li>Everything the runtime writes while it runs goes to one private {@link RunDirectory}
 *     (the framework's storage, the launcher's and FileInstall's temporary files): it becomes
 *     {@code java.io.tmpdir} for the process, is removed at exit, and leftovers of killed runs
 *     are removed at the next start.</li>
 * <li>Configuration is read only from a directory the user names with {@code --config-dir DIR}
 *     (before the command), after {@link ConfigDirectory} has checked it; FileInstall then reads
 *     its {@code *.cfg} and {@code *.config} files and nothing else. Without the option, the
 *     runtime reads no configuration at all: FileInstall is not even installed.</li>
 * </ul>
 *
 * <p>Then it hands the remaining arguments to the bnd launcher, which starts the framework and
 * runs the command (or the shell); the launcher's exit code is the process's. A refused
 * configuration directory ends the process with code 2 before anything starts.
 *
 * <p>{@code kcopyd daemon [--state DIR] [--listen 127.0.0.1:PORT]} (daemon as the first word) runs the
 * framework in the foreground until SIGTERM or SIGINT (exit code 0): the {@link StateDirectory} is
 * checked, made and locked first, the daemon's bundles started ({@link LaunchBundles}) with framework
 * properties naming the state directory ({@code kcopyd.state.dir}), Config Admin's persistence manager
 * ({@code felix.cm.pm=kcopyd}, kcopyd.daemon's), the HTTP server's loopback address and the logging
 * configuration ({@link DaemonLogging}). A refused option is exit 2, a refused state directory exit 1.
 */
public final class Main {

    /** Framework property: the checked configuration directory (absent when none was named). */
    static final String CONFIG_DIR = "kcopyd.config.dir";
    /** Framework property: the daemon's checked and locked state directory (daemon mode only). */
    static final String STATE_DIR = "kcopyd.state.dir";
    private static final String OPTION = "--config-dir";
    private static final String LAUNCHER = "aQute.launcher.pre.EmbeddedLauncher";
    /** java.util.logging's format property, and the one-line format of one-shot commands and the shell. */
    private static final String LOG_FORMAT_PROPERTY = "java.util.logging.SimpleFormatter.format";
    private static final String LOG_FORMAT = "kcopyd: %4$s %5$s%6$s%n";
    /** The daemon's state directory, whose lock is held until the process ends. */
    private static StateDirectory held;

    private Main() {
    }

    /**
     * Runs the runtime.
     *
     * @param args {@code [--config-dir DIR] [COMMAND ARGS...]}
     * @throws Throwable what the launcher throws
     */
    public static void main(String[] args) throws Throwable {
        if (System.getProperty(LOG_FORMAT_PROPERTY) == null) {
            // One line per record on standard error (the JDK's default takes two, the first a date and a class): what
            // the components log (System.Logger) in one-shot commands and the shell; the daemon's goes through Log4j.
            System.setProperty(LOG_FORMAT_PROPERTY, LOG_FORMAT);
        }
        if (args.length > 0 && args[0].equals(DaemonOptions.COMMAND)) {
            daemon(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        // Commands that go to a running daemon are answered here, before any framework starts.
        OptionalInt answered = ThinClient.run(args, System.getenv(), Path.of("").toAbsolutePath(), System.out,
                System.err);
        if (answered.isPresent()) {
            System.out.flush();
            System.err.flush();
            System.exit(answered.getAsInt());
        }
        String configDir = null;
        String[] rest = args;
        if (args.length > 0 && (args[0].equals(OPTION) || args[0].startsWith(OPTION + "="))) {
            if (args[0].equals(OPTION)) {
                if (args.length < 2) {
                    fail(2, OPTION + " needs a directory");
                }
                configDir = args[1];
                rest = Arrays.copyOfRange(args, 2, args.length);
            } else {
                configDir = args[0].substring(OPTION.length() + 1);
                rest = Arrays.copyOfRange(args, 1, args.length);
            }
            if (rest.length > 0 && rest[0].equals(DaemonOptions.COMMAND)) {
                fail(2, OPTION + " cannot be used with daemon: the state directory holds the daemon's configuration"
                        + " (--state DIR)");
            }
            // A snapshot made by a one-shot process would end with it: what lasts is the daemon's business.
            String daemonCommand = ThinClient.daemonCommand(rest).orElse(null);
            if (daemonCommand != null) {
                fail(2, OPTION + " is for one-shot commands and the shell; " + daemonCommand + " goes to the daemon: "
                        + "kcopyd " + daemonCommand + " ... --state DIR");
            }
        }

        RunDirectory run = runDirectory();
        String bundles = launcherProperties().getProperty("launch.bundles");
        System.setProperty("launch.bundles", LaunchBundles.oneShot(bundles, configDir != null));
        if (configDir != null) {
            Path dir;
            try {
                dir = ConfigDirectory.check(configDir, run.ownerUid());
            } catch (ConfigDirectory.RefusedException e) {
                fail(2, e.getMessage());
                return;
            }
            System.setProperty(CONFIG_DIR, dir.toString());
            System.setProperty("felix.fileinstall.dir", dir.toString());
        }

        launch(rest);
    }

    /** {@code kcopyd daemon}: checks and locks the state directory, then runs the framework until a signal. */
    private static void daemon(String[] args) throws Throwable {
        if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
            System.out.println(DaemonOptions.USAGE);
            return;
        }
        DaemonOptions options;
        try {
            options = DaemonOptions.parse(List.of(args), System.getenv(), System.getProperty("user.home"),
                    Path.of("").toAbsolutePath());
        } catch (IllegalArgumentException e) {
            fail(2, e.getMessage());
            return;
        }
        RunDirectory run = runDirectory();
        StateDirectory state;
        try {
            state = StateDirectory.open(options.state(), run.ownerUid());
        } catch (StateDirectory.RefusedException e) {
            fail(1, e.getMessage());
            return;
        }
        held = state;
        Path logging;
        try {
            logging = DaemonLogging.write(state.path().resolve(StateDirectory.LOGS), run.path());
        } catch (IOException e) {
            fail(1, "cannot write the logging configuration in " + run.path() + ": " + reason(e));
            return;
        }
        System.setProperty("launch.bundles", LaunchBundles.daemon(launcherProperties().getProperty("launch.bundles")));
        System.setProperty(STATE_DIR, state.path().toString());
        System.setProperty("felix.cm.pm", "kcopyd");
        System.setProperty("org.apache.felix.http.host", "127.0.0.1");
        System.setProperty("org.osgi.service.http.port", Integer.toString(options.port()));
        System.setProperty("org.apache.felix.https.enable", "false");
        System.setProperty(DaemonLogging.PROPERTY, logging.toString());
        System.setProperty("org.ops4j.pax.logging.DefaultServiceLog.level", "WARN");
        launch(new String[0]);
    }

    /** Makes this run's private directory and makes it the process's temporary directory. */
    private static RunDirectory runDirectory() {
        RunDirectory run;
        try {
            run = RunDirectory.create(Path.of(System.getProperty("java.io.tmpdir")));
        } catch (IOException | RuntimeException e) {
            fail(1, "cannot make a private directory in " + System.getProperty("java.io.tmpdir") + ": " + reason(e));
            return null;
        }
        RunDirectory own = run;
        Runtime.getRuntime().addShutdownHook(new Thread(own::delete, "kcopyd: remove " + own.path()));
        // Read lazily by File.createTempFile, which the launcher, Felix and FileInstall use.
        System.setProperty("java.io.tmpdir", run.path().toString());
        return run;
    }

    private static void launch(String[] args) throws Throwable {
        try {
            Class.forName(LAUNCHER).getMethod("main", String[].class).invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof IOException io) {
                // The launcher unpacks the runtime's bundles into the run's directory first: a full or read-only
                // temporary file system ended the command with the launcher's stack trace.
                fail(1, "cannot start the runtime in " + System.getProperty("java.io.tmpdir") + ": " + reason(io)
                        + " (set another temporary directory with -Djava.io.tmpdir=DIR)");
            }
            throw e.getCause();
        }
    }

    /** The bnd launcher's properties, embedded in this jar. */
    private static Properties launcherProperties() throws IOException {
        Properties properties = new Properties();
        try (InputStream in = Main.class.getResourceAsStream("/launcher.properties")) {
            if (in == null) {
                throw new IOException("launcher.properties is missing from the runtime jar");
            }
            properties.load(in);
        }
        return properties;
    }

    private static String reason(Exception e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such directory";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static void fail(int code, String message) {
        System.err.println("kcopyd: " + message);
        System.exit(code);
    }
}
