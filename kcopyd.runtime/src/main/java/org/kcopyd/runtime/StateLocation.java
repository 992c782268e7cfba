package org.kcopyd.runtime;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Which state directory a command means, before anything looks at the directory itself: the
 * daemon ({@code kcopyd daemon}) and the thin client that talks to it resolve it the same way.
 *
 * <ol>
 * <li>{@code --state DIR} (or {@code --state=DIR}) anywhere among the arguments before {@code --};</li>
 * <li>else the environment variable {@code KCOPYD_STATE};</li>
 * <li>else {@code $XDG_STATE_HOME/kcopyd}, where {@code XDG_STATE_HOME} counts only when it is an
 *     absolute path (the XDG Base Directory rule), and {@code ~/.local/state} stands in for it
 *     otherwise.</li>
 * </ol>
 * The result is absolute and normalized; a relative {@code --state} or {@code KCOPYD_STATE} is
 * taken against the working directory.
 */
public final class StateLocation {

    /** The option naming the state directory. */
    public static final String OPTION = "--state";
    /** The environment variable naming the state directory when the option is absent. */
    public static final String ENVIRONMENT = "KCOPYD_STATE";

    private StateLocation() {
    }

    /**
     * The state directory an argument list means.
     *
     * @param args      the command's arguments
     * @param env       the process environment
     * @param userHome  the user's home directory ({@code user.home})
     * @param directory the working directory, for relative names
     * @return the absolute, normalized directory
     * @throws IllegalArgumentException if {@code --state} has no value, is given twice, or names
     *         something that is not a path; the message names the value
     */
    public static Path resolve(List<String> args, Map<String, String> env, String userHome, Path directory) {
        String named = option(args);
        if (named == null) {
            named = env.get(ENVIRONMENT);
            if (named != null && named.isEmpty()) {
                throw new IllegalArgumentException(ENVIRONMENT + " is set but empty");
            }
        }
        if (named != null) {
            return directory.resolve(path(named)).normalize();
        }
        String xdg = env.get("XDG_STATE_HOME");
        Path base = xdg != null && !xdg.isEmpty() && path(xdg).isAbsolute()
                ? path(xdg) : Path.of(userHome, ".local", "state");
        return base.resolve("kcopyd").toAbsolutePath().normalize();
    }

    /** The value of {@code --state} among the arguments, or null. */
    static String option(List<String> args) {
        String value = null;
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals("--")) {
                break;
            }
            String found = null;
            if (arg.equals(OPTION)) {
                if (i + 1 >= args.size() || args.get(i + 1).equals("--")) {
                    throw new IllegalArgumentException(OPTION + " needs a directory");
                }
                found = args.get(++i);
            } else if (arg.startsWith(OPTION + "=")) {
                found = arg.substring(OPTION.length() + 1);
            }
            if (found != null) {
                if (found.isEmpty()) {
                    throw new IllegalArgumentException(OPTION + " needs a directory, not an empty name");
                }
                if (value != null) {
                    throw new IllegalArgumentException(OPTION + " is given twice ('" + value + "' and '" + found + "')");
                }
                value = found;
            }
        }
        return value;
    }

    private static Path path(String name) {
        try {
            return Path.of(name);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("state directory '" + name + "' is not a path: " + e.getReason(), e);
        }
    }
}
