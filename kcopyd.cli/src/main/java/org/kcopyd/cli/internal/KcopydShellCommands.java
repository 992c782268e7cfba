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
 */
@Component(service = KcopydShellCommands.class, property = {"osgi.command.scope=kcopyd",
    "osgi.command.function=copy", "osgi.command.function=zero", "osgi.command.function=snapshot",
    "osgi.command.function=mirror", "osgi.command.function=config", "osgi.command.function=demo"})
public final class KcopydShellCommands {

    private OsgiServices services;

    @Activate
    void activate(BundleContext context) {
        services = new OsgiServices(context);
    }

    @Deactivate
    void deactivate() {
        services.close();
    }

    private String run(String command, String... args) {
        String[] all = new String[args.length + 1];
        all[0] = command;
        System.arraycopy(args, 0, all, 1, args.length);
        // Gogo redirects System.out per session: commands print to the caller's console.
        PrintWriter out = new PrintWriter(System.out, true);
        int code = Commands.run(new Console(services, out, new PrintWriter(System.err, true), false), all);
        if (code != Exit.OK) {
            throw new IllegalStateException("kcopyd " + command + " failed (exit code " + code + ")");
        }
        return null;
    }

    /** @see CopyCommand */
    @Descriptor("copy SRC[:SECTOR[+COUNT]] DST[:SECTOR]... [--flush] [--direct] [--ignore-errors] [--json]: "
            + "copies a region to one or more destinations")
    public String copy(@Descriptor("arguments (see copy --help)") String... args) {
        return run("copy", args);
    }

    /** @see ZeroCommand */
    @Descriptor("zero DST[:SECTOR[+COUNT]]... [--flush] [--json]: sets regions to zeros")
    public String zero(@Descriptor("arguments (see zero --help)") String... args) {
        return run("zero", args);
    }

    /** @see SnapshotCommand */
    @Descriptor("snapshot create NAME ORIGIN COW | list | merge NAME | remove NAME: copy-on-write snapshots")
    public String snapshot(@Descriptor("subcommand and arguments (see snapshot --help)") String... args) {
        return run("snapshot", args);
    }

    /** @see MirrorCommand */
    @Descriptor("mirror create NAME LOG LEG0 LEG1... | status [NAME] | remove NAME: mirrors and their resync")
    public String mirror(@Descriptor("subcommand and arguments (see mirror --help)") String... args) {
        return run("mirror", args);
    }

    /** @see ConfigCommand */
    @Descriptor("shows the engine's effective configuration")
    public String config() {
        return run("config");
    }

    /** @see DemoCommand */
    @Descriptor("demo [--dir DIR] [--size-mib N] [--keep]: the built-in demonstration")
    public String demo(@Descriptor("arguments (see demo --help)") String... args) {
        return run("demo", args);
    }
}
