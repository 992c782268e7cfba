package org.kcopyd.runtime.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which commands are the daemon's, and bad arguments refused (exit 2, naming the value) before any request. */
class ThinClientArgumentsTest {

    @TempDir
    Path dir;
    FakeDaemon daemon;

    @BeforeEach
    void start() throws IOException {
        daemon = new FakeDaemon(dir.resolve("state"));
    }

    @AfterEach
    void stop() {
        daemon.close();
    }

    private static boolean daemonCommand(String... args) {
        PrintStream nowhere = new PrintStream(new ByteArrayOutputStream());
        return ThinClient.run(args, Map.of(), Path.of("/"), nowhere, nowhere).isPresent();
    }

    @Test
    void oneShotCommandsAreLeftToTheFramework() {
        assertThat(daemonCommand()).isFalse();
        assertThat(daemonCommand("copy", "a.img", "b.img")).isFalse();
        assertThat(daemonCommand("copy", "a.img", "--", "--daemon")).isFalse();
        assertThat(daemonCommand("zero", "b.img")).isFalse();
        assertThat(daemonCommand("config")).isFalse();
        assertThat(daemonCommand("config", "--help")).isFalse();
        assertThat(daemonCommand("serve", "a.img", "--socket", "s")).isFalse();
        assertThat(daemonCommand("daemon", "--state", "/x")).isFalse();
        assertThat(daemonCommand("--help")).isFalse();
        assertThat(daemonCommand("demo")).isFalse();

        assertThat(daemonCommand("status", "--help")).isTrue();
        assertThat(daemonCommand("--state", "/nowhere", "--json", "snapshot", "--help")).isTrue();
        assertThat(daemonCommand("mirror", "status", "--help")).isTrue();
        assertThat(daemonCommand("export", "list", "--help")).isTrue();
        assertThat(daemonCommand("jobs", "--help")).isTrue();
        assertThat(daemonCommand("config", "get", "--help")).isTrue();
        assertThat(daemonCommand("copy", "--daemon", "--help")).isTrue();
        assertThat(daemonCommand("zero", "b.img", "--daemon", "--help")).isTrue();
    }

    private void refused(String expected, String... args) {
        FakeDaemon.Run r = daemon.run(dir, args);
        assertThat(r.exit()).as(String.join(" ", args)).isEqualTo(2);
        assertThat(r.err()).as(String.join(" ", args)).isEqualTo(expected + "\n");
        assertThat(r.out()).isEmpty();
        assertThat(daemon.requests).isEmpty();
    }

