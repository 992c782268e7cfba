package org.kcopyd.cli.internal;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

import org.kcopyd.api.CopyFlag;

/**
 * {@code --sparse=auto|always|never} of {@code copy}: the job options it stands for.
 * {@code auto} (the default) is {@link CopyFlag#SPARSE}: holes of the source are not read,
 * zeros found in what is read are punched as holes in destinations that can (files), skipped
 * where a destination already reads as zeros (a file this command created), written as zeros
 * elsewhere; {@code always} is {@link CopyFlag#SPARSE_ALWAYS}: every zero block of 4 KiB too;
 * {@code never}: every byte is read and written, as before 1.2.
 */
final class SparseOption {

    /** The values, as the help and the refusal list them. */
    static final String VALUES = "auto, always, never";

    private SparseOption() {
    }

    /**
     * @param value the option's value (any case)
     * @return the job flags it stands for
     * @throws CommandException {@link Exit#USAGE} naming the value and the accepted ones
     */
    static Set<CopyFlag> flags(String value) {
        switch (value == null ? "" : value.toLowerCase(Locale.ROOT)) {
            case "auto":
                return EnumSet.of(CopyFlag.SPARSE);
            case "always":
                return EnumSet.of(CopyFlag.SPARSE_ALWAYS);
            case "never":
                return EnumSet.noneOf(CopyFlag.class);
            default:
                throw CommandException.usage("--sparse '" + value + "' is not one of " + VALUES);
        }
    }
}
