package org.kcopyd.control.internal.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.control.ControlException;
import org.kcopyd.device.FileDeviceOpener;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/**
 * A job's devices are the files its names were examined as: a file renamed over a destination's
 * name after the job's checks is refused, not written; a file is sized as the file opened, not
 * as one renamed over its name after; a new destination is created at the asked size and opened
 * for writing.
 */
class JobDevicesTest {

    @TempDir
    Path dir;

    private final FileDeviceOpener files = new FileDeviceOpener(false);

    /** A registry with one service, the file opener. */
    private JobDevices jobDevices() {
        return jobDevices(files);
    }

    /** A registry with one service, {@code opener}. */
    private JobDevices jobDevices(BlockDeviceOpener opener) {
        ServiceReference<?> ref = (ServiceReference<?>) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ServiceReference.class}, (p, m, a) -> switch (m.getName()) {
                    case "getProperty" -> null;
                    case "compareTo" -> 0;
                    case "hashCode" -> System.identityHashCode(p);
                    case "equals" -> p == a[0];
                    default -> throw new UnsupportedOperationException(m.getName());
                });
        BundleContext context = (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {BundleContext.class}, (p, m, a) -> switch (m.getName()) {
                    case "getServiceReferences" -> a[0] == BlockDeviceOpener.class ? List.of(ref) : List.of();
                    case "getService" -> opener;
                    case "ungetService" -> true;
                    default -> throw new UnsupportedOperationException(m.getName() + Arrays.toString(a));
                });
        Services services = new Services(context);
        return new JobDevices(services, new Exports(null, services, null, null, Duration.ZERO));
    }

    private static void requireLoopDevices() {
        String missing = org.kcopyd.testdevices.LoopDevice.unavailable();
        if (missing != null) {
            org.kcopyd.testdevices.Peers.missing(missing);
        }
    }

    /** Asserts that {@code call} is refused as a conflict (the device is in use) saying {@code message}. */
    private static void assertConflict(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String message) {
        assertThatThrownBy(call).isInstanceOfSatisfying(ControlException.class,
                e -> assertThat(e.code()).isEqualTo(ControlException.Code.CONFLICT)).hasMessage(message);
    }

    /** As {@link #assertConflict}, the message starting with {@code start}. */
    private static void assertConflictStartingWith(org.assertj.core.api.ThrowableAssert.ThrowingCallable call,
            String start) {
        assertThatThrownBy(call).isInstanceOfSatisfying(ControlException.class,
                e -> assertThat(e.code()).isEqualTo(ControlException.Code.CONFLICT)).hasMessageStartingWith(start);
    }

    /** H48-2: a job's device named through /proc, as a path or a file URI, is the daemon's, not the caller's. */
    @Test
    void aDeviceNamedThroughProcIsRefusedAsAPathAndAsAFileUri() throws Exception {
        try (JobDevices devices = jobDevices()) {
            assertThatThrownBy(() -> devices.name("destination", "/proc/self/fd/1", true))
                    .isInstanceOf(ControlException.class)
                    .hasMessageStartingWith("destination /proc/self/fd/1 names a file through /proc: ");
            assertThatThrownBy(() -> devices.name("source", "file:///proc/self/cwd/a.img", false))
                    .isInstanceOf(ControlException.class)
                    .hasMessageStartingWith("source /proc/self/cwd/a.img names a file through /proc: ");
        }
    }

    /**
     * H49-1: {@code sub/../x.img} with {@code sub} a link to {@code deep/dir} is {@code deep/x.img} for the kernel
     * and the one-shot copy; the daemon wrote {@code x.img} next to {@code sub}. A {@code ..} after a directory
     * that is not there is refused, not taken away as text (which could name a file that exists).
     */
    @Test
    void dotDotIsTakenOutAsTheKernelDoesAfterALink() throws Exception {
        Path deep = Files.createDirectories(dir.resolve("deep/dir"));
        Files.createSymbolicLink(dir.resolve("sub"), deep);
        Files.write(dir.resolve("x.img"), new byte[4096]);
        try (JobDevices devices = jobDevices()) {
            assertThat(devices.name("destination", dir + "/sub/../x.img", true).path())
                    .isEqualTo(dir.toRealPath().resolve("deep/x.img"));
            assertThat(devices.name("destination", dir + "/./x.img", true).path()).isEqualTo(dir.resolve("x.img"));
            assertThatThrownBy(() -> devices.name("destination", dir + "/missing/../x.img", true))
                    .isInstanceOfSatisfying(ControlException.class,
                            e -> assertThat(e.code()).isEqualTo(ControlException.Code.FAILED))
                    .hasMessageStartingWith("destination " + dir + "/missing/../x.img cannot be resolved: " + dir
                            + "/missing/.. is not a directory that can be searched");
        }
    }

    /**
     * H51-2: {@code nbd://host/disk:0+8} was opened as an export named {@code disk:0+8}, which nbdkit's file plugin
     * serves as the whole disk: a zero of 8 sectors zeroed all of it. The command line's rule holds: a region after
     * the last ':' past host and port is refused (a daemon job copies whole devices), a last ':' ends the URI.
     */
    @Test
    void aRegionOrATypoAfterADeviceUriIsRefusedAndALastColonEndsIt() throws Exception {
        try (JobDevices devices = jobDevices()) {
            for (String region : new String[] {"nbd://127.0.0.1:10810/disk:0+8", "nbd://127.0.0.1:10810/disk:2048",
                "nbd+unix:///disk?socket=/run/a.sock:16+1", "nbd://[::1]:10810/:8"}) {
                assertThatThrownBy(() -> devices.name("destination", region, true))
                        .isInstanceOfSatisfying(ControlException.class,
                                e -> assertThat(e.code()).isEqualTo(ControlException.Code.BAD_REQUEST))
                        .hasMessage("destination '" + region + "': the text after the last ':' past its host and port "
                                + "is a region (SECTOR+COUNT), and a daemon job copies whole devices: copy a region with "
                                + "the one-shot command (without --daemon); end the URI with ':' if the export's name or "
                                + "socket holds that text");
            }
            // H52-1: a region mistyped was sent as part of the export's name, and the whole export zeroed.
            for (String[] typo : new String[][] {{"nbd://127.0.0.1:10810/disk:+8", "+8"}, {"nbd://h/disk:abc", "abc"},
                {"nbd://h/disk:8+", "8+"}, {"nbd://[::1]:10810/:x8", "x8"},
                {"nbd+unix:///x:8?socket=/run/s.sock", "8?socket=/run/s.sock"}, {"file:///srv/c.img:-5", "-5"}}) {
                assertThatThrownBy(() -> devices.name("source", typo[0], false))
                        .isInstanceOfSatisfying(ControlException.class,
                                e -> assertThat(e.code()).isEqualTo(ControlException.Code.BAD_REQUEST))
                        .hasMessage("source '" + typo[0] + "': the text after the last ':' past its host and port, '"
                                + typo[1] + "', would be a region and is not one (SECTOR or SECTOR+COUNT in decimal); "
                                + "end the URI with ':' if the export's name or socket holds that text");
            }
            assertThat(devices.name("source", "nbd://127.0.0.1:10810/disk:0+8:", false).uri())
                    .isEqualTo(URI.create("nbd://127.0.0.1:10810/disk:0+8"));
            assertThat(devices.name("source", "nbd://127.0.0.1:10810/disk:", false).uri())
                    .isEqualTo(URI.create("nbd://127.0.0.1:10810/disk"));
            assertThat(devices.name("source", "nbd://127.0.0.1:10810/disk", false).uri())
                    .as("the port's ':' is no region").isEqualTo(URI.create("nbd://127.0.0.1:10810/disk"));
        }
    }

    /** H50-6: an export a mirror of this daemon writes, named by another spelling of its server, is not read. */
    @Test
    void anExportHeldForWritingHereIsNotReadByAJob() throws Exception {
        try (org.kcopyd.device.UriClaims.Claim claim = org.kcopyd.device.UriClaims.claim(
                URI.create("nbd://127.0.0.1:10999/eb"), "open for writing by bundle kcopyd.mirror");
                JobDevices devices = jobDevices()) {
            JobDevices.Named source = devices.name("source", "nbd://2130706433:10999/eb", false);
            assertConflict(() -> devices.open(source, false), "source nbd://2130706433:10999/eb is open for writing "
                    + "by bundle kcopyd.mirror (in this process): a job reading it now would copy a mix of old and new "
                    + "data; read it through the device that writes it (origin:NAME, mirror:NAME)");
        }
    }

    @Test
    void aLoopDeviceOverTheSourceSharesItsBytesAndAnotherFileDoesNot() throws Exception {
        requireLoopDevices();
        Path file = Files.write(dir.resolve("a.img"), new byte[1 << 20]);
        Path other = Files.write(dir.resolve("b.img"), new byte[1 << 20]);
        try (org.kcopyd.testdevices.LoopDevice loop = org.kcopyd.testdevices.LoopDevice.attach(file);
                JobDevices devices = jobDevices()) {
            JobDevices.Named source = devices.name("source", file.toString(), false);
            JobDevices.Named dest = devices.name("destination", loop.device().toString(), true);
            assertThat(dest.same(source)).as("different identities: a file and a device node").isFalse();
            assertThat(dest.sharedBytes(source)).isEqualTo(loop.device() + " (a loop device over " + file.toRealPath()
                    + " from byte 0) and " + file + " are the same bytes");
            assertThat(devices.name("destination", other.toString(), true).sharedBytes(source)).isNull();
        }
    }

    /**
     * H51-3: this daemon's own readers and writers of a file were checked by the file alone, so a job read a loop
     * device over a file an export of this daemon wrote (old and new data mixed, reported complete), and wrote a loop
     * device over a file a read-only export served. A device sharing the file's bytes is the file.
     */
    @Test
    void aLoopDeviceOverAFileThisDaemonWritesOrReadsIsThatFileForAJob() throws Exception {
        requireLoopDevices();
        Path written = Files.write(dir.resolve("w.img"), new byte[1 << 20]);
        Path read = Files.write(dir.resolve("r.img"), new byte[1 << 20]);
        try (org.kcopyd.testdevices.LoopDevice overWritten = org.kcopyd.testdevices.LoopDevice.attach(written);
                org.kcopyd.testdevices.LoopDevice overRead = org.kcopyd.testdevices.LoopDevice.attach(read);
                org.kcopyd.device.FileClaim claim = org.kcopyd.device.FileClaims.claim(written, "exported read-write "
                        + "as w");
                org.kcopyd.device.FileClaim reader = org.kcopyd.device.FileClaims.reader(read);
                JobDevices devices = jobDevices()) {
            JobDevices.Named source = devices.name("source", overWritten.device().toString(), false);
            assertConflict(() -> devices.open(source, false), "source " + overWritten.device() + " (sharing its "
                    + "bytes with " + written + ") is exported read-write as w: a job reading it now would copy a mix "
                    + "of old and new data; read it through the device that writes it (origin:NAME, mirror:NAME)");
            JobDevices.Named destination = devices.name("destination", overRead.device().toString(), true);
            assertConflictStartingWith(() -> devices.open(destination, true), "destination " + overRead.device()
                    + " is open for reading in this daemon");
        }
        assertThat(Files.readAllBytes(read)).containsOnly(0);
    }

    /**
     * H52-2: a loop device set up through a hard link removed since (sysfs then says its file is "NAME (deleted)")
     * got past every check while the file lived on under its other name: a job zeroed a mirror's leg through it. The
     * kernel's own record of the file (its device and inode) tells.
     */
    @Test
    void aLoopDeviceOverAFileThroughALinkRemovedSinceIsThatFile() throws Exception {
        requireLoopDevices();
        Path leg = Files.write(dir.resolve("a.img"), new byte[1 << 20]);
        Path link = Files.createLink(dir.resolve("hl.img"), leg);
        try (org.kcopyd.testdevices.LoopDevice loop = org.kcopyd.testdevices.LoopDevice.attach(link);
                JobDevices devices = jobDevices()) {
            Files.delete(link);
            try (org.kcopyd.device.FileClaim claim = org.kcopyd.device.FileClaims.claim(leg, "leg 1 of mirror m")) {
                JobDevices.Named destination = devices.name("destination", loop.device().toString(), true);
                assertConflictStartingWith(() -> devices.open(destination, true), "destination " + loop.device()
                        + " (sharing its bytes with " + leg + ") is leg 1 of mirror m");
            }
            try (org.kcopyd.device.FileClaim claim = org.kcopyd.device.FileClaims.claim(loop.device(), "a job's "
                    + "destination")) {
                JobDevices.Named source = devices.name("source", leg.toString(), false);
                assertConflictStartingWith(() -> devices.open(source, false), "source " + leg
                        + " (sharing its bytes with " + loop.device() + ") is a job's destination");
            }
        }
        assertThat(Files.readAllBytes(leg)).containsOnly(0);
    }

    /**
     * H53-2: the name sysfs gives a loop device's file is its path within its own mount: set up in another mount
     * namespace (a container, a service with PrivateTmp), it named nothing here, and a job wrote the file a read-write
     * export of this daemon served. The kernel's device and inode of the file tell.
     */
    @Test
    void aLoopDeviceSetUpInAnotherMountNamespaceIsTheFileItHolds() throws Exception {
        requireLoopDevices();
        Path real = Files.createDirectory(dir.resolve("real"));
        Path file = Files.write(real.resolve("A.img"), new byte[1 << 20]);
        Path elsewhere = Files.createDirectory(dir.resolve("w"));
        Process setUp = new ProcessBuilder("unshare", "-m", "--propagation", "private", "sh", "-c", "mount --bind "
                + real + " " + elsewhere + " && losetup -f --show " + elsewhere + "/A.img").redirectErrorStream(true)
                .start();
        String said = new String(setUp.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
        if (setUp.waitFor() != 0 || !said.startsWith("/dev/")) {
            org.kcopyd.testdevices.Peers.missing("a loop device set up in another mount namespace (unshare -m, util-linux,"
                    + " as root): " + said);
        }
        Path loop = Path.of(said.lines().reduce((first, last) -> last).orElseThrow());
        try (org.kcopyd.device.FileClaim claim = org.kcopyd.device.FileClaims.claim(file, "exported read-write as w");
                JobDevices devices = jobDevices()) {
            JobDevices.Named destination = devices.name("destination", loop.toString(), true);
            assertConflictStartingWith(() -> devices.open(destination, true), "destination " + loop
                    + " (sharing its bytes with " + file + ") is exported read-write as w");
        } finally {
            new ProcessBuilder("losetup", "-d", loop.toString()).inheritIO().start().waitFor();
        }
        assertThat(Files.readAllBytes(file)).containsOnly(0);
    }

    /**
     * What a running job reads or writes is compared with a new job's devices by {@link JobDevices.Named#touches}:
     * the same file by any name, a loop device over it, and a loop device over a file under a device service
     * (an origin's file, a mirror's leg) touch; another file does not.
     */
    @Test
    void aDeviceTouchesTheSameFileALoopDeviceOverItAndAServiceOverItsFile() throws Exception {
        requireLoopDevices();
        Path file = Files.write(dir.resolve("a.img"), new byte[1 << 20]);
        Path other = Files.write(dir.resolve("b.img"), new byte[1 << 20]);
        Path link = Files.createSymbolicLink(dir.resolve("a-link.img"), file);
        try (org.kcopyd.testdevices.LoopDevice loop = org.kcopyd.testdevices.LoopDevice.attach(file);
                JobDevices devices = jobDevices()) {
            JobDevices.Named named = devices.name("source", file.toString(), false);
            JobDevices.Named overIt = devices.name("destination", loop.device().toString(), true);
            JobDevices.Named origin = new JobDevices.Named("origin:s1", "destination", null, null, null,
                    java.util.Set.of("service 42", org.kcopyd.device.FileClaims.identityOf(file)), null);
            assertThat(devices.name("source", link.toString(), false).touches(named)).as("a link to it").isTrue();
            assertThat(overIt.touches(named)).as("a loop device over it").isTrue();
            assertThat(named.touches(overIt)).as("the file under a loop device").isTrue();
            assertThat(overIt.touches(origin)).as("a loop device over an origin's file").isTrue();
            assertThat(origin.touches(overIt)).as("an origin whose file a loop device is over").isTrue();
            JobDevices.Named elsewhere = devices.name("destination", other.toString(), true);
            assertThat(elsewhere.touches(named)).isFalse();
            assertThat(elsewhere.touches(overIt)).isFalse();
            assertThat(elsewhere.touches(origin)).isFalse();
        }
    }

    @Test
    void aWrittenFileTellsWhetherItsNameStillNamesIt() throws Exception {
        Path kept = Files.write(dir.resolve("kept.img"), new byte[4096]);
        Path removed = Files.write(dir.resolve("removed.img"), new byte[4096]);
        Path made = dir.resolve("made.img");
        Path other = Files.write(dir.resolve("other.img"), new byte[4096]);
        try (JobDevices devices = jobDevices()) {
            JobDevices.Opened k = devices.open(devices.name("destination", kept.toString(), true), true);
            JobDevices.Opened r = devices.open(devices.name("destination", removed.toString(), true), true);
            JobDevices.Opened m = devices.create(devices.name("destination", made.toString(), true), 4096);
            Files.delete(removed);
            Files.move(other, made, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);

            assertThat(k.whyNotNamed()).isNull();
            assertThat(r.whyNotNamed()).isEqualTo("it was removed while kcopyd wrote it");
            assertThat(m.whyNotNamed()).isEqualTo("it was replaced by another file while kcopyd wrote it");
        }
    }

    @Test
    void aDestinationRemovedAfterTheChecksIsRefusedSayingWhy() throws Exception {
        Path dest = Files.write(dir.resolve("gone.img"), new byte[4096]);
        try (JobDevices devices = jobDevices()) {
            JobDevices.Named named = devices.name("destination", dest.toString(), true);
            Files.delete(dest);

            assertThatThrownBy(() -> devices.open(named, true)).isInstanceOf(ControlException.class)
                    .hasMessage("cannot open destination " + dest + " for writing: no such file or directory");
        }
    }

    @Test
    void aDestinationReplacedAfterTheChecksIsRefusedAndTheOtherFileUntouched() throws Exception {
        Path dest = dir.resolve("dest.img");
        Files.write(dest, new byte[4096]);
        Path other = dir.resolve("other.img");
        byte[] kept = new byte[4096];
        Arrays.fill(kept, (byte) 7);
        Files.write(other, kept);
        try (JobDevices devices = jobDevices()) {
            JobDevices.Named named = devices.name("destination", dest.toString(), true);
            Files.move(other, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);

            assertConflict(() -> devices.open(named, true), "destination " + dest + " was replaced by another file "
                    + "since the job was checked; nothing was written");
        }
        assertThat(Files.readAllBytes(dest)).isEqualTo(kept);
        assertThat(files.open(dest, org.kcopyd.api.DeviceOption.READ_WRITE)).as("its claim, released")
                .satisfies(d -> d.close());
    }

    @Test
    void aFileIsSizedAsTheFileOpenedWhateverTakesItsNameAfter() throws Exception {
        Path src = dir.resolve("src.img");
        Files.write(src, new byte[8192]);
        Path dest = dir.resolve("dest.img");
        Files.write(dest, new byte[4096]);
        Path shorter = Files.write(dir.resolve("shorter.img"), new byte[1024]);
        Path longer = Files.write(dir.resolve("longer.img"), new byte[16384]);
        // Once each is opened, another file is renamed over its name.
        Map<Path, Path> renamedOver = new HashMap<>(Map.of(src, shorter, dest, longer));
        BlockDeviceOpener renaming = new BlockDeviceOpener() {
            @Override
            public BlockDevice open(Path path, DeviceOption... options) throws IOException {
                BlockDevice device = files.open(path, options);
                Path replacement = renamedOver.remove(path);
                if (replacement != null) {
                    Files.move(replacement, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                }
                return device;
            }

            @Override
            public BlockDevice open(URI uri, DeviceOption... options) throws IOException {
                return files.open(uri, options);
            }

            @Override
            public BlockDevice create(Path path, long sizeInSectors, DeviceOption... options) throws IOException {
                return files.create(path, sizeInSectors, options);
            }
        };
        try (JobDevices devices = jobDevices(renaming)) {
            JobDevices.Opened from = devices.open(devices.name("source", src.toString(), false), false);
            JobDevices.Opened to = devices.open(devices.name("destination", dest.toString(), true), true);

            assertThat(Files.size(src)).as("what the source's name names now").isEqualTo(1024);
            assertThat(from.bytes()).as("the source opened").isEqualTo(8192);
            assertThat(Files.size(dest)).as("what the destination's name names now").isEqualTo(16384);
            assertThat(to.bytes()).as("the destination opened, too short for the source").isEqualTo(4096);
        }
    }

    /**
     * Hostile review: {@code kcopyd copy --daemon} exited 2 for a source that does not exist, where the one-shot
     * {@code copy} exits 1 ("could not run: a file could not be opened or created", the README's table): the
     * daemon said bad-request. A file a job cannot open or create is {@code failed}, which the thin client exits
     * 1 with; the wrong kind of file stays a bad argument (exit 2 in both).
     */
    @Test
    void aFileThatCannotBeOpenedOrCreatedIsFailedAndTheWrongKindOfFileABadRequest() throws Exception {
        Path none = dir.resolve("none.img");
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling.img"), dir.resolve("nowhere.img"));
        Path noDirectory = dir.resolve("no-such-dir").resolve("new.img");
        try (JobDevices devices = jobDevices()) {
            cannotOpen(() -> devices.name("source", none.toString(), false), "cannot open source " + none
                    + ": no such file");
            cannotOpen(() -> devices.name("destination", none.toString(), false), "cannot open destination " + none
                    + ": no such file");
            cannotOpen(() -> devices.name("source", dangling.toString(), false), "cannot open source " + dangling
                    + ": it is a symbolic link to nothing");
            cannotOpen(() -> devices.name("destination", dangling.toString(), true), "cannot open destination "
                    + dangling + ": it is a symbolic link to nothing");
            cannotOpen(() -> devices.name("destination", noDirectory.toString(), true), "destination " + noDirectory
                    + " does not exist and cannot be created: no directory " + noDirectory.getParent());
            assertThatThrownBy(() -> devices.name("source", dir.toString(), false))
                    .isInstanceOfSatisfying(ControlException.class,
                            e -> assertThat(e.code()).isEqualTo(ControlException.Code.BAD_REQUEST))
                    .hasMessage("source " + dir + " is a directory, not a file or block device");
        }
    }

    private static void cannotOpen(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String message) {
        assertThatThrownBy(call).isInstanceOfSatisfying(ControlException.class,
                e -> assertThat(e.code()).isEqualTo(ControlException.Code.FAILED)).hasMessage(message);
    }

    @Test
    void aNewDestinationIsCreatedAtTheAskedSizeAndOpenedForWriting() throws Exception {
        Path dest = dir.resolve("new.img");
        try (JobDevices devices = jobDevices()) {
            JobDevices.Named named = devices.name("destination", dest.toString(), true);
            JobDevices.Opened opened = devices.create(named, 8192);
            assertThat(opened.bytes()).isEqualTo(8192);
            assertThat(opened.device().isReadOnly()).isFalse();
        }
        assertThat(Files.size(dest)).isEqualTo(8192);
    }
}
