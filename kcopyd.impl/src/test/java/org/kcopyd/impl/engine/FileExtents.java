package org.kcopyd.impl.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.kcopyd.testdevices.Peers;

/**
 * A file's extents as the file system maps them (FIEMAP), read with {@code filefrag -s -v}
 * (e2fsprogs; the file is synced first, so delayed allocations are real extents): byte ranges
 * and whether each is {@code FIEMAP_EXTENT_SHARED} (its blocks also belong to another file, as
 * after a reflink). Immutable.
 */
record FileExtents(List<Extent> extents) {

    /** One extent: {@code length} bytes at byte {@code offset} of the file. */
    record Extent(long offset, long length, boolean shared) {
        boolean overlaps(long from, long to) {
            return offset < to && from < offset + length;
        }
    }

    /** "File size of F is N (B blocks of S bytes)". */
    private static final Pattern BLOCK_SIZE = Pattern.compile("\\(\\d+ blocks? of (\\d+) bytes\\)");
    /** "   0:        0..     511:       3328..      3839:    512:             last,shared,eof". */
    private static final Pattern EXTENT = Pattern.compile(
            "^\\s*\\d+:\\s+(\\d+)\\.\\.\\s*(\\d+):\\s+\\d+\\.\\.\\s*\\d+:\\s+\\d+:\\s*(?:\\d+:)?\\s*(\\S*)\\s*$");

    /** @return the extents of {@code file}; the test is skipped (or failed) without filefrag */
    static FileExtents of(Path file) throws IOException, InterruptedException {
        Path filefrag = Peers.require("filefrag", "e2fsprogs");
        Process p = new ProcessBuilder(filefrag.toString(), "-s", "-v", file.toString()).redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("filefrag -s -v " + file + " failed: " + out);
        }
        Matcher size = BLOCK_SIZE.matcher(out);
        if (!size.find()) {
            throw new IOException("filefrag -s -v " + file + " named no block size: " + out);
        }
        long block = Long.parseLong(size.group(1));
        List<Extent> extents = new ArrayList<>();
        for (String line : out.split("\n")) {
            Matcher m = EXTENT.matcher(line);
            if (m.matches()) {
                long first = Long.parseLong(m.group(1));
                long last = Long.parseLong(m.group(2));
                List<String> flags = List.of(m.group(3).split(","));
                extents.add(new Extent(first * block, (last - first + 1) * block, flags.contains("shared")));
            }
        }
        return new FileExtents(List.copyOf(extents));
    }

    /** @return true if every byte of {@code [from, to)} is in an extent */
    boolean covers(long from, long to) {
        long at = from;
        for (Extent e : extents) {
            if (e.offset() <= at && at < e.offset() + e.length()) {
                at = e.offset() + e.length();
            }
        }
        return at >= to;
    }

    /** @return true if no extent holds a byte of {@code [from, to)}: it is a hole */
    boolean isHole(long from, long to) {
        return extents.stream().noneMatch(e -> e.overlaps(from, to));
    }
}
