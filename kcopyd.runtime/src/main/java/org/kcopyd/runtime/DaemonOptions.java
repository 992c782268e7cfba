package org.kcopyd.runtime;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The options of {@code kcopyd daemon [--state DIR] [--listen 127.0.0.1:PORT]}: the state directory
 * (resolved by {@link StateLocation}) and the control API's loopback port (0: the system chooses).
 * {@code --config-dir} is refused: the state directory is the daemon's configuration.
 *
 * @param state the state directory, absolute and normalized
 * @param port  the control API's TCP port on 127.0.0.1, 0 to 65535
 */
record DaemonOptions(Path state, int port) {

    /** The command word. */
    static final String COMMAND = "daemon";
    static final String USAGE = "usage: kcopyd daemon [--state DIR] [--listen 127.0.0.1:PORT]";

    /**
     * Parses the arguments after {@code daemon}.
     *
     * @throws IllegalArgumentException naming the bad argument and what is allowed
     */
    static DaemonOptions parse(List<String> args, Map<String, String> env, String userHome, Path directory) {
        Integer port = null;
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals(StateLocation.OPTION)) {
                i++;
            } else if (arg.startsWith(StateLocation.OPTION + "=")) {
                continue;
            } else if (arg.equals("--listen") || arg.startsWith("--listen=")) {
                String value;
                if (arg.equals("--listen")) {
                    if (i + 1 >= args.size()) {
                        throw new IllegalArgumentException("--listen needs 127.0.0.1:PORT");
                    }
                    value = args.get(++i);
                } else {
                    value = arg.substring("--listen=".length());
                }
                if (port != null) {
                    throw new IllegalArgumentException("--listen is given twice");
                }
                port = port(value);
            } else if (arg.equals("--config-dir") || arg.startsWith("--config-dir=")) {
                throw new IllegalArgumentException("--config-dir cannot be used with daemon: the state directory holds"
                        + " the daemon's configuration (--state DIR)");
            } else {
                throw new IllegalArgumentException("unknown argument '" + arg + "' for daemon; " + USAGE);
            }
        }
        Path state = StateLocation.resolve(args, env, userHome, directory);
        return new DaemonOptions(state, port == null ? 0 : port);
    }

    /** The port of {@code 127.0.0.1:PORT} or {@code localhost:PORT}; anything else is refused. */
    static int port(String listen) {
        int colon = listen.lastIndexOf(':');
        String host = colon < 0 ? listen : listen.substring(0, colon);
        if (!host.equals("127.0.0.1") && !host.equals("localhost")) {
            throw new IllegalArgumentException("--listen " + listen + " is not a loopback address: the control API"
                    + " listens on 127.0.0.1 only (--listen 127.0.0.1:PORT)");
        }
        String digits = colon < 0 ? "" : listen.substring(colon + 1);
        if (digits.isEmpty() || digits.length() > 5 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')
                || Integer.parseInt(digits) > 65535) {
            throw new IllegalArgumentException("--listen " + listen + " has no valid port: PORT is 0 to 65535"
                    + " in decimal digits (0: the system chooses)");
        }
        return Integer.parseInt(digits);
    }
}
