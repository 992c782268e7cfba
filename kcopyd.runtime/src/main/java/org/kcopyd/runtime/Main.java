package org.kcopyd.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Properties;
import java.util.stream.Collectors;

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
 */
public final class Main {

    /** Framework property: the checked configuration directory (absent when none was named). */
    static final String CONFIG_DIR = "kcopyd.config.dir";
    private static final String OPTION = "--config-dir";
    private static final String LAUNCHER = "aQute.launcher.pre.EmbeddedLauncher";

    private Main() {
    }

    /**
     * Runs the runtime.
     *
     * @param args {@code [--config-dir DIR] [COMMAND ARGS...]}
     * @throws Throwable what the launcher throws
     */
    public static void main(String[] args) throws Throwable {
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
        }

        RunDirectory run;
        try {
            run = RunDirectory.create(Path.of(System.getProperty("java.io.tmpdir")));
        } catch (IOException | RuntimeException e) {
            fail(1, "cannot make a private directory in " + System.getProperty("java.io.tmpdir") + ": " + reason(e));
            return;
        }
        RunDirectory own = run;
        Runtime.getRuntime().addShutdownHook(new Thread(own::delete, "kcopyd: remove " + own.path()));
        // Read lazily by File.createTempFile, which the launcher, Felix and FileInstall use.
        System.setProperty("java.io.tmpdir", run.path().toString());

        if (configDir == null) {
            System.setProperty("launch.bundles", withoutFileInstall(launcherProperties().getProperty("launch.bundles")));
        } else {
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

        try {
            Class.forName(LAUNCHER).getMethod("main", String[].class).invoke(null, (Object) rest);
        } catch (InvocationTargetException e) {
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

    /**
     * The bundles to start, without FileInstall: the launcher lets a system property replace any
     * of its properties, so with no configuration directory nothing watches any directory.
     */
    static String withoutFileInstall(String bundles) {
        return Arrays.stream(bundles.split(",")).filter(b -> !b.contains("org.apache.felix.fileinstall"))
                .collect(Collectors.joining(","));
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
