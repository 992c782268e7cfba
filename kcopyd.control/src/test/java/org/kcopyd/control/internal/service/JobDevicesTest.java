package org.kcopyd.control.internal.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.control.ControlException;
import org.kcopyd.device.FileDeviceOpener;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/**
 * A job's devices are the files its names were examined as: a file renamed over a destination's
 * name after the job's checks is refused, not written; a new destination is created at the
 * asked size and opened for writing.
 */
class JobDevicesTest {

    @TempDir
    Path dir;

    private final FileDeviceOpener files = new FileDeviceOpener(false);

    /** A registry with one service, the file opener. */
    private JobDevices jobDevices() {
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
                    case "getService" -> files;
                    case "ungetService" -> true;
                    default -> throw new UnsupportedOperationException(m.getName() + Arrays.toString(a));
                });
        Services services = new Services(context);
        return new JobDevices(services, new Exports(null, services, null, Duration.ZERO));
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

            assertThatThrownBy(() -> devices.open(named, true)).isInstanceOfSatisfying(ControlException.class,
                    e -> assertThat(e.code()).isEqualTo(ControlException.Code.CONFLICT))
                    .hasMessage("destination " + dest + " was replaced by another file since the job was checked; "
                            + "nothing was written");
        }
        assertThat(Files.readAllBytes(dest)).isEqualTo(kept);
        assertThat(files.open(dest, org.kcopyd.api.DeviceOption.READ_WRITE)).as("its claim, released")
                .satisfies(d -> d.close());
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
