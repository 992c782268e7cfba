package org.kcopyd.cli.internal;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

import org.kcopyd.api.CopyFlag;

/**
 * {@code --offload=auto|never} of {@code copy}: the job options it stands for, like
 * {@code cp --reflink=auto}. {@code auto} (the default) lets the kernel or file system copy
 * between files of one file system (a reflink, else {@code copy_file_range}), falling back to
 * the engine's pages where it refuses; {@code never} is {@link CopyFlag#NO_OFFLOAD}: every chunk
 * is read into the engine's pages and written from them.
 */
final class OffloadOption {

    /** The values, as the help and the refusal list them. */
    static final String VALUES = "auto, never";

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
            case "never":
                return EnumSet.of(CopyFlag.NO_OFFLOAD);
            default:
                throw CommandException.usage("--offload '" + value + "' is not one of " + VALUES);
        }
    }
}
