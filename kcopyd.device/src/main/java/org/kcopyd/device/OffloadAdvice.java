package org.kcopyd.device;

import org.kcopyd.api.BlockDevice;

/**
 * A source device that can tell whether its {@linkplain BlockDevice#offloadTo offload} to a
 * destination is faster than the engine's page path. The engine's default for copies
 * ({@code --offload=auto}, neither {@link org.kcopyd.api.CopyFlag#NO_OFFLOAD} nor
 * {@link org.kcopyd.api.CopyFlag#OFFLOAD_ALWAYS}) offloads only to destinations a source
 * {@linkplain BlockDevice#canOffloadTo accepts} and advises; a device that does not implement
 * this is not offloaded from by default. A wrapper that passes {@link BlockDevice#canOffloadTo}
 * on may pass this on too.
 *
 * <p>{@link FileBlockDevice} advises offload where the file system shares blocks (a reflink) or
 * is a network file system (a server-side copy), and nowhere else.
 *
 * @since 1.3.0
 */
public interface OffloadAdvice {

    /**
     * A cheap check, with no I/O, made once per job and destination from the submitting
     * thread; thread-safe.
     *
     * @param destination a destination device of a copy job
     * @return true if the kernel's copy to {@code destination} beats reading and writing the
     *         data through the engine's pages
     */
    boolean offloadBeatsPagesTo(BlockDevice destination);
}
