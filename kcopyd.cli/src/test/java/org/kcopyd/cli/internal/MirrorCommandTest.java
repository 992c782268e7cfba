package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.mirror.LegState;
import org.kcopyd.mirror.LegStatus;
import org.kcopyd.mirror.Mirror;
import org.kcopyd.mirror.MirrorStatus;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;

import picocli.CommandLine;

/**
 * {@code mirror create|status|remove} refuse bad arguments with exit code 2 and one line naming
 * the value and the limit, before any configuration is made or any file touched.
 */
class MirrorCommandTest {

    @TempDir
    Path dir;
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();
    /** Every use of Config Admin ({@link FakeRuntime#configAdminCalls}): a refusal must come before any. */
    private final FakeRuntime runtime = new FakeRuntime();

    private final Console console = new Console(runtime, new PrintWriter(out, true), new PrintWriter(err, true), false);

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
        assertThat(runtime.configAdminCalls).as("no configuration made").isEmpty();
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

    /** As the daemon's thin client says it: no mirrors is one line saying so, not nothing. */
    @Test
    void statusWithNoMirrorsSaysSo() {
        assertThat(run("mirror", "status")).isZero();
        assertThat(out.toString()).isEqualTo("no mirrors" + System.lineSeparator());
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
                image("b.img").toString())).isEqualTo("kcopyd mirror: mirror name 'b*' is not allowed: a name is 1 to "
                        + "64 characters of A-Z a-z 0-9 . _ -, not only dots");
        assertThat(refused(create("--bandwidth", "100"))).contains("--bandwidth 100 is not allowed: 0 (no cap) or at "
                + "least 4096 bytes per second");
        assertThat(refused(create("--bandwidth", "-1"))).contains("--bandwidth -1 is not allowed");
        List<String> many = new ArrayList<>(List.of("mirror", "create", "m", dir.resolve("m.log").toString()));
        for (int i = 0; i < 17; i++) {
            many.add(image(i + ".img").toString());
        }
        assertThat(refused(many.toArray(new String[0]))).isEqualTo("kcopyd mirror: 17 legs given: a mirror has 2 to 16");
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
        String refusal = notAdopted("m", "m", log, id, a, b);
        List<Dictionary<String, Object>> seen = failActivation(runtime, refusal);
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

    /**
     * The hostile case {@code mirror create y x.log a.img b.img --format}, x.log being mirror x's
     * valid region log: the command passes format and no identity to the component, reports its
     * refusal (as MirrorComponentTest has the component give it) in one line with exit code 2,
     * leaves no configuration, and x.log is unchanged.
     */
    @Test
    void formatOverAnotherMirrorsLogIsExit2AndLeavesItAsItWas() throws Exception {
        FakeRuntime runtime = new FakeRuntime();
        Path log = image("x.log");
        Path a = image("a.img");
        Path b = image("b.img");
        String id = UUID.randomUUID().toString();
        String refusal = notAdopted("y", "x", log, id, a, b);
        List<Dictionary<String, Object>> seen = failActivation(runtime, refusal);
        Console fake = new Console(runtime, new PrintWriter(out, true), new PrintWriter(err, true), false);
        byte[] before = Files.readAllBytes(log);

        int code = Commands.run(fake, "mirror", "create", "y", log.toString(), a.toString(), b.toString(), "--format");

        assertThat(code).isEqualTo(Exit.USAGE);
        assertThat(err.toString()).isEqualTo("kcopyd mirror: mirror 'y' not created: " + refusal
                + System.lineSeparator());
        assertThat(seen).hasSize(1);
        assertThat(seen.get(0).get(Mirror.CONFIG_NAME)).isEqualTo("y");
        assertThat(seen.get(0).get(Mirror.CONFIG_REGION_LOG)).isEqualTo(log.toString());
        assertThat(seen.get(0).get(Mirror.CONFIG_FORMAT)).isEqualTo(true);
        assertThat(seen.get(0).get(Mirror.CONFIG_REGION_LOG_ID)).isNull();
        assertThat(runtime.configurations).as("nothing left behind").isEmpty();
        assertThat(Files.readAllBytes(log)).isEqualTo(before);
        assertThat(out.toString()).isEmpty();
    }

    /**
     * The mirror component's refusal to adopt {@code owner}'s region log {@code log} for mirror {@code name}
     * (as MirrorComponentTest has the component give it); the legs are {@code a} and {@code b}, in sync.
     */
    private static String notAdopted(String name, String owner, Path log, String id, Path a, Path b) {
        return "mirror '" + name + "': " + log + " is the region log of mirror '" + owner + "' (regionLogId " + id
                + "; regions of 1024 sectors, a mirror of 128 sectors, legs [" + a + " IN_SYNC, " + b + " IN_SYNC]), "
                + "and the configuration names no regionLogId, so it is not adopted; a kcopyd region log is never "
                + "formatted, not even with format=true (--format): set regionLogId=" + id + " (--log-id " + id
                + ") to adopt it, or delete " + log + " yourself to start afresh (a new log resyncs every other leg "
                + "from leg 0: first make sure leg 0 holds the data)";
    }

    /**
     * Makes DS fail the activation of every mirror configuration in {@code runtime} with {@code refusal}.
     *
     * @return the properties of each configuration DS saw, in order
     */
    private static List<Dictionary<String, Object>> failActivation(FakeRuntime runtime, String refusal) {
        List<Dictionary<String, Object>> seen = new ArrayList<>();
        var description = FakeRuntime.description(Mirror.FACTORY_PID, Mirror.FACTORY_PID);
        runtime.descriptions.add(description);
        runtime.ds = p -> {
            seen.add(new java.util.Hashtable<>(p));
            return FakeRuntime.component(description, Map.copyOf(p), ComponentConfigurationDTO.FAILED_ACTIVATION,
                    "java.lang.IllegalArgumentException: " + refusal + "\n\tat x.y(Z.java:1)\n");
        };
        return seen;
    }

    /** What the mirror component is given: seen by a fake DS that then refuses it, leaving nothing. */
    private Dictionary<String, Object> configured(String... args) throws Exception {
        FakeRuntime seeing = new FakeRuntime();
        List<Dictionary<String, Object>> seen = failActivation(seeing, "mirror 'm': refused by this test");
        Console fake = new Console(seeing, new PrintWriter(out, true), new PrintWriter(err, true), false);
        List<String> all = new ArrayList<>(List.of("mirror", "create"));
        all.addAll(List.of(args));
        assertThat(Commands.run(fake, all.toArray(new String[0]))).as(err.toString()).isEqualTo(Exit.USAGE);
        assertThat(seeing.configurations).as("nothing left behind").isEmpty();
        err.getBuffer().setLength(0);
        return seen.get(0);
    }

    @Test
    void theConfigurationHasTheLegsAsAListWhoseCommasStayInsideTheirPaths() throws Exception {
        String log = dir.resolve("m.log").toString();
        Dictionary<String, Object> props = configured("m", log, image("x,y.img").toString(), "service:remote",
                image("b.img").toString());

        assertThat((String[]) props.get(Mirror.CONFIG_LEGS))
                .containsExactly(dir.resolve("x,y.img").toString(), "service:remote", dir.resolve("b.img").toString());
        assertThat(props.get(Mirror.CONFIG_REGION_LOG)).isEqualTo(dir.resolve("m.log").toString());
        assertThat(props.get(Mirror.CONFIG_REGION_SECTORS)).isEqualTo(Mirror.DEFAULT_REGION_SECTORS);
        assertThat(props.get(Mirror.CONFIG_REGION_LOG_ID)).as("a new log: its identity is the mirror's to choose")
                .isNull();
        assertThat(props.get(Mirror.CONFIG_FORMAT)).isNull();
        assertThat(props.get(Mirror.CONFIG_CREATING)).as("marked by this run until the mirror is open (H41 A1)")
                .isEqualTo(FakeRuntime.FRAMEWORK);

        Path notes = image("notes.bin");
        props = configured("m", notes.toString(), dir.resolve("x,y.img").toString(), "service:remote",
                dir.resolve("b.img").toString(), "--format");
        assertThat(props.get(Mirror.CONFIG_FORMAT)).isEqualTo(true);
        assertThat(props.get(Mirror.CONFIG_REGION_LOG_ID)).isNull();

        String id = UUID.randomUUID().toString();
        props = configured("m", notes.toString(), dir.resolve("x,y.img").toString(), "service:remote",
                dir.resolve("b.img").toString(), "--log-id", id);
        assertThat(props.get(Mirror.CONFIG_FORMAT)).isNull();
        assertThat(props.get(Mirror.CONFIG_REGION_LOG_ID)).isEqualTo(id);
    }

    /**
     * A leg starting SCHEME:// is a device URI: it reaches the configuration as given, with no file
     * to examine; one URI twice (in any spelling) and a malformed URI are exit 2; a file: URI is its file.
     */
    @Test
    void legsNamedByUriReachTheConfigurationAndTheSameUriTwiceIsExit2() throws Exception {
        Dictionary<String, Object> props = configured("m", dir.resolve("m.log").toString(), image("a.img").toString(),
                "nbd+unix:///?socket=/run/b.sock", "nbd://host:10809/c");
        assertThat((String[]) props.get(Mirror.CONFIG_LEGS)).containsExactly(dir.resolve("a.img").toString(),
                "nbd+unix:///?socket=/run/b.sock", "nbd://host:10809/c");

        assertThat(refused("mirror", "create", "m", dir.resolve("m.log").toString(), "nbd+unix:///?socket=/run/b.sock",
                "NBD+UNIX:///?socket=/run/b.sock")).isEqualTo("kcopyd mirror: leg 1 NBD+UNIX:///?socket=/run/b.sock "
                + "is leg 0 nbd+unix:///?socket=/run/b.sock already");
        assertThat(refused("mirror", "create", "m", dir.resolve("m.log").toString(), "nbd://Host/c/../d",
                "nbd://host/d")).isEqualTo("kcopyd mirror: leg 1 nbd://host/d is leg 0 nbd://Host/c/../d already");
        assertThat(refused("mirror", "create", "m", dir.resolve("m.log").toString(), image("a.img").toString(),
                "nbd://a host/x")).startsWith("kcopyd mirror: leg 1 'nbd://a host/x' is not a valid URI: ");
        assertThat(refused("mirror", "create", "m", dir.resolve("m.log").toString(), image("a.img").toString(),
                "file://elsewhere/b.img")).contains("names a file on host 'elsewhere'");

        assertThat((String[]) configured("m", dir.resolve("m.log").toString(), "file://" + image("a.img"),
                image("b.img").toString()).get(Mirror.CONFIG_LEGS)).containsExactly(
                dir.resolve("a.img").toString(), dir.resolve("b.img").toString());
    }

    /**
     * --log-id adopts a log and --format makes a new one: together on a new path they made a second
     * log carrying an existing log's identity. One line, exit 2, nothing made.
     */
    @Test
    void logIdAndFormatExcludeEachOther() throws Exception {
        image("old.log");
        for (String log : new String[] {"new.log", "old.log"}) {
            String message = refused("mirror", "create", "m", dir.resolve(log).toString(), image("a.img").toString(),
                    image("b.img").toString(), "--log-id", UUID.randomUUID().toString(), "--format");
            assertThat(message).contains("--log-id").contains("--format").contains("mutually exclusive");
        }
    }

    /** As for copy: a directory, FIFO or character device as a leg or the log is a bad argument (exit 2). */
    @Test
    void aFileOfTheWrongKindAsLegOrLogIsExit2() throws Exception {
        Path a = image("a.img");
        Path b = image("b.img");
        Path directory = Files.createDirectory(dir.resolve("dir"));
        Path fifo = SnapshotCommandTest.fifo(dir.resolve("fifo"));
        for (Path bad : new Path[] {directory, fifo, Path.of("/dev/zero")}) {
            assertThat(refused("mirror", "create", "m", bad.toString(), a.toString(), b.toString()))
                    .startsWith("kcopyd mirror: region log " + bad + " is ");
            assertThat(refused("mirror", "create", "m", dir.resolve("m.log").toString(), a.toString(), bad.toString()))
                    .startsWith("kcopyd mirror: leg 1 " + bad + " is ");
        }
    }

    @Test
    void namesOfOnlyDotsAreRefused() throws Exception {
        for (String name : new String[] {".", "..", "..."}) {
            assertThat(refused("mirror", "create", name, dir.resolve("m.log").toString(), image("a.img").toString(),
                    image("b.img").toString())).isEqualTo("kcopyd mirror: mirror name '" + name + "' is not allowed: "
                            + "a name is 1 to 64 characters of A-Z a-z 0-9 . _ -, not only dots");
            assertThat(refused("mirror", "remove", name)).contains("'" + name + "' is not allowed");
        }
        assertThat(Mirror.isValidName(".m")).isTrue();
        assertThat(Mirror.isValidName("m..")).isTrue();
    }

    /** A mirror the fake runtime starts: its resync is 1 of 4 regions in, until {@code inSync} completes. */
    private static final class Started {
        final FakeRuntime runtime = new FakeRuntime();
        final UUID id = UUID.fromString("6b63706d-6972-726f-7220-746573740002");
        final CompletableFuture<Void> inSync = new CompletableFuture<>();
        final RecordedHooks hooks = new RecordedHooks();

        Started() {
            var description = FakeRuntime.description(Mirror.FACTORY_PID, Mirror.FACTORY_PID);
            runtime.descriptions.add(description);
            runtime.ds = p -> {
                runtime.mirrorServices.put("m", mirror());
                return FakeRuntime.component(description, Map.copyOf(p), ComponentConfigurationDTO.ACTIVE, null);
            };
        }

        private Mirror mirror() {
            BlockDevice device = (BlockDevice) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {BlockDevice.class}, (proxy, method, args) -> switch (method.getName()) {
                        case "sizeInSectors" -> 4096L;
                        default -> throw new UnsupportedOperationException(method.getName());
                    });
            return (Mirror) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Mirror.class},
                    (proxy, method, args) -> switch (method.getName()) {
                        case "name" -> "m";
                        case "regionLogId" -> id;
                        case "device" -> device;
                        case "whenInSync" -> inSync;
                        case "status" -> inSync.isDone()
                                ? new MirrorStatus("m", List.of(new LegStatus(0, "a", LegState.IN_SYNC, null),
                                        new LegStatus(1, "b", LegState.IN_SYNC, null)), 4, 0, 4, 0)
                                : new MirrorStatus("m", List.of(new LegStatus(0, "a", LegState.IN_SYNC, null),
                                        new LegStatus(1, "b", LegState.RESYNCING, null)), 4, 3, 1, 0);
                        default -> throw new UnsupportedOperationException(method.getName());
                    });
        }

        MirrorCommand.Create create(Console console, String... args) {
            MirrorCommand.Create create = new MirrorCommand.Create(console);
            create.hooks = hooks;
            new CommandLine(create).parseArgs(args);
            return create;
        }
    }

    private String resume(Path a, Path b) {
        return "mirror create m " + dir.resolve("m.log") + " " + a + " " + b
                + " --log-id 6b63706d-6972-726f-7220-746573740002 --wait";
    }

    /** SIGTERM (the shutdown hook) during --wait says what stopped and how to resume, once. */
    @Test
    @Timeout(60)
    void aSignalDuringWaitSaysHowFarTheResyncGotAndHowToResumeIt() throws Exception {
        Started started = new Started();
        Path a = image("a.img");
        Path b = image("b.img");
        Console oneShot = new Console(started.runtime, new PrintWriter(out, true), new PrintWriter(err, true), false,
                true);
        MirrorCommand.Create create = started.create(oneShot, "m", dir.resolve("m.log").toString(), a.toString(),
                b.toString(), "--wait");
        CompletableFuture<Integer> code = CompletableFuture.supplyAsync(() -> {
            try {
                return create.call();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        Thread hook = started.hooks.next();

        hook.run();
        // The JVM would end now; if the wait ended anyway, the command adds nothing to the report.
        started.inSync.complete(null);

        assertThat(code.get(20, TimeUnit.SECONDS)).isEqualTo(Exit.INTERRUPTED);
        assertThat(err.toString()).isEqualTo("kcopyd mirror: interrupted while resyncing mirror m (1 of 4 regions "
                + "copied); the resync stops, and its region log keeps what is left to copy; to resume: "
                + resume(a, b) + System.lineSeparator());
        assertThat(out.toString()).isEqualTo("mirror m created; waiting until every leg is in sync"
                + System.lineSeparator());
        assertThat(started.hooks.removed).containsExactly(hook);
    }

    /** Ctrl-C in the shell interrupts the command's thread: the mirror lives on there, and it says so. */
    @Test
    @Timeout(60)
    void interruptingTheWaitInTheShellSaysTheResyncGoesOn() throws Exception {
        Started started = new Started();
        Path a = image("a.img");
        Path b = image("b.img");
        MirrorCommand.Create create = started.create(new Console(started.runtime, new PrintWriter(out, true),
                new PrintWriter(err, true), false), "m", dir.resolve("m.log").toString(), a.toString(), b.toString(),
                "--wait");
        CompletableFuture<Integer> code = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                code.complete(create.call());
            } catch (Exception e) {
                code.completeExceptionally(e);
            }
        }, "shell-session");
        thread.start();
        Thread hook = started.hooks.next();

        thread.interrupt();

        assertThat(code.get(20, TimeUnit.SECONDS)).isEqualTo(Exit.INTERRUPTED);
        assertThat(err.toString()).isEqualTo("kcopyd mirror: interrupted while resyncing mirror m (1 of 4 regions "
                + "copied); it goes on in the background: mirror status m" + System.lineSeparator());
        assertThat(started.hooks.removed).containsExactly(hook);
        hook.run();
        assertThat(err.toString().lines()).as("the hook, run after all, adds nothing").hasSize(1);
    }

    /** On the runtime's command line the resync ends with the command: without --wait it says so. */
    @Test
    void withoutWaitTheCommandLineSaysTheResyncStopsWithIt() throws Exception {
        Path a = image("a.img");
        Path b = image("b.img");
        for (boolean oneShot : new boolean[] {true, false}) {
            Started started = new Started();
            out.getBuffer().setLength(0);
            err.getBuffer().setLength(0);
            Console console = new Console(started.runtime, new PrintWriter(out, true), new PrintWriter(err, true),
                    false, oneShot);

            assertThat(started.create(console, "m", dir.resolve("m.log").toString(), a.toString(), b.toString()).call())
                    .isZero();

            assertThat(out.toString()).startsWith("m  4 regions  resync 1/4 regions");
            assertThat(started.hooks.added).as("nothing to interrupt").isEmpty();
            if (oneShot) {
                assertThat(err.toString()).isEqualTo("kcopyd mirror: the resync stops when this command ends (3 regions "
                        + "still to copy); use --wait, or run it in the shell; to resume: " + resume(a, b)
                        + System.lineSeparator());
            } else {
                assertThat(err.toString()).as("in the shell the mirror lives on").isEmpty();
            }
        }
    }

    /**
     * The log records its region size and refuses another: the command that resumes a resync (and
     * the one 'mirror remove' prints) carries a region size that is not the default, and the cap.
     */
    @Test
    void theCommandToResumeCarriesTheRegionSizeTheLogRecordsAndTheBandwidth() throws Exception {
        Started started = new Started();
        Path a = image("a.img");
        Path b = image("b.img");
        Console oneShot = new Console(started.runtime, new PrintWriter(out, true), new PrintWriter(err, true), false,
                true);

        assertThat(started.create(oneShot, "m", dir.resolve("m.log").toString(), a.toString(), b.toString(),
                "--region-sectors", "8", "--bandwidth", "4096").call()).isZero();
        assertThat(err.toString()).endsWith("; to resume: mirror create m " + dir.resolve("m.log") + " " + a + " " + b
                + " --region-sectors 8 --bandwidth 4096 --log-id " + started.id + " --wait" + System.lineSeparator());

        out.getBuffer().setLength(0);
        assertThat(Commands.run(oneShot, "mirror", "remove", "m")).isZero();
        assertThat(out.toString()).isEqualTo("mirror m removed" + System.lineSeparator() + "legs and region log stay; "
                + "to use them again: mirror create m " + dir.resolve("m.log") + " " + a + " " + b
                + " --region-sectors 8 --bandwidth 4096 --log-id " + started.id + System.lineSeparator());
    }

    /** H47: a mirror not open took its log identity from its configuration; the advice says it was not checked. */
    @Test
    void theAdviceToResumeAMirrorNotOpenSaysItsLogWasNotChecked() {
        assertThat(MirrorCommand.reuseAdvice("active", "/w/m.log", "u-1")).isEqualTo(
                "legs and region log stay; to use them again: ");
        assertThat(MirrorCommand.reuseAdvice("waiting", "/w/m.log", "u-1")).isEqualTo("legs and region log stay; the "
                + "mirror was waiting, not open, so whether /w/m.log is still its region log u-1 was not checked; if it "
                + "is, this uses them again: ");
    }

    @Test
    void withWaitTheCommandReportsTheMirrorInSync() throws Exception {
        Started started = new Started();
        started.inSync.complete(null);
        Console oneShot = new Console(started.runtime, new PrintWriter(out, true), new PrintWriter(err, true), false,
                true);

        assertThat(started.create(oneShot, "m", dir.resolve("m.log").toString(), image("a.img").toString(),
                image("b.img").toString(), "--wait").call()).isZero();

        assertThat(out.toString()).contains("m  4 regions  in sync").contains("id " + started.id);
        assertThat(err.toString()).isEmpty();
        assertThat(started.hooks.removed).hasSize(1);
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
