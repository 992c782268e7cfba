package org.kcopyd.cli.internal;

import java.io.PrintWriter;

import org.apache.felix.service.command.Descriptor;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * The {@code kcopyd} scope of the Gogo shell: the same commands, options and messages as the
 * runtime's command line ({@code kcopyd:copy --help} shows the details of each).
 *
 * <p>A command that fails has said why on the session's standard error, in one line, and returns
 * normally: an exception would make Gogo print it again as {@code gogo: IllegalStateException...}
 * and Karaf log it as an ERROR with its stack trace, for what is a user's mistake or a missing file.
 */
@Component(service = KcopydShellCommands.class, property = {"osgi.command.scope=kcopyd",
    "osgi.command.function=copy", "osgi.command.function=zero", "osgi.command.function=serve",
    "osgi.command.function=snapshot",
    "osgi.command.function=mirror", "osgi.command.function=config", "osgi.command.function=demo"})
public final class KcopydShellCommands {

    private Services services;
    private OsgiServices owned;

    /** For Declarative Services. */
    public KcopydShellCommands() {
    }

    KcopydShellCommands(Services services) {
        this.services = services;
    }

    @Activate
    void activate(BundleContext context) {
        owned = new OsgiServices(context);
        services = owned;
    }

    @Deactivate
    void deactivate() {
        owned.close();
    }

    /**
     * Runs one command; never throws for a failure of the command, which it has reported.
     *
     * @return the exit code (see {@link Exit}), for tests: the shell functions return nothing
     */
    int run(String command, String... args) {
        String[] all = new String[args.length + 1];
        all[0] = command;
        System.arraycopy(args, 0, all, 1, args.length);
        // Gogo redirects System.out and System.err per session: commands print to the caller's console.
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        int code;
        try {
            code = Commands.run(new Console(services, out, err, false, false), all);
        } catch (RuntimeException e) {
            // Commands.run reports failures itself; anything escaping it still gets one line.
            err.println("kcopyd " + command + ": " + Console.printable(
                    e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()));
            code = Exit.FAILED;
        }
        return code;
    }

    /** @see CopyCommand */
    @Descriptor("copy SRC[:SECTOR[+COUNT]] DST[:SECTOR]... [--flush] [--direct] [--ignore-errors] [--json]: "
            + "copies a region to one or more destinations")
    public String copy(@Descriptor("arguments (see copy --help)") String... args) {
        run("copy", args);
        return null;
    }

    /** @see ZeroCommand */
    @Descriptor("zero DST[:SECTOR[+COUNT]]... [--flush] [--json]: sets regions to zeros")
    public String zero(@Descriptor("arguments (see zero --help)") String... args) {
        run("zero", args);
        return null;
    }

    /** @see ServeCommand */
    @Descriptor("serve DEVICE (--socket PATH | --listen HOST:PORT) [--export NAME] [--read-only]: an NBD server of "
            + "DEVICE until interrupted")
    public String serve(@Descriptor("arguments (see serve --help)") String... args) {
        run("serve", args);
        return null;
    }

    /** @see SnapshotCommand */
    @Descriptor("snapshot create NAME ORIGIN COW | list | merge NAME | remove NAME: copy-on-write snapshots")
    public String snapshot(@Descriptor("subcommand and arguments (see snapshot --help)") String... args) {
        run("snapshot", args);
        return null;
    }

    /** @see MirrorCommand */
    @Descriptor("mirror create NAME LOG LEG0 LEG1... | status [NAME] | replace-leg NAME LEG DEVICE | remove NAME: "
            + "mirrors and their resync")
    public String mirror(@Descriptor("subcommand and arguments (see mirror --help)") String... args) {
        run("mirror", args);
        return null;
    }

    /** @see ConfigCommand */
    @Descriptor("shows the engine's effective configuration")
    public String config() {
        run("config");
        return null;
    }

    /** @see DemoCommand */
    @Descriptor("demo [--dir DIR] [--size-mib N] [--keep]: the built-in demonstration")
    public String demo(@Descriptor("arguments (see demo --help)") String... args) {
        run("demo", args);
        return null;
    }
}
