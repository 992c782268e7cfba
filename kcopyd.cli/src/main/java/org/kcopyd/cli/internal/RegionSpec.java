package org.kcopyd.cli.internal;

import java.math.BigInteger;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.kcopyd.api.BlockDevice;

/**
 * A region on the command line: {@code PATH}, {@code PATH:SECTOR} or {@code PATH:SECTOR+COUNT},
 * sectors of 512 bytes. The text after the last {@code ':'} is always the region, so it is never
 * guessed whether a colon belongs to the name: a region that is not decimal digits is refused, not
 * taken as part of a file name. A name that contains {@code ':'} is written with a trailing
 * {@code ':'} (an empty region): {@code a:b.img:} is the whole file {@code a:b.img}.
 *
 * @param text   the argument as given
 * @param path   the file or device
 * @param sector the first sector (0 when not given)
 * @param count  the sector count, or -1 when not given: to the end of the file (a source, a region
 *               to zero) or as long as the source (a destination)
 */
record RegionSpec(String text, Path path, long sector, long count) {

    /** The last sector whose byte offset a {@code long} holds. */
    static final long MAX_SECTOR = Long.MAX_VALUE / BlockDevice.SECTOR_SIZE;

    /** How to write a region, for messages and help. */
    static final String RULE = "SECTOR or SECTOR+COUNT in decimal 512-byte sectors";

    private static final Pattern REGION = Pattern.compile("(\\d+)(?:\\+(\\d+))?");

    /**
     * @param text a command-line argument
     * @return its region
     * @throws IllegalArgumentException naming the argument and the rule it breaks
     */
    static RegionSpec parse(String text) {
        int colon = text.lastIndexOf(':');
        String name = colon < 0 ? text : text.substring(0, colon);
        if (name.isEmpty()) {
            throw new IllegalArgumentException("'" + text + "': the file name is empty");
        }
        Path path = Path.of(name);
        if (colon < 0 || colon == text.length() - 1) {
            return new RegionSpec(text, path, 0, -1);
        }
        String region = text.substring(colon + 1);
        Matcher m = REGION.matcher(region);
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "': the region '" + region + "' after the last ':' is not "
                    + RULE + "; to name a file whose name contains ':', end it with ':' ('" + text + ":')");
        }
        long sector = number(text, m.group(1), "sector");
        if (m.group(2) == null) {
            return new RegionSpec(text, path, sector, -1);
        }
        long count = number(text, m.group(2), "sector count");
        if (count == 0) {
            throw new IllegalArgumentException("'" + text + "': the sector count 0 is below the minimum 1");
        }
        if (sector > MAX_SECTOR - count) {
            throw new IllegalArgumentException("'" + text + "': the region ends past the largest sector "
                    + MAX_SECTOR);
        }
        return new RegionSpec(text, path, sector, count);
    }

    private static long number(String text, String digits, String what) {
        if (new BigInteger(digits).compareTo(BigInteger.valueOf(MAX_SECTOR)) > 0) {
            throw new IllegalArgumentException("'" + text + "': the " + what + " " + digits
                    + " is past the largest sector " + MAX_SECTOR);
        }
        return Long.parseLong(digits);
    }

    /** @return the first byte of the region */
    long startByte() {
        return sector * BlockDevice.SECTOR_SIZE;
    }
}
