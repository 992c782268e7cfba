package org.kcopyd.device;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.UriDeviceProvider;

/**
 * The {@link UriDeviceProvider}s known to an opener, by scheme. When several offer one scheme,
 * the one with the highest ranking serves it, between equal rankings the one with the lowest
 * order (an OSGi service id, or the order {@link java.util.ServiceLoader} found them in): the
 * choice depends only on what is registered, never on the order of registration. Thread-safe:
 * providers come and go while devices are opened; an open runs outside the lock.
 */
public final class UriProviders {

    /** The schemes of NBD, which kcopyd.nbd serves. */
    private static final Set<String> NBD_SCHEMES = Set.of("nbd", "nbd+unix", "nbds", "nbds+unix");

    private static final Comparator<Entry> PREFERRED = Comparator.comparingInt(Entry::ranking).reversed()
            .thenComparingLong(Entry::order);

    /**
     * One registered provider.
     *
     * @param provider the provider
     * @param schemes  its schemes, lower case
     * @param ranking  higher wins
     * @param order    unique among the entries; lower wins between equal rankings
     * @param label    how messages name it, e.g. {@code "service 42 (org.kcopyd.nbd)"}
     */
    private record Entry(UriDeviceProvider provider, Set<String> schemes, int ranking, long order, String label) {
        String describe() {
            return label + " (ranking " + ranking + ")";
        }
    }

    private final Map<Long, Entry> entries = new TreeMap<>();

    /**
     * Adds a provider.
     *
     * @param provider the provider
     * @param schemes  the schemes it serves, in any case; at least one, never {@code file}
     * @param ranking  the preference between providers of one scheme, higher wins
     * @param order    unique key of this registration (the service id); lower wins between equal rankings
     * @param label    how messages name the provider
     * @return one warning per scheme that is now offered by more than one provider, naming which serves it
     * @throws IllegalArgumentException naming the bad value if there is no scheme, a scheme is not a URI
     *                                  scheme or is {@code file}, or {@code order} is registered already;
     *                                  nothing is added then
     */
    public synchronized List<String> add(UriDeviceProvider provider, Collection<String> schemes, int ranking,
            long order, String label) {
        if (provider == null) {
            throw new IllegalArgumentException(label + ": the provider is null");
        }
        if (schemes == null || schemes.isEmpty()) {
            throw new IllegalArgumentException(label + " names no scheme; a device provider serves at least one ("
                    + UriDeviceProvider.SCHEMES + ")");
        }
        Set<String> lower = new TreeSet<>();
        for (String s : schemes) {
            String scheme;
            try {
                scheme = DeviceUris.lowerCase(s);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(label + ": " + e.getMessage(), e);
            }
            if (DeviceUris.FILE.equals(scheme)) {
                throw new IllegalArgumentException(label + " offers the scheme '" + s
                        + "', which the opener serves itself (files and block devices)");
            }
            lower.add(scheme);
        }
        if (entries.containsKey(order)) {
            throw new IllegalArgumentException(label + ": order " + order + " is registered already, by "
                    + entries.get(order).describe());
        }
        entries.put(order, new Entry(provider, Set.copyOf(lower), ranking, order, label));
        List<String> warnings = new ArrayList<>();
        for (String scheme : lower) {
            List<Entry> offering = offering(scheme);
            if (offering.size() > 1) {
                List<String> others = offering.subList(1, offering.size()).stream().map(Entry::describe).toList();
                warnings.add("scheme '" + scheme + "' is offered by " + offering.size() + " device providers: "
                        + offering.get(0).describe() + " serves it, not " + String.join(", ", others));
            }
        }
        return warnings;
    }

    /**
     * Removes a provider; its schemes go to the next preferred provider, if any. Devices it opened stay open.
     *
     * @param order the key it was added with
     * @return true if it was registered
     */
    public synchronized boolean remove(long order) {
        return entries.remove(order) != null;
    }

    /**
     * @param scheme a scheme in any case
     * @return the provider that serves it, or null
     */
    public synchronized UriDeviceProvider providerFor(String scheme) {
        List<Entry> offering = offering(DeviceUris.lowerCase(scheme));
        return offering.isEmpty() ? null : offering.get(0).provider();
    }

    /** @return every scheme served, {@code file} first, the others sorted */
    public synchronized List<String> schemes() {
        Set<String> all = new LinkedHashSet<>();
        all.add(DeviceUris.FILE);
        TreeSet<String> served = new TreeSet<>();
        for (Entry e : entries.values()) {
            served.addAll(e.schemes());
        }
        all.addAll(served);
        return List.copyOf(all);
    }

    /**
     * Opens a URI of a scheme other than {@code file} with the provider that serves it.
     *
     * @param uri     the URI
     * @param options as given to the opener
     * @return the device
     * @throws NoDeviceProviderException if no provider serves the URI's scheme
     * @throws IOException               as the provider throws it, or if it returned no device
     * @throws IllegalArgumentException  if the URI has no scheme or is opaque, or as the provider throws it
     */
    public BlockDevice open(URI uri, DeviceOption... options) throws IOException {
        String scheme = DeviceUris.scheme(uri);
        UriDeviceProvider provider = DeviceUris.FILE.equals(scheme) ? null : providerFor(scheme);
        if (provider == null) {
            throw new NoDeviceProviderException(scheme, "no device provider for scheme '" + scheme + "' in '" + uri
                    + "' (known schemes: " + String.join(", ", schemes()) + ")" + (NBD_SCHEMES.contains(scheme)
                            ? "; install the kcopyd.nbd bundle (outside OSGi: put its jar on the class path)" : ""));
        }
        BlockDevice device = provider.open(uri, options);
        if (device == null) {
            throw new IOException("the device provider for scheme '" + scheme + "' (" + provider.getClass().getName()
                    + ") opened no device for '" + uri + "'");
        }
        return device;
    }

    private List<Entry> offering(String scheme) {
        return entries.values().stream().filter(e -> e.schemes().contains(scheme)).sorted(PREFERRED).toList();
    }
}
