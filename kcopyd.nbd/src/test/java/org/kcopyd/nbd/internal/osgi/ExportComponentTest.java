package org.kcopyd.nbd.internal.osgi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.kcopyd.nbd.internal.osgi.OsgiFixture.read;
import static org.kcopyd.nbd.internal.osgi.OsgiFixture.write;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.device.DeviceIdentity;
import org.kcopyd.device.FileDeviceOpener;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.nbd.NbdClient;
import org.kcopyd.nbd.NbdClientOptions;
import org.kcopyd.nbd.NbdConfig;
import org.kcopyd.nbd.NbdUri;
import org.osgi.framework.ServiceRegistration;

/**
 * The export factory component with a real service registry: path exports (read-write and
 * read-only), exports sharing one listener (withdrawing one leaves the others' clients
 * connected), a service-filter device exported while its service exists and withdrawn, its
 * clients disconnected, when it goes; per-export connection limits; and every refusal, with
 * nothing written.
 */
class ExportComponentTest {

    private static final int SIZE = 1 << 20;

    @TempDir
    Path dir;
    private OsgiFixture osgi;
    private final NbdListeners listeners = new NbdListeners();
    private final List<ExportComponent> active = new ArrayList<>();
    private final List<BlockDevice> clients = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        osgi = new OsgiFixture(dir.resolve("osgi"));
    }

    @AfterEach
    void stop() throws Exception {
        clients.forEach(OsgiFixture::closeQuietly);
        active.forEach(ExportComponent::deactivate);
        listeners.close();
        osgi.close();
    }

    private Map<String, Object> config(String name, String device, Object... more) {
        Map<String, Object> props = new HashMap<>();
        props.put(NbdConfig.EXPORT_NAME, name);
        props.put(NbdConfig.EXPORT_DEVICE, device);
        props.put(NbdConfig.EXPORT_SOCKET, dir.resolve("s.sock").toString());
        for (int i = 0; i < more.length; i += 2) {
            if (more[i + 1] == null) {
                props.remove((String) more[i]);
            } else {
                props.put((String) more[i], more[i + 1]);
            }
        }
        return props;
    }

    private ExportComponent activate(Map<String, Object> props) throws Exception {
        ExportComponent c = new ExportComponent();
        c.listeners = listeners;
        c.opener = new FileDeviceOpener(false, "an NBD export test");
        c.activate(osgi.context(), OsgiFixture.annotation(ExportConfiguration.class, props), props);
        active.add(c);
        return c;
    }

    private void deactivate(ExportComponent c) {
        c.deactivate();
        active.remove(c);
    }

    private BlockDevice connect(String name) throws IOException {
        BlockDevice device = NbdClient.connect(NbdUri.unix(dir.resolve("s.sock"), name),
            NbdClientOptions.defaults().withRequestTimeout(Duration.ofSeconds(10)).withConnections(1));
        clients.add(device);
        return device;
    }

    private Path image(String file, long seed) throws IOException {
        byte[] data = new byte[SIZE];
        new Random(seed).nextBytes(data);
        return Files.write(dir.resolve(file), data);
    }

    @Test
    void aFileExportIsReadAndWrittenByAClient() throws Exception {
        Path file = image("a.img", 1);
        byte[] before = Files.readAllBytes(file);
        activate(config("", file.toString()));
        BlockDevice client = connect("");
        assertThat(client.sizeInSectors()).isEqualTo(SIZE / 512);
        assertThat(client.isReadOnly()).isFalse();
        assertThat(read(client, 0, SIZE)).isEqualTo(before);
        byte[] pattern = new byte[4096];
        Arrays.fill(pattern, (byte) 0xab);
        write(client, 8, pattern);
        client.flush().toCompletableFuture().get();
        assertThat(Arrays.copyOfRange(Files.readAllBytes(file), 4096, 8192)).isEqualTo(pattern);
    }

    @Test
    void aFileOfPartialSectorsIsRefusedRatherThanExportedWithoutItsTail() throws Exception {
        Path odd = Files.write(dir.resolve("odd.img"), new byte[1000]);
        for (boolean readOnly : new boolean[] {false, true}) {
            assertThatThrownBy(() -> activate(config("", odd.toString(), NbdConfig.EXPORT_READ_ONLY, readOnly)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(NbdConfig.EXPORT_FACTORY_PID + ": export '': device " + odd + " has 1000 bytes, not whole "
                    + "sectors of 512: clients would see only its first 512 bytes and lose the last 488; extend it to "
                    + "1024 bytes to export it");
        }
        assertThat(dir.resolve("s.sock")).doesNotExist();
        assertThat(Files.size(odd)).isEqualTo(1000);
    }

    @Test
    void aReadOnlyExportRefusesWritesAndLeavesTheFileAsItWas() throws Exception {
        Path file = image("a.img", 2);
        byte[] before = Files.readAllBytes(file);
        activate(config("ro", file.toString(), NbdConfig.EXPORT_READ_ONLY, true));
        BlockDevice client = connect("ro");
        assertThat(client.isReadOnly()).isTrue();
        assertThat(read(client, 0, 4096)).isEqualTo(Arrays.copyOf(before, 4096));
        assertThatThrownBy(() -> write(client, 0, new byte[512])).hasMessageContaining("read-only");
        assertThat(Files.readAllBytes(file)).isEqualTo(before);
    }

    @Test
    void exportsOnOneSocketShareItsListenerAndWithdrawingOneKeepsTheOthersClients() throws Exception {
        Path a = image("a.img", 3);
        Path b = image("b.img", 4);
        activate(config("a", a.toString()));
        ExportComponent second = activate(config("b", b.toString()));
        BlockDevice clientA = connect("a");
        BlockDevice clientB = connect("b");
        ExportSettings settings = ExportSettings.of(OsgiFixture.annotation(ExportConfiguration.class,
            config("a", a.toString())));
        assertThat(listeners.listener(settings).exportNames()).containsExactly("a", "b");
        assertThat(read(clientB, 0, 512)).isEqualTo(Arrays.copyOf(Files.readAllBytes(b), 512));

        deactivate(second);

        assertThat(listeners.listener(settings).exportNames()).containsExactly("a");
        assertThatThrownBy(() -> read(clientB, 0, 512)).isInstanceOf(ExecutionException.class);
        assertThat(read(clientA, 0, SIZE)).isEqualTo(Files.readAllBytes(a));
        assertThatThrownBy(() -> connect("b")).isInstanceOf(IOException.class).hasMessageContaining("'b'");
    }

    @Test
    void theLastExportToLeaveClosesTheListenerAndRemovesItsSocket() throws Exception {
        ExportComponent c = activate(config("", image("a.img", 5).toString()));
        assertThat(dir.resolve("s.sock")).exists();
        deactivate(c);
        assertThat(dir.resolve("s.sock")).doesNotExist();
    }

    @Test
    void aServiceDeviceIsExportedWhileItsServiceExists() throws Exception {
        MemoryBlockDevice device = new MemoryBlockDevice("s1-device", SIZE / 512);
        byte[] data = new byte[SIZE];
        new Random(6).nextBytes(data);
        write(device, 0, data);
        ExportComponent c = activate(config("", "(&(kcopyd.device.role=snapshot)(kcopyd.snapshot.name=s1))"));
        assertThat(c.serving()).isFalse();
        assertThatThrownBy(() -> connect("")).isInstanceOf(IOException.class);

        ServiceRegistration<BlockDevice> registration = register(device, "s1");
        assertThat(c.serving()).isTrue();
        BlockDevice client = connect("");
        assertThat(read(client, 0, SIZE)).isEqualTo(data);

        registration.unregister();
        assertThat(c.serving()).isFalse();
        assertThatThrownBy(() -> read(client, 0, 512)).isInstanceOf(ExecutionException.class);
        assertThatThrownBy(() -> connect("")).isInstanceOf(IOException.class);

        register(device, "s1");
        assertThat(read(connect(""), 0, 512)).isEqualTo(Arrays.copyOf(data, 512));
    }

    @Test
    void twoMatchingServicesAreAmbiguousAndNothingIsExported() throws Exception {
        ExportComponent c = activate(config("", "(kcopyd.device.role=snapshot)"));
        ServiceRegistration<BlockDevice> first = register(new MemoryBlockDevice("one", 8), "one");
        assertThat(c.serving()).isTrue();
        register(new MemoryBlockDevice("two", 8), "two");
        assertThat(c.serving()).isFalse();
        first.unregister();
        assertThat(c.serving()).isTrue();
        assertThat(connect("").name()).contains("s.sock");
    }

    @Test
    void aServedExportPublishesItsConnectionCountWhileServed() throws Exception {
        MemoryBlockDevice device = new MemoryBlockDevice("s1-device", SIZE / 512);
        ExportComponent c = activate(config("", "(&(kcopyd.device.role=snapshot)(kcopyd.snapshot.name=s1))",
            org.osgi.framework.Constants.SERVICE_PID, "org.kcopyd.nbd.export~x1"));
        String filter = "(" + ExportComponent.STATUS + "=org.kcopyd.nbd.export~x1)";
        assertThat(osgi.context().getServiceReferences(java.util.function.IntSupplier.class, filter))
            .as("no status while its device is missing").isEmpty();

        ServiceRegistration<BlockDevice> registration = register(device, "s1");
        var refs = osgi.context().getServiceReferences(java.util.function.IntSupplier.class, filter);
        assertThat(refs).hasSize(1);
        assertThat(refs.iterator().next().getProperty(ExportComponent.STATUS_NAME)).isEqualTo("");
        java.util.function.IntSupplier connections = osgi.context().getService(refs.iterator().next());
        assertThat(connections.getAsInt()).isZero();
        BlockDevice first = connect("");
        BlockDevice second = connect("");
        await().atMost(Duration.ofSeconds(10)).until(() -> connections.getAsInt() == 2);
        first.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> connections.getAsInt() == 1);
        assertThat(second.sizeInSectors()).isEqualTo(SIZE / 512);

        registration.unregister();
        assertThat(osgi.context().getServiceReferences(java.util.function.IntSupplier.class, filter))
            .as("withdrawn: no status").isEmpty();
        register(device, "s1");
        assertThat(osgi.context().getServiceReferences(java.util.function.IntSupplier.class, filter)).hasSize(1);
        deactivate(c);
        assertThat(osgi.context().getServiceReferences(java.util.function.IntSupplier.class, filter))
            .as("deactivated: no status").isEmpty();
    }

    private ServiceRegistration<BlockDevice> register(BlockDevice device, String name) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(BlockDevice.ROLE, "snapshot");
        props.put("kcopyd.snapshot.name", name);
        return osgi.context().registerService(BlockDevice.class, device, props);
    }

    @Test
    void anExportServesAtMostItsMaximumConnectionsAndTheListenerTheirSum() throws Exception {
        activate(config("a", image("a.img", 7).toString(), NbdConfig.EXPORT_MAX_CONNECTIONS, 1));
        BlockDevice first = connect("a");
        // The listener's limit is 1 (its only export's): a second connection is closed at once.
        assertThatThrownBy(() -> connect("a")).isInstanceOf(IOException.class);
        activate(config("b", image("b.img", 8).toString(), NbdConfig.EXPORT_MAX_CONNECTIONS, 1));
        // Now 2: a second client of 'a' negotiates, then is disconnected, as 'a' serves its one already.
        BlockDevice second = connect("a");
        assertThatThrownBy(() -> read(second, 0, 512)).isInstanceOf(ExecutionException.class);
        assertThat(read(first, 0, 512)).hasSize(512);
        // The listener counts the second client of 'a' until the server has ended its session (CI saw 'b' closed
        // at once while it lasted): then 'b' has its place.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(read(connect("b"), 0, 512)).hasSize(512));
        first.close();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            BlockDevice again = connect("a");
            try {
                assertThat(read(again, 0, 512)).hasSize(512);
            } finally {
                again.close();
            }
        });
    }

    @Test
    void badValuesAreRefusedNamingTheValue() throws Exception {
        String file = image("a.img", 8).toString();
        byte[] before = Files.readAllBytes(Path.of(file));
        assertRefused(config("", file, NbdConfig.EXPORT_LISTEN, "127.0.0.1:10809"), "both socket");
        assertRefused(config("", file, NbdConfig.EXPORT_SOCKET, null), "neither socket nor listen");
        assertRefused(config("", file, NbdConfig.EXPORT_SOCKET, null, NbdConfig.EXPORT_LISTEN, "192.0.2.1:10809"),
            "192.0.2.1:10809 is not a loopback address");
        assertRefused(config("", file, NbdConfig.EXPORT_SOCKET, null, NbdConfig.EXPORT_LISTEN, "127.0.0.1:70000"),
            "port 70000 is outside 1..65535");
        assertRefused(config("", file, NbdConfig.EXPORT_SOCKET, null, NbdConfig.EXPORT_LISTEN, "::1:10809"),
            "brackets");
        assertRefused(config("", file, NbdConfig.EXPORT_MAX_CONNECTIONS, 0), "maxConnections 0 is outside");
        assertRefused(config("", "a.img"), "device 'a.img' is not an absolute path");
        assertRefused(config("", "(kcopyd.device.role=snapshot"), "is not a valid LDAP filter");
        assertRefused(config("", ""), "device is missing");
        assertRefused(config("x\0y", file), "contains NUL");
        assertRefused(config("", file, NbdConfig.EXPORT_SOCKET, "/" + "s".repeat(120)), "at most 107");
        assertRefused(config("", "(kcopyd.mirror.name=m)", NbdConfig.EXPORT_DEVICE_ID, "file:dev=8:1:ino=2"),
            "deviceId 'file:dev=8:1:ino=2' is for a path device");
        assertRefused(config("", file, NbdConfig.EXPORT_DEVICE_ID, "ino=2"), "deviceId 'ino=2' is not a device identity");
        assertRefused(config("", file, NbdConfig.EXPORT_DEVICE_ID, "nbd://host/disk"),
            "deviceId 'nbd://host/disk' is not a device identity");
        assertThat(Files.readAllBytes(Path.of(file))).isEqualTo(before);
        assertThat(dir.resolve("s.sock")).doesNotExist();
    }

    /**
     * A file swapped for another at the export's path (moved over it, restored from a backup) while the export was
     * down is not served: its identity was recorded when the export was made. Nothing of it is written or served.
     */
    @Test
    void anotherFileAtTheRecordedDevicesPathIsRefusedUntilTheUserNamesIt() throws Exception {
        Path file = image("a.img", 10);
        String id = DeviceIdentity.of(file);
        ExportComponent first = activate(config("", file.toString(), NbdConfig.EXPORT_DEVICE_ID, id));
        assertThat(read(connect(""), 0, 512)).isEqualTo(Arrays.copyOf(Files.readAllBytes(file), 512));
        clients.forEach(OsgiFixture::closeQuietly);
        clients.clear();
        deactivate(first);

        Path other = image("b.img", 11);
        byte[] otherBytes = Files.readAllBytes(other);
        Files.move(other, file, StandardCopyOption.REPLACE_EXISTING);
        String otherId = DeviceIdentity.of(file);
        assertThat(otherId).isNotEqualTo(id);
        for (boolean readOnly : new boolean[] {false, true}) {
            assertThatThrownBy(() -> activate(config("", file.toString(), NbdConfig.EXPORT_DEVICE_ID, id,
                    NbdConfig.EXPORT_READ_ONLY, readOnly)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(NbdConfig.EXPORT_FACTORY_PID + ": export '': device " + file + " is " + otherId + ", not "
                    + id + " (its deviceId when the export was made): another file or disk is at that path now "
                    + "(replaced, restored from a backup, another disk after a reboot), so nothing is served; if it is "
                    + "the one to serve, set deviceId=" + otherId + ", or remove the export and add it again");
        }
        assertThat(dir.resolve("s.sock")).as("nothing served").doesNotExist();
        assertThat(Files.readAllBytes(file)).isEqualTo(otherBytes);

        activate(config("", file.toString(), NbdConfig.EXPORT_DEVICE_ID, otherId));
        assertThat(read(connect(""), 0, 512)).as("named by the user").isEqualTo(Arrays.copyOf(otherBytes, 512));
    }

    /**
     * H51-1: a file restored at the export's path that got the inode number of the one before (ext4 gives a new file
     * a deleted one's number; a new tmpfs numbers its files from the start, on the device number the last one had)
     * was served as the recorded file. Its identity holds the file system's handle (inode and generation) now.
     * Here a tmpfs mounted again: the same device and inode numbers, another file, same bytes: refused.
     */
    @Test
    void aFileOnANewFileSystemWithTheSameNumbersIsNotTheRecordedDevice() throws Exception {
        Path mount = Files.createDirectory(dir.resolve("t"));
        mountTmpfs(mount);
        byte[] bytes = Files.readAllBytes(image("a.img", 12));
        String recorded;
        Object numbers;
        try {
            Path file = Files.write(mount.resolve("vm.img"), bytes);
            recorded = DeviceIdentity.of(file);
            numbers = org.kcopyd.device.FileClaims.identityOf(file);
        } finally {
            run("umount", mount.toString());
        }
        mountTmpfs(mount);
        try {
            Path file = Files.write(mount.resolve("vm.img"), bytes);
            assertThat(org.kcopyd.device.FileClaims.identityOf(file)).as("the same device and inode numbers")
                .isEqualTo(numbers);
            assertThatThrownBy(() -> activate(config("", file.toString(), NbdConfig.EXPORT_DEVICE_ID, recorded)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("device " + file + " is " + DeviceIdentity.of(file) + ", not " + recorded);
            assertThat(dir.resolve("s.sock")).as("nothing served").doesNotExist();
        } finally {
            run("umount", mount.toString());
        }
    }

    private static void mountTmpfs(Path mount) throws Exception {
        String said = run("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mount.toString());
        if (said != null) {
            org.kcopyd.testdevices.Peers.missing("mounting a tmpfs (mount -t tmpfs, as root) failed: " + said);
        }
    }

    /** @return null if the command succeeded, else what it said */
    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        return p.waitFor() == 0 ? null : String.join(" ", command) + ": " + said.strip();
    }

    /** H53-4: a missing file's refusal said only its path, which the export's status showed as the reason. */
    @Test
    void aMissingFileIsSaidToBeMissing() {
        Path missing = dir.resolve("gone.img");
        assertThatThrownBy(() -> activate(config("g", missing.toString()))).isInstanceOf(IOException.class)
            .hasMessage(NbdConfig.EXPORT_FACTORY_PID + ": export 'g': device " + missing + " does not exist");
        assertThat(dir.resolve("s.sock")).doesNotExist();
    }

    /** H49-5: an exported file replaced by a link to /dev/stdout served the daemon's own output at the next start. */
    @Test
    void aDeviceThatLeadsThroughProcIsRefused() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("ex.img"), Path.of("/dev/stdout"));
        assertRefused(config("", link.toString()), "device " + link + " names a file through /proc (/dev/stdout is a "
            + "symbolic link to /proc/self/fd/1)");
        assertThat(dir.resolve("s.sock")).doesNotExist();
    }

    @Test
    void aSocketPathThatIsNotASocketIsRefusedAndLeftAlone() throws Exception {
        Path notASocket = Files.writeString(dir.resolve("s.sock"), "precious");
        String file = image("a.img", 9).toString();
        assertRefused(config("", file), "is not a socket");
        assertThat(Files.readString(notASocket)).isEqualTo("precious");
    }

    /**
     * H48-5: a service device's export whose socket path is a file stayed active and unserved, and the control could
     * only say "see the log": the component registers why, while it lasts, for the control to answer with.
     */
    @Test
    void aServiceDeviceThatCannotBeServedSaysWhyWhileItLasts() throws Exception {
        Path notASocket = Files.writeString(dir.resolve("s.sock"), "precious");
        ExportComponent c = activate(config("", "(kcopyd.device.role=snapshot)",
            org.osgi.framework.Constants.SERVICE_PID, "org.kcopyd.nbd.export~x2"));
        String filter = "(" + ExportComponent.NOT_SERVED + "=org.kcopyd.nbd.export~x2)";
        assertThat(osgi.context().getServiceReferences(java.util.function.Supplier.class, filter))
            .as("waiting for its device is no failure").isEmpty();

        register(new MemoryBlockDevice("one", 8), "one");
        assertThat(c.serving()).isFalse();
        var refs = osgi.context().getServiceReferences(java.util.function.Supplier.class, filter);
        assertThat(refs).hasSize(1);
        assertThat(osgi.context().getService(refs.iterator().next()).get()).asString()
            .startsWith("its device one could not be served on " + dir.resolve("s.sock") + ": ")
            .contains("exists and is not a socket");
        assertThat(Files.readString(notASocket)).isEqualTo("precious");

        deactivate(c);
        assertThat(osgi.context().getServiceReferences(java.util.function.Supplier.class, filter))
            .as("deactivated: nothing to say").isEmpty();
    }

    @Test
    void twoMatchingServicesSayWhyUntilOneIsLeft() throws Exception {
        ExportComponent c = activate(config("", "(kcopyd.device.role=snapshot)",
            org.osgi.framework.Constants.SERVICE_PID, "org.kcopyd.nbd.export~x3"));
        String filter = "(" + ExportComponent.NOT_SERVED + "=org.kcopyd.nbd.export~x3)";
        ServiceRegistration<BlockDevice> first = register(new MemoryBlockDevice("one", 8), "one");
        register(new MemoryBlockDevice("two", 8), "two");
        var refs = osgi.context().getServiceReferences(java.util.function.Supplier.class, filter);
        assertThat(refs).hasSize(1);
        assertThat(osgi.context().getService(refs.iterator().next()).get()).asString()
            .startsWith("2 BlockDevice services match (kcopyd.device.role=snapshot)");

        first.unregister();
        assertThat(c.serving()).isTrue();
        assertThat(osgi.context().getServiceReferences(java.util.function.Supplier.class, filter)).isEmpty();
    }

    @Test
    void aNameTakenOnTheListenerIsRefusedAndTheFirstExportGoesOn() throws Exception {
        Path a = image("a.img", 10);
        activate(config("disk", a.toString()));
        assertRefused(config("disk", image("b.img", 11).toString()), "export 'disk' is served on");
        assertThat(read(connect("disk"), 0, SIZE)).isEqualTo(Files.readAllBytes(a));
    }

    @Test
    void anAddressInUseFailsNamingIt() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String listen = "127.0.0.1:" + taken.getLocalPort();
            Map<String, Object> props = config("", image("a.img", 12).toString(), NbdConfig.EXPORT_SOCKET, null,
                NbdConfig.EXPORT_LISTEN, listen);
            assertThatThrownBy(() -> activate(props)).isInstanceOf(IOException.class)
                .hasMessageContaining("cannot listen on " + listen);
        }
    }

    @Test
    void aClaimedFileIsNotExportedForWriting() throws Exception {
        Path file = image("a.img", 13);
        FileDeviceOpener other = new FileDeviceOpener(false, "another writer");
        try (BlockDevice held = other.open(file, org.kcopyd.api.DeviceOption.READ_WRITE)) {
            assertThatThrownBy(() -> activate(config("", file.toString()))).isInstanceOf(IOException.class)
                .hasMessageContaining("a.img");
            assertThat(dir.resolve("s.sock")).doesNotExist();
            activate(config("", file.toString(), NbdConfig.EXPORT_READ_ONLY, true));
            assertThat(read(connect(""), 0, 512)).hasSize(512);
        }
    }

    private void assertRefused(Map<String, Object> props, String message) {
        assertThatThrownBy(() -> activate(props)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining(message);
    }
}
