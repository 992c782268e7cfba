package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.snapshot.Snapshot;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * {@code mirror create|status|remove} refuse bad arguments with exit code 2 and one line naming
 * the value and the limit, before any configuration is made or any file touched.
 */
class MirrorCommandTest {

    @TempDir
    Path dir;
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();
    /** Every use of Config Admin: a refusal must come before any. */
    private final List<String> configAdminUses = new ArrayList<>();

    private final Services services = new Services() {
        @Override
        public KcopydClientFactory factory(Duration wait) {
            throw new IllegalStateException("no factory in this test");
        }

        @Override
        public BlockDeviceOpener devices(Duration wait) {
            throw new IllegalStateException("no opener in this test");
        }

        @Override
        public Map<String, Object> factoryProperties() {
            return Map.of();
        }

        @Override
        public ConfigurationAdmin configurationAdmin() {
            configAdminUses.add("configurationAdmin");
            throw new IllegalStateException("no Config Admin in this test");
        }

        @Override
        public List<Snapshot> snapshots() {
            return List.of();
        }

        @Override
        public List<Mirror> mirrors() {
            return List.of();
        }

        @Override
        public Snapshot snapshot(String name, Duration wait) {
            return null;
        }

        @Override
        public Mirror mirror(String name, Duration wait) {
            return null;
        }

        @Override
        public BlockDevice origin(String path, Duration wait) {
            return null;
        }
    };

    private final Console console = new Console(services, new PrintWriter(out, true), new PrintWriter(err, true), false);

    private int run(String... args) {
        return Commands.run(console, args);
    }

    private Path image(String name) throws Exception {
        byte[] data = new byte[64 * 1024];
        new Random(name.hashCode()).nextBytes(data);
        return Files.write(dir.resolve(name), data);
    }

    /** Runs a command that must be refused as a usage error, touching nothing; returns its message. */
    private String refused(String... args) throws Exception {
        List<Path> before;
        try (var files = Files.list(dir)) {
            before = files.sorted().toList();
        }
        Map<Path, byte[]> contents = new java.util.HashMap<>();
        for (Path f : before) {
            if (Files.isRegularFile(f)) {
                contents.put(f, Files.readAllBytes(f));
            }
        }

        int code = run(args);

        assertThat(code).as(err.toString()).isEqualTo(Exit.USAGE);
        assertThat(configAdminUses).as("no configuration made").isEmpty();
        try (var files = Files.list(dir)) {
            assertThat(files.sorted().toList()).as("no file made").isEqualTo(before);
        }
        for (Map.Entry<Path, byte[]> e : contents.entrySet()) {
            assertThat(Files.readAllBytes(e.getKey())).as(e.getKey() + " untouched").isEqualTo(e.getValue());
        }
        String message = err.toString().strip();
        assertThat(message.lines()).as("one line").hasSize(1);
        err.getBuffer().setLength(0);
        return message;
    }

