package org.kcopyd.runtime;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Which of the runtime's bundles ({@code launch.bundles}, entries {@code jar/NAME-VERSION.jar}) a mode
 * starts. The jar holds them all; the launcher lets a system property of the same name replace the list.
 *
 * <ul>
 * <li>One-shot commands and the shell never start the daemon's bundles: no HTTP server opens a port for
 *     {@code kcopyd copy}, no persistence manager, no Pax Logging (Felix Log serves them). They do start
 *     kcopyd.control, whose {@code KcopydControl} service the shell's snapshot and mirror commands call
 *     (one set of rules for the shell and the daemon); without the servlet API it serves no HTTP, and its
 *     service is made only when a command first asks for it.</li>
 * <li>Only the daemon starts kcopyd.web, the dashboard it serves at {@code /kcopyd/} next to the control API.</li>
 * <li>The daemon starts no FileInstall, no Gogo shell, no command line, and Pax Logging instead of Felix
 *     Log (Pax Logging provides the Log Service and its API itself).</li>
 * </ul>
 */
final class LaunchBundles {

    /** Started only by the daemon. */
    static final List<String> DAEMON_ONLY = List.of("org.apache.felix.http.", "pax-logging-", "gson-",
            "kcopyd.daemon-", "kcopyd.web-");
    /** Never started by the daemon. */
    static final List<String> NOT_IN_DAEMON = List.of("org.apache.felix.fileinstall-", "org.apache.felix.gogo.",
            "kcopyd.cli-", "org.apache.felix.log-", "org.osgi.service.log-");
    private static final String FILE_INSTALL = "org.apache.felix.fileinstall-";

    private LaunchBundles() {
    }

    /** The bundles of a one-shot command or the shell; without FileInstall when {@code fileInstall} is false. */
    static String oneShot(String bundles, boolean fileInstall) {
        return filter(bundles, name -> DAEMON_ONLY.stream().noneMatch(name::startsWith)
                && (fileInstall || !name.startsWith(FILE_INSTALL)));
    }

    /** The daemon's bundles. */
    static String daemon(String bundles) {
        return filter(bundles, name -> NOT_IN_DAEMON.stream().noneMatch(name::startsWith));
    }

    private static String filter(String bundles, java.util.function.Predicate<String> keep) {
        return Arrays.stream(bundles.split(",")).map(String::trim).filter(b -> !b.isEmpty())
                .filter(b -> keep.test(b.substring(b.lastIndexOf('/') + 1))).collect(Collectors.joining(","));
    }
}
