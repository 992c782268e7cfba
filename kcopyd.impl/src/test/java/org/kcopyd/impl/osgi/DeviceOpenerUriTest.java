package org.kcopyd.impl.osgi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ResourceBundle;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.UriDeviceProvider;
import org.kcopyd.device.FileClaimedException;
import org.kcopyd.device.MemoryBlockDevice;
import org.kcopyd.device.NoDeviceProviderException;

/**
 * The opener service's devices named by URI, with providers bound to the engine component as DS
 * binds them: dispatch by scheme to the best-ranked provider, a warning when two offer one scheme,
 * providers coming and going, and a bundle's URI devices closed when it lets go of the service.
 */
class DeviceOpenerUriTest {

    private final ActiveComponent active = new ActiveComponent();
    private final KcopydComponent component = active.component;

    /** Memory devices by the URI's host, kept between opens; records what it opened and closed. */
    private static final class MemoryProvider implements UriDeviceProvider {
        final String label;
        final Map<String, MemoryBlockDevice> devices = new ConcurrentHashMap<>();
        final List<String> events = new CopyOnWriteArrayList<>();

        MemoryProvider(String label) {
            this.label = label;
        }

        @Override
        public Set<String> schemes() {
            return Set.of("mem");
        }

        @Override
        public BlockDevice open(URI uri, DeviceOption... options) throws IOException {
            events.add("open " + uri);
            MemoryBlockDevice memory = devices.computeIfAbsent(uri.getHost(), h -> new MemoryBlockDevice(label, 16));
            return new org.kcopyd.testdevices.ForwardingDevice(memory) {
                @Override
                public void close() {
                    events.add("close " + uri);
                }
            };
        }
    }

    private static Map<String, Object> serviceProperties(long id, Integer ranking, Object schemes) {
        return ActiveComponent.providerProperties(id, ranking, schemes);
    }

    private BlockDeviceOpener openerFor(String bundleName) {
        return active.openerFor(bundleName);
    }

    private DeviceOpenerService service() {
        return active.openerService();
    }

    @AfterEach
    void deactivate() {
        active.close();
    }

    private static byte firstByteOf(BlockDevice device) {
        ByteBuffer b = ByteBuffer.allocate(512);
        device.read(0, b).toCompletableFuture().join();
        return b.get(0);
    }

    @Test
    void aUriGoesToTheBestRankedProviderOfItsSchemeBoundBeforeOrAfterActivation() throws IOException {
        MemoryProvider first = new MemoryProvider("first");
        MemoryProvider better = new MemoryProvider("better");
        component.bindUriProvider(first, serviceProperties(5, null, "mem"));
        BlockDeviceOpener opener = openerFor("a.consumer");

        try (BlockDevice d = opener.open(URI.create("mem://x"), DeviceOption.READ_WRITE)) {
            assertThat(d.name()).isEqualTo("first");
        }
        component.bindUriProvider(better, serviceProperties(9, 10, new String[] {"mem", "mem+x"}));
        try (BlockDevice d = opener.open(URI.create("mem://x"))) {
            assertThat(d.name()).isEqualTo("better");
        }
        try (BlockDevice d = opener.open(URI.create("mem+x://x"))) {
            assertThat(d.name()).isEqualTo("better");
        }
        component.unbindUriProvider(better, serviceProperties(9, 10, new String[] {"mem", "mem+x"}));
        try (BlockDevice d = opener.open(URI.create("mem://x"))) {
            assertThat(d.name()).isEqualTo("first");
        }
        assertThatThrownBy(() -> opener.open(URI.create("mem+x://x"))).isInstanceOf(NoDeviceProviderException.class)
                .hasMessage("no device provider for scheme 'mem+x' in 'mem+x://x' (known schemes: file, mem)");
        assertThat(first.events).containsExactly("open mem://x", "close mem://x", "open mem://x", "close mem://x");
    }

    @Test
    void aProviderDevicesDataReallyFlowsThroughTheOpenersDevice() throws IOException {
        MemoryProvider mem = new MemoryProvider("mem");
        component.bindUriProvider(mem, serviceProperties(5, null, List.of("mem")));
        BlockDeviceOpener opener = openerFor("a.consumer");

        try (BlockDevice w = opener.open(URI.create("mem://d"), DeviceOption.READ_WRITE)) {
            ByteBuffer data = ByteBuffer.allocate(512);
            data.put(0, (byte) 42);
            w.write(0, data).toCompletableFuture().join();
            w.flush().toCompletableFuture().join();
            assertThat(w.sizeInSectors()).isEqualTo(16);
        }
        try (BlockDevice r = opener.open(URI.create("mem://d"))) {
            assertThat(firstByteOf(r)).isEqualTo((byte) 42);
        }
    }

    @Test
    void aBundlesUriDevicesAreClosedWhenItLetsGoAndClosedOnesAreForgotten() throws IOException {
        MemoryProvider mem = new MemoryProvider("mem");
        component.bindUriProvider(mem, serviceProperties(5, null, "mem"));
        BlockDeviceOpener opener = openerFor("a.consumer");
        DeviceOpenerService.BundleOpener view = (DeviceOpenerService.BundleOpener) opener;

        for (int i = 0; i < 100; i++) {
            opener.open(URI.create("mem://closed" + i)).close();
        }
        assertThat(view.openDevices()).isZero();
        opener.open(URI.create("mem://left-open"));
        assertThat(view.openDevices()).isEqualTo(1);

        service().ungetService(null, null, opener);

        assertThat(mem.events).endsWith("open mem://left-open", "close mem://left-open");
        assertThat(view.openDevices()).isZero();
    }

