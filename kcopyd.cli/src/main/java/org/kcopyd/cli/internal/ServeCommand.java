package org.kcopyd.cli.internal;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.device.FileErrors;
import org.kcopyd.nbd.NbdServer;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code serve DEVICE (--socket PATH | --listen HOST:PORT)}: an NBD server of one file or block
 * device in the foreground, like {@code qemu-nbd} or {@code nbdkit file}, until Ctrl-C or SIGTERM
 * (or, in the shell, until the command is interrupted). It prints one line when it listens (the
 * URI clients use) and one when it stops. The device is opened read-write and claimed unless
 * {@code --read-only}; when the server stops, its clients are disconnected, a Unix socket is
 * removed and the device closed. With {@code --tls-certificates DIR} clients must use TLS
 * ({@code nbds://}, {@code nbds+unix://}), and TCP on any address is allowed.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, versionProvider = BundleVersion.class,
        description = {
            "Serves a file or block device to NBD clients (nbdcopy, qemu-img, qemu-io, nbdinfo, nbd-client) until "
                + "Ctrl-C or SIGTERM, on a Unix socket or TCP. Prints the URI clients use when it listens, and one "
                + "line when it stops.",
            "DEVICE is opened read-write and claimed (refused while a snapshot, mirror or copy holds it, or another "
                + "kcopyd process reads it) unless --read-only (then no other kcopyd process can write it while it is "
                + "served). The default export name is empty, so nbdcopy nbd+unix:///?socket=PATH out.img works.",
            "With --tls-certificates DIR (nbdkit's layout: server-cert.pem, server-key.pem as unencrypted PKCS#8, "
                + "ca-cert.pem) clients must start TLS (nbds:// and nbds+unix:// URIs) before they learn anything. "
                + "Without it, TCP on an address other than loopback is refused unless --insecure.",
            "With --json, standard output carries one JSON object per line: {\"result\":\"listening\",...} when it "
                + "listens, then {\"result\":\"stopped\",...}; or one {\"result\":\"error\",...} if it cannot start."},
        exitCodeListHeading = "%nExit codes:%n", exitCodeList = {
            "0:stopped (in the shell, when the command is interrupted: 130)",
            "1:could not run: the device could not be opened or is in use (claimed), the address is in use",
            "2:bad arguments: both or neither of --socket and --listen, a bad address, a non-loopback address "
                + "without --tls-certificates or --insecure, TLS files that cannot be used, a socket path that exists "
                + "and is not a socket, the wrong kind of file",
            "130:stopped by Ctrl-C (SIGINT)",
            "143:stopped by SIGTERM"})
final class ServeCommand implements Callable<Integer> {

    /** sun_path holds 108 bytes, one of which ends the path. */
    private static final int MAX_SOCKET_PATH = 107;
    private static final int MAX_CONNECTIONS = 100_000;

    @Parameters(index = "0", paramLabel = "DEVICE", description = "The file or block device to serve (a path, not "
            + "a URI).")
    String device;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Where where;

    /** Exactly one of the two. */
    static final class Where {
        @Option(names = "--socket", paramLabel = "PATH", required = true,
                description = "Listen on this Unix domain socket (a socket file nothing listens on is replaced; "
                        + "any other file is refused); removed when the server stops.")
        Path socket;

        @Option(names = "--listen", paramLabel = "HOST:PORT", required = true,
                description = "Listen on TCP; [ADDRESS]:PORT for IPv6. Loopback only, unless --tls-certificates or "
                        + "--insecure.")
        String listen;
    }

    @Option(names = "--export", paramLabel = "NAME", defaultValue = "",
            description = "The export's name (default: empty, the default export).")
    String export;

    @Option(names = "--read-only", description = "Clients cannot write; the device is opened read-only: not claimed, but "
            + "no other kcopyd process can write it while it is served.")
    boolean readOnly;

    @Option(names = "--insecure", description = "Allow TCP on an address other than loopback without TLS: anyone "
            + "who reaches the port can read (and unless --read-only, write) the device.")
    boolean insecure;

    @Option(names = "--tls-certificates", paramLabel = "DIR",
            description = "Require TLS, with DIR/server-cert.pem (the certificate, optionally followed by its chain) "
                    + "and DIR/server-key.pem (unencrypted PKCS#8, 'BEGIN PRIVATE KEY'; convert others with 'openssl "
                    + "pkcs8 -topk8 -nocrypt'), as nbdkit's --tls-certificates. The printed URI names DIR when it "
                    + "holds ca-cert.pem.")
    Path tlsCertificates;

    @Option(names = "--tls-verify-peer", description = "With --tls-certificates: clients must present a "
            + "certificate signed by DIR/ca-cert.pem.")
    boolean tlsVerifyPeer;

    @Option(names = "--max-connections", paramLabel = "N", defaultValue = "64",
            description = "Clients served at once, 1 to 100000 (default ${DEFAULT-VALUE}); more are disconnected.")
    int maxConnections;

    @Option(names = "--json", description = "Print JSON objects on standard output instead of words.")
    boolean json;

    /** Where the stop on SIGINT/SIGTERM is hooked in; tests run the hook themselves. */
    ShutdownHooks hooks = ShutdownHooks.RUNTIME;

    private final Console console;

    ServeCommand(Console console) {
        this.console = console;
    }

    @Override
    public Integer call() {
        Report report = new Report(console, "serve", json);
        try {
            return serve();
        } catch (CommandException e) {
            return report.refused(e, List.of(device));
        } catch (IllegalArgumentException e) {
            return report.refused(CommandException.usage(e.getMessage()), List.of(device));
        } catch (RuntimeException e) {
            return report.refused(CommandException.failed(FileErrors.reason(e)), List.of(device));
        }
    }

    private int serve() {
        if (maxConnections < 1 || maxConnections > MAX_CONNECTIONS) {
            throw CommandException.usage("--max-connections " + maxConnections + " is outside 1.." + MAX_CONNECTIONS);
        }
        checkExportName();
        Path socket = where.socket == null ? null : where.socket.toAbsolutePath().normalize();
        String[] tcp = socket == null ? listenAddress(where.listen) : null;
        if (socket != null) {
            int bytes = socket.toString().getBytes(StandardCharsets.UTF_8).length;
            if (bytes > MAX_SOCKET_PATH) {
                throw CommandException.usage("--socket " + socket + " is " + bytes + " bytes long; a Unix socket path "
                        + "holds at most " + MAX_SOCKET_PATH);
            }
            refuseReservedSocket(socket);
        }
        NbdServer.Builder builder = NbdServer.builder().maxConnections(maxConnections);
        if (tlsVerifyPeer && tlsCertificates == null) {
            throw CommandException.usage("--tls-verify-peer needs --tls-certificates DIR (whose ca-cert.pem signs the "
                    + "clients' certificates)");
        }
        if (tlsCertificates != null) {
            try {
                builder.tls(tlsCertificates.toAbsolutePath().normalize(), tlsVerifyPeer);
            } catch (IOException e) {
                throw CommandException.usage("--tls-certificates: " + e.getMessage());
            }
        }
        if (RegionSpec.URI_PREFIX.matcher(device).lookingAt()) {
            throw CommandException.usage("device '" + device + "' is a URI: serve exports a file or block device "
                    + "(a file whose name starts like a URI is ./NAME)");
        }
        Operand operand = Operand.existing(Path.of(device), "device");
        if (operand.regular()) {
            checkWholeSectors(operand.path());
        }
        BlockDeviceOpener opener = console.services().devices(Console.WAIT);
        BlockDevice opened = open(opener, operand);
        NbdServer server;
        try {
            builder.export(export, opened, readOnly);
            server = socket != null ? builder.startUnix(socket) : builder.startTcp(tcp[0], Integer.parseInt(tcp[1]));
        } catch (FileAlreadyExistsException e) {
            close(opened);
            String why = (socket != null ? socket : e.getFile()) + " " + (e.getReason() == null ? "exists" : e.getReason());
            throw e.getReason() != null && e.getReason().contains("not a socket") ? CommandException.usage(why)
                    : CommandException.failed(why);
        } catch (BindException e) {
            close(opened);
            throw CommandException.failed("cannot listen on " + where.listen + ": " + e.getMessage());
        } catch (IOException e) {
            close(opened);
            throw CommandException.failed(FileErrors.describe(e, "listen on " + (socket != null ? socket
                    : where.listen)));
        } catch (RuntimeException e) {
            close(opened);
            throw e;
        }
        return run(server, opened, operand);
    }

    private void checkExportName() {
        byte[] bytes = export.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > 4096) {
            throw CommandException.usage("--export name of " + bytes.length + " bytes is longer than the protocol's "
                    + "limit 4096 bytes");
        }
        if (export.indexOf('\0') >= 0) {
            throw CommandException.usage("--export name contains NUL");
        }
    }

    /**
     * Refuses a socket in a daemon's state directory (or on one of its files): a file the daemon did
     * not make there would stop its next start, which refuses a state directory holding others.
     */
    static void refuseReservedSocket(Path socket) {
        try {
            org.kcopyd.device.FileClaims.refuseReserved(socket);
        } catch (org.kcopyd.device.FileClaimedException e) {
            throw CommandException.usage("--socket " + socket + " is refused: " + e.getMessage());
        }
    }

    /**
     * Refuses a regular file whose size is not whole sectors: the export would be its whole
     * sectors only, and a client copying it would silently lose the tail.
     */
    private static void checkWholeSectors(Path file) {
        try {
            // A daemon's own file is refused as what it is, never advised to be extended (found by H25).
            org.kcopyd.device.FileClaims.refuseReserved(file);
        } catch (org.kcopyd.device.FileClaimedException e) {
            throw CommandException.failed(e.getMessage());
        }
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw CommandException.failed(FileErrors.describe(e, "examine device " + file));
        }
        long tail = size % BlockDevice.SECTOR_SIZE;
        if (tail != 0) {
            long whole = size - tail + BlockDevice.SECTOR_SIZE;
            throw CommandException.usage("device " + file + " has " + size + " bytes, not whole sectors of "
                    + BlockDevice.SECTOR_SIZE + ": NBD clients would see only its first " + (size - tail)
                    + " bytes and lose the last " + tail + "; extend it to " + whole + " bytes (truncate -s "
                    + whole + " '" + file + "') to serve it");
        }
    }

    /** @return host and port of {@code HOST:PORT} or {@code [ADDRESS]:PORT}, checked */
    private String[] listenAddress(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw CommandException.usage("--listen '" + text + "' is not HOST:PORT");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw CommandException.usage("--listen '" + text + "': write an IPv6 address in brackets, [ADDRESS]:PORT");
        }
        int port;
        try {
            String digits = text.substring(colon + 1);
            if (!digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new NumberFormatException(digits);
            }
            port = Integer.parseInt(digits);
        } catch (NumberFormatException e) {
            throw CommandException.usage("--listen '" + text + "': port '" + text.substring(colon + 1)
                    + "' is not a number from 1 to 65535");
        }
        if (port < 1 || port > 65535) {
            throw CommandException.usage("--listen '" + text + "': port " + port + " is outside 1..65535");
        }
        InetAddress address;
        try {
            address = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw CommandException.usage("--listen '" + text + "': host '" + host + "' cannot be resolved");
        }
        if (!address.isLoopbackAddress() && !insecure && tlsCertificates == null) {
            throw CommandException.usage("--listen " + text + " is not a loopback address, and without TLS anyone "
                    + "reaching it could read" + (readOnly ? "" : " and write") + " " + device
                    + "; add --tls-certificates DIR for TLS, or --insecure to allow it without, or listen on "
                    + "127.0.0.1 or a Unix socket");
        }
        return new String[] {address.getHostAddress(), Integer.toString(port)};
    }

    private BlockDevice open(BlockDeviceOpener opener, Operand operand) {
        try {
            return readOnly ? opener.open(operand.path()) : opener.open(operand.path(), DeviceOption.READ_WRITE);
        } catch (IOException e) {
            throw CommandException.failed(FileErrors.describe(e, "open " + operand.name() + " for "
                    + (readOnly ? "reading" : "writing")));
        }
    }

    /** Serves until interrupted (the shell) or until the JVM shuts down (SIGINT, SIGTERM). */
    private int run(NbdServer server, BlockDevice opened, Operand operand) {
        String uri = server.uri(export).toString();
        AtomicBoolean stopped = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(1);
        Runnable stop = () -> {
            if (stopped.compareAndSet(false, true)) {
                int clients = server.connections();
                server.close();
                close(opened);
                report("stopped", uri, operand, clients);
                done.countDown();
            }
        };
        Thread hook = new Thread(() -> {
            stop.run();
            awaitQuietly(done);
        }, "kcopyd-serve-stop");
        hooks.add(hook);
        if (json) {
            Map<String, Object> m = fields("listening", uri, operand);
            console.out().println(Json.of(m));
        } else {
            console.out().println("kcopyd serve: serving " + operand.name() + (readOnly ? " read-only" : " read-write")
                    + " at " + uri);
        }
        console.out().flush();
        try {
            done.await();
            return Exit.OK;
        } catch (InterruptedException e) {
            // The shell's Ctrl-C interrupts the command's thread.
            stop.run();
            return Exit.INTERRUPTED;
        } finally {
            hooks.remove(hook);
        }
    }

    private void report(String result, String uri, Operand operand, int clients) {
        if (json) {
            Map<String, Object> m = fields(result, uri, operand);
            m.put("clientsDisconnected", clients);
            console.out().println(Json.of(m));
        } else {
            console.out().println("kcopyd serve: stopped serving " + operand.name() + " at " + uri + " ("
                    + clients + " client" + (clients == 1 ? "" : "s") + " disconnected)");
        }
        console.out().flush();
    }

    private Map<String, Object> fields(String result, String uri, Operand operand) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("result", result);
        m.put("uri", uri);
        m.put("device", operand.name());
        m.put("export", export);
        m.put("readOnly", readOnly);
        m.put("tls", tlsCertificates != null);
        return m;
    }

    private static void awaitQuietly(CountDownLatch done) {
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void close(BlockDevice device) {
        try {
            device.close();
        } catch (IOException e) {
            // Closing a device that served reads and writes: nothing to report that the clients did not see.
        }
    }
}
