package org.kcopyd.cli.internal;

import java.nio.file.Path;

/**
 * A region on the command line: {@code PATH}, {@code PATH:SECTOR} or {@code PATH:SECTOR+COUNT},
 * sectors of 512 bytes. The last colon separates the path from the sector part only when what
 * follows it is a number, so paths with colons still work.
 *
 * @param path   the file or device
 * @param sector the first sector (0 when not given)
 * @param count  the sector count, or -1 for "to the end" (source) or "as long as the source" (destination)
 */
record RegionSpec(Path path, long sector, long count) {

    static RegionSpec parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon > 0) {
            String tail = text.substring(colon + 1);
            if (tail.matches("\\d+(\\+\\d+)?")) {
                int plus = tail.indexOf('+');
                long sector = Long.parseLong(plus < 0 ? tail : tail.substring(0, plus));
                long count = plus < 0 ? -1 : Long.parseLong(tail.substring(plus + 1));
                if (count == 0) {
                    throw new IllegalArgumentException("'" + text + "': a sector count must be at least 1");
                }
                return new RegionSpec(Path.of(text.substring(0, colon)), sector, count);
            }
        }
        return new RegionSpec(Path.of(text), 0, -1);
    }
}
