package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

/**
 * {@code demo} works only in a new directory of its own inside {@code --dir}: the user's files
 * there, even ones named as the demo names its images, and the directory itself survive byte for
 * byte, and what the demo keeps or removes it names truthfully. Outside OSGi the demo runs its
 * copy and then stops at the snapshot (no Config Admin), which is the failure these tests use; the
 * whole demo, with its clean-up, runs in the runtime's tests.
 */
class DemoCommandTest {

    /** The names the demo gives its files, and one it does not. */
    private static final List<String> NAMES = List.of("sample.img", "copy-1.img", "copy-2.img", "copy-3.img",
            "demo-snapshot.cow", "mirror-leg-1.img", "demo-mirror.log", "notes.txt");

    @TempDir
    Path dir;
    private final CommandFixture fixture = new CommandFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    /** Everything under {@code root}: relative name to content (or "dir"). */
    private static Map<String, String> tree(Path root) throws Exception {
        Map<String, String> result = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (!f.equals(root)) {
                    result.put(root.relativize(f).toString(), Files.isDirectory(f) ? "dir"
                            : java.util.HexFormat.of().formatHex(Files.readAllBytes(f)));
                }
            }
        }
        return result;
    }

    private Path userDirectory() throws Exception {
        Path user = Files.createDirectory(dir.resolve("user"));
        long seed = 10;
        for (String name : NAMES) {
            CommandFixture.image(user, name, 4096, seed++);
        }
        Files.createDirectory(user.resolve("kcopyd-demo-1"));
        CommandFixture.image(user.resolve("kcopyd-demo-1"), "sample.img", 512, seed);
        return user;
    }

    private DemoCommand demo(String... args) {
        DemoCommand demo = new DemoCommand(fixture.console());
        new CommandLine(demo).parseArgs(args);
        return demo;
    }

    /** @return the directories the demo made in {@code parent} */
    private static List<Path> made(Path parent, Map<String, String> before) throws Exception {
        List<Path> made = new ArrayList<>();
        try (Stream<Path> files = Files.list(parent)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (!before.containsKey(f.getFileName().toString())) {
                    made.add(f);
                }
            }
        }
        return made;
    }

    @Test
    void theUsersFilesInDirEvenWithTheDemosNamesSurviveByteForByte() throws Exception {
        Path user = userDirectory();
        Map<String, String> before = tree(user);

        int code = demo("--dir", user.toString(), "--size-mib", "1").call();

        assertThat(code).as(fixture.err()).isEqualTo(Exit.FAILED);
        List<Path> made = made(user, before);
        assertThat(made).as("one new directory of the demo's own").hasSize(1);
        Path work = made.get(0);
        assertThat(work.getFileName().toString()).startsWith("kcopyd-demo-");
        Map<String, String> after = tree(user);
        after.keySet().removeIf(name -> name.startsWith(work.getFileName().toString()));
        assertThat(after).as("everything that was in DIR, unchanged").isEqualTo(before);
        assertThat(CommandFixture.names(work)).containsExactly("copy-1.img", "copy-2.img", "copy-3.img", "sample.img");
        assertThat(fixture.err()).isEqualTo("kcopyd demo: no kcopyd control service outside OSGi; images kept in " + work
                + ": sample.img, copy-1.img, copy-2.img, copy-3.img\n");
    }

    /**
     * Ctrl-C or SIGTERM: the shutdown hook removes the demo's files and directory, and a --dir the
     * demo made, and nothing else. (These hooks run it at once, before the demo's first file.)
     */
    @Test
    void anInterruptionRemovesOnlyWhatTheDemoMade() throws Exception {
        Path user = userDirectory();
        Map<String, String> before = tree(user);
        Path newDir = dir.resolve("new");
        List<Thread> removed = new ArrayList<>();
        ShutdownHooks atOnce = new ShutdownHooks() {
            @Override
            public void add(Thread hook) {
                hook.run();
            }

            @Override
            public void remove(Thread hook) {
                removed.add(hook);
            }
        };

        for (Path parent : new Path[] {user, newDir}) {
            fixture.err.getBuffer().setLength(0);
            DemoCommand demo = demo("--dir", parent.toString(), "--size-mib", "1");
            demo.hooks = atOnce;

            assertThat(demo.call()).isEqualTo(Exit.FAILED);

            assertThat(fixture.err()).matches("kcopyd demo: interrupted; removed the demo's files and "
                    + java.util.regex.Pattern.quote(parent.toString()) + "/kcopyd-demo-[^/]+\n");
        }
        assertThat(tree(user)).isEqualTo(before);
        assertThat(newDir).as("the --dir the demo made, empty again").doesNotExist();
        assertThat(removed).hasSize(2);
        assertThat(fixture.out()).isEmpty();
    }

    /** H48-3: the demo made its 64 MiB sample in /dev's devtmpfs, then the copy refused it there. */
    @Test
    void aDirInDevOrProcIsExit2AndNothingIsCreated() throws Exception {
        List<String> before = devDemos();

        assertThat(demo("--dir", "/dev").call()).isEqualTo(Exit.USAGE);
        assertThat(demo("--dir", "/dev/kcopyd-demo-test-" + ProcessHandle.current().pid()).call()).isEqualTo(Exit.USAGE);
        assertThat(demo("--dir", "/proc").call()).isEqualTo(Exit.USAGE);

        assertThat(fixture.err().lines().toList()).allSatisfy(line -> assertThat(line).matches("kcopyd demo: --dir "
                + "/(dev|dev/kcopyd-demo-test-\\d+|proc) is in /(dev|proc), a \\S+ file system of device nodes and "
                + "kernel objects, not data: the demo makes no file there; nothing was created")).hasSize(3);
        assertThat(devDemos()).isEqualTo(before);
    }

    private static List<String> devDemos() throws java.io.IOException {
        try (Stream<Path> files = Files.list(Path.of("/dev"))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("kcopyd-demo")).sorted().toList();
        }
    }

    @Test
    void aDirThatIsNoDirectoryOrHasNoParentAndBadSizesAreExit2() throws Exception {
        Path file = CommandFixture.image(dir, "file.img", 512, 1);
        Map<String, String> before = tree(dir);

        assertThat(demo("--dir", file.toString()).call()).isEqualTo(Exit.USAGE);
        assertThat(demo("--dir", dir.resolve("no/such").toString()).call()).isEqualTo(Exit.USAGE);
        assertThat(demo("--dir", dir.toString(), "--size-mib", "0").call()).isEqualTo(Exit.USAGE);
        assertThat(demo("--dir", dir.toString(), "--size-mib", "257").call()).isEqualTo(Exit.USAGE);

        assertThat(fixture.err()).isEqualTo("kcopyd demo: --dir " + file + " is not a directory\n"
                + "kcopyd demo: --dir " + dir.resolve("no/such") + ": no such directory " + dir.resolve("no") + "\n"
                + "kcopyd demo: --size-mib 0 is outside 1..256\n"
                + "kcopyd demo: --size-mib 257 is outside 1..256\n");
        assertThat(tree(dir)).isEqualTo(before);
    }

    @Test
    void itsDirectoryRemovesOnlyTheFilesItNamedAndStaysWhenAnythingElseIsThere() throws Exception {
        DemoDirectory work = DemoDirectory.createIn(dir);
        Files.write(work.file("a.img"), new byte[512]);
        Files.write(work.file("b.img"), new byte[512]);
        work.file("never-made.img");
        Path stranger = Files.write(work.path().resolve("stranger.txt"), new byte[] {1, 2, 3});

        assertThat(work.made()).containsExactly("a.img", "b.img");
        assertThat(work.others()).containsExactly("stranger.txt");
        assertThat(work.remove()).isFalse();

        assertThat(CommandFixture.names(work.path())).containsExactly("stranger.txt");
        assertThat(Files.readAllBytes(stranger)).containsExactly(1, 2, 3);

        Files.delete(stranger);
        assertThat(work.remove()).isTrue();
        assertThat(work.path()).doesNotExist();
        assertThat(CommandFixture.names(dir)).isEmpty();
    }
}
