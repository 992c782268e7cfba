package org.kcopyd.nbd.internal.osgi;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.UriDeviceProvider;
import org.kcopyd.nbd.NbdClient;
import org.kcopyd.nbd.NbdClientOptions;
import org.kcopyd.nbd.NbdConfig;
import org.kcopyd.nbd.NbdUri;
import org.kcopyd.nbd.internal.client.ReadOnlyDevice;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;

/**
 * Devices named by NBD URIs ({@code nbd}, {@code nbd+unix}, and with TLS {@code nbds},
 * {@code nbds+unix}) for {@code BlockDeviceOpener.open(URI)}. In OSGi a
 * DS component configured by {@value NbdConfig#CLIENT_PID} (optional; a change applies to devices
 * opened afterwards, a refused one keeps the last valid values and fails the component's
 * activation or modification with the reason); outside OSGi found by {@link java.util.ServiceLoader}
 * through its public no-argument constructor, with the defaults.
 *
 * <p>A URI that is not a valid NBD URI: {@link IllegalArgumentException} naming it and why. A
 * connection or negotiation failure: {@link IOException} naming the URI. Without
 * {@link DeviceOption#READ_WRITE} the device refuses writes; {@link DeviceOption#DSYNC} is refused
 * (use a flush); {@link DeviceOption#DIRECT} has no meaning here and is ignored. Thread-safe:
 * {@link #open} may run on several threads at once and blocks for at most the request timeout
 * per connection.
 */
@Component(configurationPid = NbdConfig.CLIENT_PID, configurationPolicy = ConfigurationPolicy.OPTIONAL,
        property = {UriDeviceProvider.SCHEMES + "=nbd", UriDeviceProvider.SCHEMES + "=nbd+unix",
            UriDeviceProvider.SCHEMES + "=nbds", UriDeviceProvider.SCHEMES + "=nbds+unix"})
@Designate(ocd = ClientConfiguration.class)
public final class NbdDeviceProvider implements UriDeviceProvider {

    private volatile NbdClientOptions options = NbdClientOptions.defaults();

    /** A provider with the default options ({@link NbdClientOptions#defaults()}). */
    public NbdDeviceProvider() {
        // For ServiceLoader and DS.
    }

    @Activate
    @Modified
    void configure(ClientConfiguration configuration) {
        NbdClientOptions checked = options(configuration.requestTimeoutSeconds(), configuration.connections());
        String tls = configuration.tlsCertificates() == null ? "" : configuration.tlsCertificates().strip();
        if (!tls.isEmpty()) {
            java.nio.file.Path path = java.nio.file.Path.of(tls);
            if (!path.isAbsolute()) {
                throw new IllegalArgumentException(NbdConfig.CLIENT_PID + ": " + NbdConfig.CLIENT_TLS_CERTIFICATES + " '"
                    + tls + "' is not an absolute path");
            }
            checked = checked.withTlsCertificates(path);
        }
        options = checked;
    }

    /**
     * @return the options these values make
     * @throws IllegalArgumentException naming the property, the value and the range
     */
    static NbdClientOptions options(int requestTimeoutSeconds, int connections) {
        if (requestTimeoutSeconds < 1 || requestTimeoutSeconds > 86_400) {
            throw new IllegalArgumentException(NbdConfig.CLIENT_PID + ": " + NbdConfig.CLIENT_REQUEST_TIMEOUT_SECONDS
                + " " + requestTimeoutSeconds + " is outside the allowed range 1..86400");
        }
        if (connections < 0 || connections > NbdClientOptions.MAX_CONNECTIONS) {
            throw new IllegalArgumentException(NbdConfig.CLIENT_PID + ": " + NbdConfig.CLIENT_CONNECTIONS + " "
                + connections + " is outside the allowed range 0.." + NbdClientOptions.MAX_CONNECTIONS
                + " (0: the default, " + NbdClientOptions.DEFAULT_CONNECTIONS + " here)");
        }
        return new NbdClientOptions(Duration.ofSeconds(requestTimeoutSeconds),
            connections == 0 ? NbdClientOptions.DEFAULT_CONNECTIONS : connections);
    }

    /** @return the options devices are opened with now */
    NbdClientOptions options() {
        return options;
    }

    @Override
    public Set<String> schemes() {
        return Set.copyOf(NbdConfig.SCHEMES);
    }

    @Override
    public BlockDevice open(URI uri, DeviceOption... options) throws IOException {
        NbdUri nbd = NbdUri.parse(uri.toString());
        List<DeviceOption> asked = Arrays.asList(options);
        if (asked.contains(DeviceOption.DSYNC)) {
            throw new IOException(nbd + ": DSYNC (every write durable when it completes) is not supported for NBD "
                + "devices; flush instead");
        }
        BlockDevice device = NbdClient.connect(nbd, this.options);
        if (asked.contains(DeviceOption.READ_WRITE)) {
            if (device.isReadOnly()) {
                device.close();
                throw new IOException(nbd + ": cannot open for writing: the server exports it read-only");
            }
            return device;
        }
        return new ReadOnlyDevice(device);
    }
}
