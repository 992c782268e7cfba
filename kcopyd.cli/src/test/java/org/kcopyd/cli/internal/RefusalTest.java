package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kcopyd.cli.internal.CommandFixture.image;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.ClientOptions;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.api.Throttle;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.device.FileClaim;
import org.kcopyd.device.FileClaims;
import org.kcopyd.device.FileErrors;

/**
 * Everything is checked before anything is created or written, and each refusal is one line that
 * says what failed and why; a job refused after all leaves no file it created behind.
 */
class RefusalTest {

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    private int run(String... args) {
        return fixture.run(args);
    }

    private String p(String name) {
        return dir.resolve(name).toString();
    }

    @Test
    void aBadDestinationAfterAGoodOneCreatesNothing() throws Exception {
        image(dir, "src.img", 1 << 20, 1);

        assertThat(run("copy", p("src.img"), p("new1.img"), p("nodir/x.img"))).isEqualTo(Exit.FAILED);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: cannot create " + p("nodir/x.img") + ": no such directory "
                + p("nodir") + "\n");
        assertThat(CommandFixture.names(dir)).containsExactly("src.img");
    }

    /** H48-9: "-" is standard output to dd, nbdcopy and qemu-img; kcopyd made a file named "-". */
    @Test
    void aDashAsANewDestinationIsRefusedAndNothingIsCreated() throws Exception {
        image(dir, "src.img", 1 << 20, 1);

        assertThat(run("copy", p("src.img"), "-")).isEqualTo(Exit.USAGE);

        assertThat(run("zero", "-")).isEqualTo(Exit.USAGE);
        assertThat(run("copy", "-", p("new.img"))).isEqualTo(Exit.USAGE);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: destination '-' is not standard output: kcopyd copies to "
                + "devices and files only; to name a file -, write ./-\n"
                + "kcopyd zero: destination '-' is not standard output: kcopyd copies to devices and files only; to "
                + "name a file -, write ./-\n"
                + "kcopyd copy: source '-' is not standard input: kcopyd copies from devices and files only; to name a "
                + "file -, write ./-\n");
        assertThat(Path.of("-")).doesNotExist();
        assertThat(CommandFixture.names(dir)).containsExactly("src.img");
    }

    @Test
    void aDestinationUnderAFileIsRefusedNamingIt() throws Exception {
        image(dir, "src.img", 4096, 2);

        assertThat(run("copy", p("src.img"), p("new.img"), p("src.img/x.img"))).isEqualTo(Exit.FAILED);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: cannot create " + p("src.img/x.img") + ": " + p("src.img")
                + " is not a directory\n");
        assertThat(CommandFixture.names(dir)).containsExactly("src.img");
    }

    @Test
    void sixtyFiveDestinationsCreateNothing() throws Exception {
        image(dir, "src.img", 4096, 3);
        List<String> args = new ArrayList<>(List.of("copy", p("src.img")));
        for (int i = 0; i < 65; i++) {
            args.add(p("d" + i + ".img"));
        }

        assertThat(run(args.toArray(String[]::new))).isEqualTo(Exit.USAGE);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: 65 destinations given; a copy writes 1 to 64\n");
        assertThat(CommandFixture.names(dir)).containsExactly("src.img");
    }

    @Test
    void anOverlapRefusalAfterANewDestinationCreatesNothing() throws Exception {
        image(dir, "src.img", 16 * 512, 4);

        assertThat(run("copy", p("src.img"), p("new.img"), p("src.img"))).isEqualTo(Exit.USAGE);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: destination '" + p("src.img") + "' overlaps the source "
                + p("src.img") + " (the same file): sectors [0, 16) and sectors [0, 16)\n");
        assertThat(CommandFixture.names(dir)).containsExactly("src.img");
    }

    @Test
    void theSameDestinationTwiceIsRefusedByIdentity() throws Exception {
        Path src = image(dir, "src.img", 16 * 512, 5);
        Path a = image(dir, "a.img", 16 * 512, 6);
        Files.createSymbolicLink(dir.resolve("link-a.img"), a);
        byte[] before = Files.readAllBytes(a);

        assertThat(run("copy", src.toString(), p("new.img"), dir + "/./new.img")).isEqualTo(Exit.USAGE);
        assertThat(run("copy", src.toString(), a.toString(), p("link-a.img"))).isEqualTo(Exit.USAGE);
        assertThat(run("copy", src.toString(), a.toString(), p("sub/../a.img"))).isEqualTo(Exit.FAILED);

        List<String> lines = fixture.err().lines().toList();
        assertThat(lines.get(0)).isEqualTo("kcopyd copy: destinations '" + p("new.img") + "' and '" + dir
                + "/./new.img' are the same file and overlap: sectors [0, 16) and sectors [0, 16)");
        assertThat(lines.get(1)).startsWith("kcopyd copy: destinations '" + a + "' and '" + p("link-a.img") + "'");
        assertThat(lines.get(2)).isEqualTo("kcopyd copy: cannot create " + p("sub/../a.img") + ": no such directory "
                + p("sub/.."));
        assertThat(Files.readAllBytes(a)).isEqualTo(before);
        assertThat(CommandFixture.names(dir)).containsExactly("a.img", "link-a.img", "src.img");
    }

    @Test
    void disjointRegionsOfOneNewFileShareIt() throws Exception {
        Path src = image(dir, "src.img", 8 * 512, 7);
        Path dst = dir.resolve("new.img");

        assertThat(run("copy", src.toString(), dst + ":0", dst + ":8")).as(fixture.err()).isZero();

        byte[] data = Files.readAllBytes(src);
        byte[] copy = Files.readAllBytes(dst);
        assertThat(copy).hasSize(16 * 512);
        assertThat(java.util.Arrays.copyOf(copy, 8 * 512)).isEqualTo(data);
        assertThat(java.util.Arrays.copyOfRange(copy, 8 * 512, 16 * 512)).isEqualTo(data);
    }

    @Test
    void aJobTheEngineRefusesAfterCreationRemovesExactlyTheCreatedFiles() throws Exception {
        Path src = image(dir, "src.img", 16 * 512, 8);
        Path existing = image(dir, "old.img", 16 * 512, 9);
        byte[] before = Files.readAllBytes(existing);
        fixture.factory = refusingFactory(fixture.engine, "dest[1] refused by the test's engine");

        assertThat(run("copy", src.toString(), p("new.img"), existing.toString())).isEqualTo(Exit.USAGE);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: dest[1] refused by the test's engine\n");
        assertThat(CommandFixture.names(dir)).containsExactly("old.img", "src.img");
        assertThat(Files.readAllBytes(existing)).isEqualTo(before);
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void fifosAndCharacterDevicesAreRefusedWithoutHanging() throws Exception {
        Path src = image(dir, "src.img", 4096, 10);
        Path fifo = dir.resolve("fifo");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor()).isZero();
        Files.createDirectory(dir.resolve("d"));

        assertThat(run("copy", fifo.toString(), p("new.img"))).isEqualTo(Exit.USAGE);
        assertThat(run("copy", src.toString(), fifo.toString())).isEqualTo(Exit.USAGE);
        assertThat(run("copy", "/dev/zero", p("new.img"))).isEqualTo(Exit.USAGE);
        assertThat(run("copy", src.toString(), "/dev/null")).isEqualTo(Exit.USAGE);
        assertThat(run("copy", src.toString(), p("d"))).isEqualTo(Exit.USAGE);
        assertThat(run("zero", fifo.toString())).isEqualTo(Exit.USAGE);

        String tail = ", not a regular file or block device: kcopyd needs a size and random access";
        assertThat(fixture.err().lines()).containsExactly(
                "kcopyd copy: source " + fifo + " is a FIFO" + tail,
                "kcopyd copy: destination " + fifo + " is a FIFO" + tail,
                "kcopyd copy: source /dev/zero is a character device" + tail,
                "kcopyd copy: destination /dev/null is a character device" + tail,
                "kcopyd copy: destination " + p("d") + " is a directory, not a file or block device",
                "kcopyd zero: destination " + fifo + " is a FIFO" + tail);
        assertThat(CommandFixture.names(dir)).containsExactly("d", "fifo", "src.img");
    }

    @Test
    void aDanglingLinkIsNotCreatedThrough() throws Exception {
        Path src = image(dir, "src.img", 4096, 11);
        Files.createSymbolicLink(dir.resolve("link.img"), dir.resolve("elsewhere.img"));

        assertThat(run("copy", src.toString(), p("link.img"))).isEqualTo(Exit.FAILED);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: cannot create " + p("link.img") + ": it is a symbolic link "
                + "to the missing " + p("elsewhere.img") + ", and kcopyd creates no file through a link\n");
        assertThat(CommandFixture.names(dir)).containsExactly("link.img", "src.img");
    }

    @Test
    void aLoopOfLinksIsRefusedAsALoopNotAsAMissingFile() throws Exception {
        Path src = image(dir, "src.img", 4096, 11);
        Files.createSymbolicLink(dir.resolve("l1"), dir.resolve("l2"));
        Files.createSymbolicLink(dir.resolve("l2"), dir.resolve("l1"));

        assertThat(run("copy", src.toString(), p("l1"))).isEqualTo(Exit.FAILED);

        assertThat(fixture.err()).startsWith("kcopyd copy: cannot create " + p("l1") + ": too many levels of symbolic "
                + "links");
        assertThat(CommandFixture.names(dir)).containsExactly("l1", "l2", "src.img");
    }

    @Test
    void aCopyOntoAClaimedOriginIsRefusedNamingTheHolderAndLeavesItUnchanged() throws Exception {
        Path other = image(dir, "other.img", 16 * 512, 12);
        Path origin = image(dir, "origin.img", 16 * 512, 13);
        byte[] before = Files.readAllBytes(origin);
        Path link = Files.createSymbolicLink(dir.resolve("link.img"), origin);

        try (FileClaim snapshot = FileClaims.claim(origin, "the origin of snapshot s1; write through its origin device")) {
            assertThat(run("copy", other.toString(), origin.toString())).isEqualTo(Exit.FAILED);
            assertThat(run("zero", origin.toString())).isEqualTo(Exit.FAILED);
            assertThat(run("copy", other.toString(), dir + "/./origin.img")).isEqualTo(Exit.FAILED);
            assertThat(run("copy", other.toString(), link.toString())).isEqualTo(Exit.FAILED);
        }

        assertThat(fixture.err().lines().toList()).containsExactly(
                "kcopyd copy: " + origin + " is the origin of snapshot s1; write through its origin device",
                "kcopyd zero: " + origin + " is the origin of snapshot s1; write through its origin device",
                "kcopyd copy: " + dir + "/./origin.img is the origin of snapshot s1; write through its origin device",
                "kcopyd copy: " + link + " (the same file as " + origin + ") is the origin of snapshot s1; "
                        + "write through its origin device");
        assertThat(Files.readAllBytes(origin)).isEqualTo(before);
        assertThat(run("copy", other.toString(), origin.toString())).as("once the claim is released").isZero();
    }

    @Test
    void openFailuresSayWhatFailedAndWhy() throws Exception {
        Path src = image(dir, "src.img", 4096, 14);
        Path ro = image(dir, "ro.img", 4096, 15);
        BlockDeviceOpener real = fixture.engine.devices();
        fixture.opener = new BlockDeviceOpener() {
            @Override
            public BlockDevice open(Path path, DeviceOption... options) throws IOException {
                // What FileChannel.open throws for EACCES and EROFS (the tests run as root, where neither happens).
                if (path.equals(ro)) {
                    throw new AccessDeniedException(path.toString());
                }
                if (path.equals(src) && options.length > 0) {
                    throw new FileSystemException(path.toString(), null, "Read-only file system");
                }
                return real.open(path, options);
            }

            @Override
            public BlockDevice open(java.net.URI uri, DeviceOption... options) throws IOException {
                return real.open(uri, options);
            }

            @Override
            public BlockDevice create(Path path, long sizeInSectors, DeviceOption... options) throws IOException {
                return real.create(path, sizeInSectors, options);
            }
        };

        assertThat(run("copy", src.toString(), ro.toString())).isEqualTo(Exit.FAILED);
        assertThat(run("zero", src.toString())).isEqualTo(Exit.FAILED);

        assertThat(fixture.err().lines().toList()).containsExactly(
                "kcopyd copy: cannot open " + ro + " for writing: permission denied",
                "kcopyd zero: cannot open " + src + " for writing: read-only file system");
    }

    @Test
    void fileErrorsAreWords() {
        assertThat(FileErrors.describe(new AccessDeniedException("ro.img"), "open ro.img for writing"))
                .isEqualTo("cannot open ro.img for writing: permission denied");
        assertThat(FileErrors.describe(new NoSuchFileException("x/y.img"), "create x/y.img"))
                .isEqualTo("cannot create x/y.img: no such file or directory");
        assertThat(FileErrors.describe(new java.nio.file.FileAlreadyExistsException("n.img"), "create n.img"))
                .isEqualTo("cannot create n.img: it exists already");
        assertThat(FileErrors.describe(new FileSystemException("f", null, "No space left on device"), "create f"))
                .isEqualTo("cannot create f: no space left on device");
        assertThat(FileErrors.reason(new java.nio.channels.ClosedChannelException())).contains("interrupted");
        assertThat(FileErrors.reason(new IOException())).isEqualTo("IOException");
    }

    /** The engine's factory, whose clients refuse every copy as an engine refuses a bad request. */
    private static KcopydClientFactory refusingFactory(KcopydClientFactory real, String message) {
        return new KcopydClientFactory() {
            @Override
            public KcopydClient createClient(ClientOptions options) {
                KcopydClient client = real.createClient(options);
                return (KcopydClient) Proxy.newProxyInstance(KcopydClient.class.getClassLoader(),
                        new Class<?>[] {KcopydClient.class}, (proxy, method, args) -> {
                            if (method.getName().equals("copy")) {
                                throw new IllegalArgumentException(message);
                            }
                            try {
                                return method.invoke(client, args);
                            } catch (InvocationTargetException e) {
                                throw e.getCause();
                            }
                        });
            }

            @Override
            public Throttle throttle(String name) {
                return real.throttle(name);
            }

            @Override
            public EngineSettings settings() {
                return real.settings();
            }
        };
    }
}
