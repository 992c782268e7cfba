package org.kcopyd.api;

import java.io.IOException;
import java.net.URI;
import java.util.Set;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Opens devices named by URIs of some schemes (for instance {@code nbd://host/export}), on behalf
 * of {@link BlockDeviceOpener#open(URI, DeviceOption...)}. A bundle offers devices of its own
 * kind by implementing this interface; the opener dispatches each URI to the provider of its
 * scheme. {@code file:} is the opener's own and cannot be provided.
 *
 * <p><b>Finding providers.</b> Inside OSGi a provider is a service of this interface whose
 * {@value #SCHEMES} service property lists its schemes; when two services offer one scheme, the
 * one with the highest {@code service.ranking} (then the lowest {@code service.id}) serves it, and
 * the opener logs a warning. Outside OSGi ({@link Kcopyd#start}, {@link KcopydEngine#devices()})
 * providers are found with {@link java.util.ServiceLoader} (a
 * {@code META-INF/services/org.kcopyd.api.UriDeviceProvider} entry in the provider's jar) and
 * their schemes are those {@link #schemes()} returns; between two of them for one scheme, the one
 * found first serves it.
 *
 * <p><b>Units.</b> The devices are {@link BlockDevice}s: sectors of
 * {@value BlockDevice#SECTOR_SIZE} bytes.
 *
 * <p><b>Threading.</b> {@link #open} is called from any thread, by several threads at once, and
 * may block while it connects; a provider bounds that time itself (a connect timeout) rather than
 * blocking for ever. The devices follow {@link BlockDevice}'s threading rules.
 *
 * <p><b>Claims.</b> The exclusive claims the opener takes on files opened for writing, by their
 * identity (device and inode), do not apply to remote devices: kcopyd cannot tell whether two
 * URIs name one export, nor see other writers of it. The command line refuses the same URI twice
 * in one command; beyond that, keeping writers apart is the user's and the server's business.
 */
@ConsumerType
public interface UriDeviceProvider {

    /**
     * Service property of a {@code UriDeviceProvider} service: the URI schemes it serves, one
     * {@code String} or a {@code String[]} (or collection) of lower-case schemes such as
     * {@code nbd} and {@code nbd+unix}. A service without it, or with an invalid scheme in it,
     * is ignored, with a warning.
     */
    String SCHEMES = "kcopyd.device.schemes";

    /**
     * The schemes this provider serves, lower case. Outside OSGi the only source of them; inside
     * OSGi the {@value #SCHEMES} service property decides, and should list the same.
     *
     * @return one or more lower-case schemes, never {@code file}
     */
    Set<String> schemes();

    /**
     * Opens the device a URI names. The caller owns the device and closes it; closing releases
     * whatever the device holds (connections, threads) and makes its later requests fail.
     *
     * @param uri     an absolute URI of one of {@link #schemes()} (the scheme in any case)
     * @param options {@link DeviceOption#READ_WRITE} must be honoured (without it the device is
     *                read-only: {@link BlockDevice#isReadOnly()} is true); {@link DeviceOption#DSYNC}
     *                must be honoured (every write durable when it completes) or refused with an
     *                {@link IOException}; {@link DeviceOption#DIRECT} asks to bypass a local page
     *                cache and may be ignored by devices without one
     * @return the opened device, never null; its {@link BlockDevice#name()} names the URI without
     *         secrets
     * @throws IOException              if the device cannot be opened: no connection, refused by
     *                                  the server, no such export, read-write asked of a read-only
     *                                  one; the message names the URI and the reason
     * @throws IllegalArgumentException if the URI is not a valid URI of this provider's schemes
     *                                  (a bad port, a missing part); the message names it and why
     */
    BlockDevice open(URI uri, DeviceOption... options) throws IOException;
}
