package org.kcopyd.cli.internal;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The runtime jar's main program. The bnd launcher registers itself with the process's
 * arguments ({@code launcher.arguments}) and runs a {@code Callable} registered with
 * {@code main.thread=true} on the main thread, its result becoming the exit code. With
 * arguments, this runs that kcopyd command; without, it opens the interactive Gogo shell, and the
 * runtime stops when the shell ends. Outside the bnd launcher (Karaf, tests) there is no such
 * launcher service and this component stays inactive.
 *
 * <p>When the runtime was started with a configuration directory (the runtime jar's
 * {@code --config-dir}, framework property {@value #CONFIG_DIR}), neither runs before every
 * configuration read from it is in effect: otherwise each reason is printed on one line and the
 * program ends with code 2 (refused values) or 1 (see {@link ConfigurationCheck}).
 */
@Component(service = {}, immediate = true)
public final class MainProgram implements Callable<Integer> {

    // Optional, so that resolvers outside the bnd launcher (Karaf) do not look for it.
    @Reference(service = Object.class, target = "(launcher.arguments=*)", cardinality = ReferenceCardinality.OPTIONAL,
            policyOption = ReferencePolicyOption.GREEDY)
    private Map<String, Object> launcher;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policyOption = ReferencePolicyOption.GREEDY)
    private CommandProcessor shell;

    /** Set by the runtime jar's {@code org.kcopyd.runtime.Main} to the checked {@code --config-dir}. */
    static final String CONFIG_DIR = "kcopyd.config.dir";

    private OsgiServices services;
    private BundleContext context;
    private ServiceRegistration<?> registration;

    @Activate
    void activate(BundleContext context) {
        if (launcher == null) {
            return;
        }
        this.context = context;
        services = new OsgiServices(context);
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("main.thread", Boolean.TRUE);
        registration = context.registerService(Callable.class.getName(), this, props);
    }

    @Deactivate
    void deactivate() {
        if (registration != null) {
            registration.unregister();
            services.close();
        }
    }

    @Override
    public Integer call() throws Exception {
        // Commands' output is their words and exit codes; notices of the bundles (through System.Logger, which goes
        // to java.util.logging here) would mix INFO lines into it: only warnings and errors reach the terminal.
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
        PrintWriter err = new PrintWriter(new FileOutputStream(FileDescriptor.err), true);
        String configDir = context.getProperty(CONFIG_DIR);
        if (configDir != null) {
            List<ConfigurationCheck.Problem> problems = ConfigurationCheck.check(services, Path.of(configDir),
                    Console.WAIT);
            if (!problems.isEmpty()) {
                problems.forEach(p -> err.println("kcopyd: " + p.message()));
                return ConfigurationCheck.exitCode(problems);
            }
        }
        String[] args = (String[]) launcher.get("launcher.arguments");
        if (args == null || args.length == 0) {
            if (shell == null) {
                err.println("kcopyd: no command given and no Gogo shell installed; try: kcopyd --help");
                return Exit.USAGE;
            }
            // The process's own streams: Gogo has replaced System.out/err with per-session redirectors.
            try (CommandSession session = shell.createSession(new FileInputStream(FileDescriptor.in),
                    new PrintStream(new FileOutputStream(FileDescriptor.out), true),
                    new PrintStream(new FileOutputStream(FileDescriptor.err), true))) {
                session.execute("gosh --login --noshutdown");
            }
            return Exit.OK;
        }
        return Commands.run(new Console(services, new PrintWriter(System.out, true),
                new PrintWriter(System.err, true), System.console() != null, true), args);
    }
}
