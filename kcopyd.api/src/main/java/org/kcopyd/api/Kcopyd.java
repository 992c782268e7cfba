package org.kcopyd.api;

import java.util.ServiceLoader;

/**
 * Entry point outside OSGi (plain class path or module path): starts an engine from the
 * implementation found by {@link ServiceLoader}. Inside OSGi, use the
 * {@link KcopydClientFactory} and {@link BlockDeviceOpener} services instead.
 *
 * <p>The engine's {@linkplain KcopydEngine#devices() opener} also opens devices named by URI: the
 * {@link UriDeviceProvider}s that {@link ServiceLoader} finds when the engine starts (through this
 * class's class loader, then the thread's context class loader) serve their
 * {@linkplain UriDeviceProvider#schemes() schemes}, so a jar such as kcopyd.nbd on the class path
 * is enough for {@code engine.devices().open(URI.create("nbd://host/export"))}.
 *
 * <pre>{@code
 * try (KcopydEngine engine = Kcopyd.start(EngineSettings.defaults());
 *      BlockDevice src = engine.devices().open(Path.of("disk.img"));
 *      BlockDevice dst = engine.devices().create(Path.of("copy.img"), src.sizeInSectors());
 *      KcopydClient client = engine.createClient()) {
 *     CopyResult r = client.copy(IoRegion.whole(src), List.of(IoRegion.whole(dst)), Set.of())
 *             .toCompletableFuture().join();
 * }
 * }</pre>
 */
public final class Kcopyd {

    private Kcopyd() {
    }

    /**
     * Starts an engine.
     *
     * @param settings the engine settings
     * @return the engine; close it when done
     * @throws IllegalStateException if no implementation is on the class path
     */
    public static KcopydEngine start(EngineSettings settings) {
        for (KcopydProvider provider : ServiceLoader.load(KcopydProvider.class, Kcopyd.class.getClassLoader())) {
            return provider.start(settings);
        }
        for (KcopydProvider provider : ServiceLoader.load(KcopydProvider.class)) {
            return provider.start(settings);
        }
        throw new IllegalStateException("no kcopyd implementation (kcopyd.impl) on the class path");
    }
}
