package org.kcopyd.impl.engine;

import java.util.Set;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;

/**
 * When a copy lets the kernel copy a destination ({@link BlockDevice#offloadTo}) instead of
 * reading and writing it through the engine's pages. Immutable.
 */
enum Offload {
    /** {@link CopyFlag#NO_OFFLOAD}: always the pages. */
    NEVER,
    /**
     * Neither flag (the default): only where the source accepts the destination and
     * {@linkplain BlockDevice#offloadBeatsPagesTo advises} it, the kernel's copy being faster there (a reflink, a
     * server-side copy). A source that gives no advice is not offloaded from.
     */
    AUTO,
    /** {@link CopyFlag#OFFLOAD_ALWAYS}: wherever the source accepts the destination. */
    ALWAYS;

    /**
     * @return the mode {@code flags} ask for
     * @throws IllegalArgumentException if they hold both {@link CopyFlag#NO_OFFLOAD} and
     *                                  {@link CopyFlag#OFFLOAD_ALWAYS}
     */
    static Offload of(Set<CopyFlag> flags) {
        boolean never = flags.contains(CopyFlag.NO_OFFLOAD);
        boolean always = flags.contains(CopyFlag.OFFLOAD_ALWAYS);
        if (never && always) {
            throw new IllegalArgumentException("flags " + flags + " ask for both NO_OFFLOAD and OFFLOAD_ALWAYS; "
                    + "give at most one of them");
        }
        return never ? NEVER : always ? ALWAYS : AUTO;
    }

    /** @return true if a copy in this mode offloads from {@code source} to {@code destination} */
    boolean offloads(BlockDevice source, BlockDevice destination) {
        return switch (this) {
            case NEVER -> false;
            case ALWAYS -> source.canOffloadTo(destination);
            case AUTO -> source.canOffloadTo(destination) && source.offloadBeatsPagesTo(destination);
        };
    }
}