    /**
     * H39: one export opened for writing by two bundles of one daemon (a mirror's leg and a
     * snapshot's origin) had each bypass the other. The second open for writing, under any
     * spelling, is refused naming the holder, without asking the provider; reading is not; once the
     * first device is closed, or its bundle lets go of the service, the export opens for writing again.
     */
    @Test
    void anExportOpenForWritingIsNotOpenedForWritingAgainInThisProcess() throws IOException {
        MemoryProvider mem = new MemoryProvider("mem");
        component.bindUriProvider(mem, serviceProperties(5, null, "mem"));
        BlockDeviceOpener mirror = openerFor("kcopyd.mirror");
        BlockDeviceOpener snapshot = openerFor("kcopyd.snapshot");

        BlockDevice leg = mirror.open(URI.create("mem://disk"), DeviceOption.READ_WRITE);
        assertThatThrownBy(() -> snapshot.open(URI.create("MEM://DISK"), DeviceOption.READ_WRITE))
                .isInstanceOf(FileClaimedException.class)
                .hasMessageContaining(" is open for writing by bundle kcopyd.mirror already (in this process); two "
                        + "devices writing one export would each bypass the other");
        assertThat(mem.events).as("the provider is not asked").containsExactly("open mem://disk");
        snapshot.open(URI.create("mem://disk")).close();

        leg.close();
        snapshot.open(URI.create("mem://disk"), DeviceOption.READ_WRITE);
        assertThatThrownBy(() -> mirror.open(URI.create("mem://disk"), DeviceOption.READ_WRITE))
                .hasMessageStartingWith("mem://disk is open for writing by bundle kcopyd.snapshot already");
        service().ungetService(null, null, snapshot);
        mirror.open(URI.create("mem://disk"), DeviceOption.READ_WRITE).close();
    }

    @Test
    void twoProvidersOfOneSchemeAreWarnedAboutAndTheChoiceIsDeterministic() {
        List<String> warnings = new ArrayList<>();
        UriProviderBindings bindings = new UriProviderBindings(recording(warnings));
        MemoryProvider a = new MemoryProvider("a");
        MemoryProvider b = new MemoryProvider("b");

        bindings.bind(b, serviceProperties(8, null, "mem"));
        bindings.bind(a, serviceProperties(3, null, "mem"));

        assertThat(bindings.providers().providerFor("mem")).as("equal rankings: the lowest service id").isSameAs(a);
        assertThat(warnings).containsExactly("WARNING scheme 'mem' is offered by 2 device providers: device provider "
                + "service 3 (" + MemoryProvider.class.getName() + ") (ranking 0) serves it, not device provider service 8 ("
                + MemoryProvider.class.getName() + ") (ranking 0)");

        bindings.updated(b, serviceProperties(8, 1, "mem"));
        assertThat(bindings.providers().providerFor("mem")).as("a higher ranking, after a property change").isSameAs(b);
    }

    @Test
    void aServiceWithoutValidSchemesIsIgnoredWithAWarningNamingIt() {
        List<String> warnings = new ArrayList<>();
        UriProviderBindings bindings = new UriProviderBindings(recording(warnings));
        MemoryProvider mem = new MemoryProvider("mem");
        String name = "device provider service 4 (" + MemoryProvider.class.getName() + ") ignored: ";

        bindings.bind(mem, serviceProperties(4, null, null));
        bindings.bind(mem, serviceProperties(4, null, new String[0]));
        bindings.bind(mem, serviceProperties(4, null, 7));
        bindings.bind(mem, serviceProperties(4, null, "file"));
        bindings.bind(mem, serviceProperties(4, null, "no scheme"));

        assertThat(warnings).containsExactly(
                "WARNING " + name + "its service property kcopyd.device.schemes is missing; it must be a scheme or a "
                        + "non-empty String[] of schemes",
                "WARNING " + name + "its service property kcopyd.device.schemes is '[]'; it must be a scheme or a "
                        + "non-empty String[] of schemes",
                "WARNING " + name + "its service property kcopyd.device.schemes is '7'; it must be a scheme or a "
                        + "non-empty String[] of schemes",
                "WARNING " + name + "device provider service 4 (" + MemoryProvider.class.getName() + ") offers the "
                        + "scheme 'file', which the opener serves itself (files and block devices)",
                "WARNING " + name + "device provider service 4 (" + MemoryProvider.class.getName() + "): 'no scheme' is "
                        + "not a URI scheme (a letter, then letters, digits, '+', '-' or '.')");
        assertThat(bindings.providers().schemes()).containsExactly("file");
    }

    /** A System.Logger that keeps "LEVEL message". */
    private static System.Logger recording(List<String> into) {
        return new System.Logger() {
            @Override
            public String getName() {
                return "recording";
            }

            @Override
            public boolean isLoggable(Level level) {
                return true;
            }

            @Override
            public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
                into.add(level + " " + msg);
            }

            @Override
            public void log(Level level, ResourceBundle bundle, String format, Object... params) {
                into.add(level + " " + format);
            }
        };
    }
}
