package org.kcopyd.cli.internal;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

import org.kcopyd.api.CopyFlag;

/**
 * {@code --offload=auto|always|never} of {@code copy}: the job options it stands for.
 * {@code auto} (the default, no flag), like {@code cp --reflink=auto}, lets the kernel copy only
 * where that beats the engine's pages: a reflink on a file system that shares blocks (XFS, Btrfs,
 * bcachefs, OCFS2), a server-side copy on NFS or SMB; elsewhere (ext4, tmpfs) the pages copy,
 * the kernel not even asked. {@code always} is {@link CopyFlag#OFFLOAD_ALWAYS}: the kernel copies
 * between any two files of one file system that it accepts ({@code copy_file_range}).
 * {@code never} is {@link CopyFlag#NO_OFFLOAD}: every chunk is read into the engine's pages and
 * written from them. Wherever the kernel refuses, the pages copy.
 */
final class OffloadOption {

    /** The values, as the help and the refusal list them. */
    static final String VALUES = "auto, always, never";

    private OffloadOption() {
    }

    /**
     * @param value the option's value (any case)
     * @return the job flags it stands for
     * @throws CommandException {@link Exit#USAGE} naming the value and the accepted ones
     */
    static Set<CopyFlag> flags(String value) {
        switch (value == null ? "" : value.toLowerCase(Locale.ROOT)) {
            case "auto":
                return EnumSet.noneOf(CopyFlag.class);
            case "always":
                return EnumSet.of(CopyFlag.OFFLOAD_ALWAYS);
            case "never":
                return EnumSet.of(CopyFlag.NO_OFFLOAD);
            default:
                throw CommandException.usage("--offload '" + value + "' is not one of " + VALUES);
        }
    }
}