    private String[] create(String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("mirror", "create", "m", dir.resolve("m.log").toString(),
                image("a.img").toString(), image("b.img").toString()));
        args.addAll(List.of(more));
        return args.toArray(new String[0]);
    }

    @Test
    void aRegionSizeThatIsNotAPowerOfTwoFrom8To1048576IsExit2() throws Exception {
        for (String bad : new String[] {"-8", "0", "7", "12", "2097152"}) {
            assertThat(refused(create("--region-sectors", bad))).isEqualTo("kcopyd mirror: --region-sectors " + bad
                    + " is not allowed: a power of two from 8 to 1048576 sectors");
        }
    }

    @Test
    void badNamesBandwidthsAndLegCountsAreExit2() throws Exception {
        assertThat(refused("mirror", "create", "b*", dir.resolve("m.log").toString(), image("a.img").toString(),
                image("b.img").toString())).isEqualTo("kcopyd mirror: mirror name 'b*' is not allowed: 1 to 64 "
                        + "letters, digits, '.', '_' or '-'");
        assertThat(refused(create("--bandwidth", "100"))).contains("--bandwidth 100 is not allowed: 0 (no cap) or at "
                + "least 4096 bytes per second");
        assertThat(refused(create("--bandwidth", "-1"))).contains("--bandwidth -1 is not allowed");
        List<String> many = new ArrayList<>(List.of("mirror", "create", "m", dir.resolve("m.log").toString()));
        for (int i = 0; i < 17; i++) {
            many.add(image(i + ".img").toString());
        }
        assertThat(refused(many.toArray(new String[0]))).isEqualTo("kcopyd mirror: 17 legs given, a mirror has 2 to 16");
        assertThat(refused(create("--log-id", "xyz"))).isEqualTo("kcopyd mirror: --log-id 'xyz' is not a UUID "
                + "(8-4-4-4-12 hexadecimal digits)");
    }

    @Test
    void theRegionLogMayNotBeALegAndALegNotTwiceUnderAnySpelling() throws Exception {
        Path a = image("a.img");
        Path b = image("b.img");
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), a);

        assertThat(refused("mirror", "create", "m", a.toString(), a.toString(), b.toString()))
                .isEqualTo("kcopyd mirror: LOG " + a + " is leg 0 " + a + "; the region log must be a file of its own");
        assertThat(refused("mirror", "create", "m", link.toString(), a.toString(), b.toString()))
                .contains("is leg 0 " + a);
        assertThat(refused("mirror", "create", "m", dir.resolve("m.log").toString(), a.toString(), link.toString()))
                .isEqualTo("kcopyd mirror: leg 1 " + link + " is leg 0 " + a + " already");
        assertThat(refused("mirror", "create", "m", dir.resolve("m.log").toString(), a.toString(),
                dir.resolve("./a.img").toString())).contains("leg 1 ").contains(" is leg 0 " + a + " already");
    }

    @Test
    void aLogIdentityWithNoLogThereIsExit2() throws Exception {
        UUID id = UUID.randomUUID();
        assertThat(refused(create("--log-id", id.toString()))).isEqualTo("kcopyd mirror: no region log at "
                + dir.resolve("m.log") + " to use (--log-id " + id + ")");
    }

    /**
     * A kcopyd region log is never formatted, not even with --format: the command does not decide
     * it on its own (it cannot read the header), it hands the file to the mirror component and
     * reports its refusal as it is, exit code 2, with or without --format.
     */
    @Test
    void whatAnExistingLogHoldsIsTheMirrorsToDecideAndItsRefusalIsExit2InOneLine() throws Exception {
        FakeRuntime runtime = new FakeRuntime();
        Path log = image("m.log");
        Path a = image("a.img");
        Path b = image("b.img");
        String id = "6b63706d-6972-726f-7220-746573740001";
        String refusal = "mirror 'm': " + log + " is the region log of mirror 'm' (regionLogId " + id + "; regions of "
                + "1024 sectors, a mirror of 128 sectors, legs [" + a + " IN_SYNC, " + b + " IN_SYNC]), and the "
                + "configuration names no regionLogId, so it is not adopted; a kcopyd region log is never formatted, not "
                + "even with format=true (--format): set regionLogId=" + id + " (--log-id " + id + ") to adopt it, or "
                + "delete " + log + " yourself to start afresh (a new log resyncs every leg from leg 0)";
        List<Dictionary<String, Object>> seen = new ArrayList<>();
        var description = FakeRuntime.description(Mirror.FACTORY_PID, Mirror.FACTORY_PID);
        runtime.descriptions.add(description);
        runtime.ds = p -> {
            seen.add(new java.util.Hashtable<>(p));
            return FakeRuntime.component(description, Map.copyOf(p),
                    org.osgi.service.component.runtime.dto.ComponentConfigurationDTO.FAILED_ACTIVATION,
                    "java.lang.IllegalArgumentException: " + refusal + "\n\tat x.y(Z.java:1)\n");
        };
        Console fake = new Console(runtime, new PrintWriter(out, true), new PrintWriter(err, true), false);
        byte[] before = Files.readAllBytes(log);

        for (boolean format : new boolean[] {false, true}) {
            err.getBuffer().setLength(0);
            seen.clear();
            List<String> args = new ArrayList<>(List.of("mirror", "create", "m", log.toString(), a.toString(),
                    b.toString()));
            if (format) {
                args.add("--format");
            }

            assertThat(Commands.run(fake, args.toArray(new String[0]))).as("format " + format).isEqualTo(Exit.USAGE);

            assertThat(err.toString()).isEqualTo("kcopyd mirror: mirror 'm' not created: " + refusal
                    + System.lineSeparator());
            assertThat(seen.get(0).get(Mirror.CONFIG_FORMAT)).isEqualTo(format ? true : null);
            assertThat(seen.get(0).get(Mirror.CONFIG_REGION_LOG_ID)).isNull();
            assertThat(runtime.configurations).as("nothing left behind").isEmpty();
            assertThat(Files.readAllBytes(log)).isEqualTo(before);
        }
        assertThat(out.toString()).isEmpty();
    }

    @Test
    void theConfigurationHasTheLegsAsAListWhoseCommasStayInsideTheirPaths() throws Exception {
        MirrorCommand.Create create = new MirrorCommand.Create(console);
        create.name = "m";
        create.log = dir.resolve("m.log").toString();
        create.legs = List.of(image("x,y.img").toString(), "service:remote", image("b.img").toString());

        Dictionary<String, Object> props = create.properties();

        assertThat((String[]) props.get(Mirror.CONFIG_LEGS))
                .containsExactly(dir.resolve("x,y.img").toString(), "service:remote", dir.resolve("b.img").toString());
        assertThat(props.get(Mirror.CONFIG_REGION_LOG)).isEqualTo(dir.resolve("m.log").toString());
        assertThat(props.get(Mirror.CONFIG_REGION_SECTORS)).isEqualTo(Mirror.DEFAULT_REGION_SECTORS);
        assertThat(props.get(Mirror.CONFIG_REGION_LOG_ID)).as("a new log: its identity is the mirror's to choose")
                .isNull();
        assertThat(props.get(Mirror.CONFIG_FORMAT)).isNull();

        Path notes = image("notes.bin");
        create.log = notes.toString();
        create.format = true;
        create.logId = UUID.randomUUID().toString();
        props = create.properties();
        assertThat(props.get(Mirror.CONFIG_FORMAT)).isEqualTo(true);
        assertThat(props.get(Mirror.CONFIG_REGION_LOG_ID)).isEqualTo(create.logId);
    }

    @Test
    void statusAndRemoveRefuseNamesThatAreNotMirrorNames() throws Exception {
        assertThat(refused("mirror", "remove", "b*")).startsWith("kcopyd mirror: mirror name 'b*' is not allowed");
        assertThat(refused("mirror", "status", "(x)")).startsWith("kcopyd mirror: mirror name '(x)' is not allowed");
    }

    @Test
    void theReuseHintQuotesWhatAShellWouldSplit() {
        assertThat(MirrorCommand.quoted("/d/a,b.img")).isEqualTo("/d/a,b.img");
        assertThat(MirrorCommand.quoted("/d/a b.img")).isEqualTo("'/d/a b.img'");
        assertThat(MirrorCommand.quoted("/d/it's")).isEqualTo("'/d/it'\\''s'");
    }
}