    @Test
    void badArgumentsAreRefusedBeforeAnyRequest() {
        refused("kcopyd snapshot create: snapshot name 'a/b' is not allowed: a name is 1 to 64 characters of A-Z a-z "
                + "0-9 . _ -, not only dots", "snapshot", "create", "a/b", "o.img", "c.cow");
        refused("kcopyd snapshot create: --chunk-sectors 24 is not a power of two in 8..2048",
                "snapshot", "create", "s", "o.img", "c.cow", "--chunk-sectors", "24");
        refused("kcopyd snapshot create: --size-mib '1x' is not a whole number in 1..16777216",
                "snapshot", "create", "s", "o.img", "c.cow", "--size-mib", "1x");
        refused("kcopyd snapshot create: --cow-store-id 'nope' is not a UUID (such as "
                + "123e4567-e89b-12d3-a456-426614174000)", "snapshot", "create", "s", "o.img", "c.cow", "--cow-store-id",
                "nope");
        refused("kcopyd snapshot create: origin 'snapshot:../x' names no snapshot: a name is 1 to 64 characters of A-Z "
                + "a-z 0-9 . _ -, not only dots (a file whose name starts with snapshot: is written ./NAME)",
                "snapshot", "create", "s", "snapshot:../x", "c.cow");
        refused("kcopyd snapshot create: missing arguments: snapshot create NAME ORIGIN COW [--chunk-sectors N] "
                + "[--size-mib N] [--cow-store-id ID | --format] [--origin-id IDENTITY]", "snapshot", "create", "s");
        refused("kcopyd snapshot list: unknown option '--all': snapshot list", "snapshot", "list", "--all");
        refused("kcopyd snapshot: unknown subcommand 'take': kcopyd snapshot create|list|merge|remove (kcopyd snapshot "
                + "--help)", "snapshot", "take");
        refused("kcopyd mirror create: leg 1 " + dir.resolve("./a.img") + " is leg 0 already",
                "mirror", "create", "m", "m.log", "a.img", "./a.img");
        refused("kcopyd mirror create: --region-sectors 1000 is not allowed: a power of two from 8 to 1048576 sectors",
                "mirror", "create", "m", "m.log", "a.img", "b.img", "--region-sectors", "1000");
        refused("kcopyd mirror create: --bandwidth 100 is not allowed: 0 (no cap) or at least 4096 bytes per second",
                "mirror", "create", "m", "m.log", "a.img", "b.img", "--bandwidth", "100");
        refused("kcopyd mirror create: missing arguments: mirror create NAME LOG LEG0 LEG1 [LEG...] [--region-sectors N] "
                + "[--bandwidth BYTES] [--log-id UUID | --format] [--wait]", "mirror", "create", "m", "m.log", "a.img");
        refused("kcopyd mirror replace-leg: LEG 'x' is not a leg number: 0 to 15", "mirror", "replace-leg", "m", "x",
                "c.img");
        refused("kcopyd export add: give one of --socket PATH and --listen HOST:PORT", "export", "add", "vm", "a.img");
        refused("kcopyd export add: give one of --socket PATH and --listen HOST:PORT, not both", "export", "add", "vm",
                "a.img", "--socket", "s", "--listen", "127.0.0.1:1");
        refused("kcopyd export add: --listen '127.0.0.1:+80': port '+80' is not a number from 1 to 65535",
                "export", "add", "vm", "a.img", "--listen", "127.0.0.1:+80");
        refused("kcopyd export add: --max-connections 0 is outside 1..100000", "export", "add", "vm", "a.img",
                "--socket", "s", "--max-connections", "0");
        refused("kcopyd export add: --tls-verify-clients needs --tls DIR (whose ca-cert.pem signs the clients' "
                + "certificates)", "export", "add", "vm", "a.img", "--socket", "s", "--tls-verify-clients");
        refused("kcopyd export add: --socket " + "/" + "s".repeat(120) + " is 121 bytes long; a Unix socket path holds "
                + "at most 107", "export", "add", "vm", "a.img", "--socket", "/" + "s".repeat(120));
        refused("kcopyd jobs cancel: job ID '../x' is not a job's identity (1 to 80 characters of A-Z a-z 0-9 . _ -, as "
                + "jobs lists them)", "jobs", "cancel", "../x");
        refused("kcopyd copy: --verify is not available with --daemon (the daemon's copy job has no such setting); run "
                + "copy without --daemon", "copy", "--daemon", "a.img", "b.img", "--verify");
        refused("kcopyd copy: source 'a.img:8+8': a daemon job copies whole devices and the text after ':' would be a "
                + "region (SRC:SECTOR+COUNT); run the command without --daemon for a region, or rename the file",
                "copy", "--daemon", "a.img:8+8", "b.img");
        refused("kcopyd copy: --sparse 'sometimes' is not auto, always or never", "copy", "--daemon", "a.img", "b.img",
                "--sparse", "sometimes");
        refused("kcopyd copy: destination 'a.img' is the source (both are " + dir.resolve("a.img") + ")", "copy",
                "--daemon", "a.img", "a.img");
        refused("kcopyd copy: destination '-' is not standard output: kcopyd copies to devices and files only; to "
                + "name a file -, write ./-", "copy", "--daemon", "a.img", "-");
        refused("kcopyd copy: source '-' is not standard input: kcopyd copies from devices and files only; to name a "
                + "file -, write ./-", "copy", "--daemon", "-", "b.img");
        refused("kcopyd copy: destination 'b.img' is named twice (as " + dir.resolve("b.img") + ")", "copy",
                "--daemon", "a.img", "b.img", "b.img");
        refused("kcopyd config set: 'defaultPages' is not KEY=VALUE (such as defaultPages=4096)", "config", "set",
                "defaultPages");
        refused("kcopyd config set: defaultPages is given twice", "config", "set", "defaultPages=1", "defaultPages=2");
        refused("kcopyd status: --json takes no value: '--json=yes'", "status", "--json=yes");
    }

    @Test
    void aBadStateOptionIsRefusedToo() {
        FakeDaemon.Run r = FakeDaemon.client(dir, Map.of(), "status", "--state", "/a", "--state", "/b");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("kcopyd status: --state is given twice ('/a' and '/b')\n");
    }
}
