package org.kcopyd.device;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where a block device's bytes lie, as far as Linux tells in sysfs: a partition is a window onto
 * its disk (from its start), a loop device a window onto its backing file (from its offset, for
 * its size), followed down as far as the kernel says ({@code /sys/dev/block/MAJOR:MINOR}: a
 * partition of a loop device ends in the loop's file, a loop device over another in that one's).
 * So that a copy between a file and a loop device over it, or between a disk and one of its
 * partitions, is seen to overlap where it does.
 * Device-mapper devices (LVM, dm-crypt) are not followed: their mapping is in tables, not sysfs.
 * Regular files and devices sysfs says nothing of are windows onto themselves, from byte 0.
 * Stateless and thread-safe.
 */
public final class DeviceBacking {

    /** Partitions and loop devices are followed at most this deep (a loop device over a partition of a loop device...). */
    private static final int MOST_LEVELS = 8;
    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;

    private DeviceBacking() {
    }

    /**
     * Bytes of one file or device seen through another.
     *
     * @param identity the innermost file's or device's identity ({@link FileClaims#identityOf})
     * @param offset   the byte of it where the window starts
     * @param length   the window's length in bytes
     * @param via      how the window was found, for messages: empty for the file itself, else like
     *                 {@code "a loop device over /srv/a.img from byte 0"}
     */
    public record Window(Object identity, long offset, long length, String via) {

        /**
         * @return true if both windows are of the same file or device and the byte ranges
         *         {@code [start, end)} of each (relative to the window) share a byte
         */
        public boolean overlaps(long start, long end, Window other, long otherStart, long otherEnd) {
            return identity.equals(other.identity) && offset + start < other.offset + otherEnd
                    && other.offset + otherStart < offset + end;
        }

        /**
         * @param name what the window was examined as, e.g. its path
         * @return {@code name}, followed by how its bytes were found in parentheses where it is not
         *         the file itself: {@code "/dev/loop0 (a loop device over /srv/a.img from byte 0)"}
         */
        public String describe(String name) {
            return via.isEmpty() ? name : name + " (" + via + ")";
        }
    }

    /**
     * Whether two existing files or block devices are, in part, the same bytes through a block
     * device over the other (a loop device over a file, a partition of a disk). Two names of one
     * file are not this method's business: their identities are equal, which callers compare first.
     *
     * @return null if they share no byte so, else how they do, in words: {@code "/dev/loop0 (a loop
     *         device over /srv/a.img from byte 0) and /srv/a.img are the same bytes"}
     * @throws IOException if either cannot be examined (then whether they share bytes is unknown)
     */
    public static String sameBytes(Path a, Path b) throws IOException {
        return sameBytes(a.toString(), of(a), b.toString(), of(b));
    }

    /**
     * As {@link #sameBytes(Path, Path)}, for windows examined before.
     *
     * @param a  the first one's name, for the words
     * @param wa its window
     * @param b  the second one's name
     * @param wb its window
     */
    public static String sameBytes(String a, Window wa, String b, Window wb) {
        if (wa.via().isEmpty() && wb.via().isEmpty() || !wa.overlaps(0, wa.length(), wb, 0, wb.length())) {
            return null;
        }
        return wa.describe(a) + " and " + wb.describe(b) + " are the same bytes";
    }

    /**
     * @param path a regular file or block device (symbolic links followed)
     * @return the innermost window its bytes are
     * @throws IOException if it cannot be examined
     */
    public static Window of(Path path) throws IOException {
        return of(path, SYS_DEV_BLOCK);
    }

    static Window of(Path path, Path sysDevBlock) throws IOException {
        Object identity = FileClaims.identityOf(path);
        Map<String, Object> attrs;
        try {
            attrs = Files.readAttributes(path, "unix:mode,rdev,size");
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return new Window(identity, 0, Files.size(path), "");
        }
        if ((((Number) attrs.get("mode")).intValue() & S_IFMT) != S_IFBLK) {
            return new Window(identity, 0, ((Number) attrs.get("size")).longValue(), "");
        }
        return follow(((Number) attrs.get("rdev")).longValue(), identity, sysDevBlock);
    }

    /**
     * Follows block device {@code rdev} down through sysfs.
     *
     * @param identity     the device's own identity, kept if nothing is below it
     * @param sysDevBlock  {@code /sys/dev/block} (a test's copy)
     */
    static Window follow(long rdev, Object identity, Path sysDevBlock) {
        String number = major(rdev) + ":" + minor(rdev);
        long offset = 0;
        long length = -1;
        StringBuilder via = new StringBuilder();
        for (int level = 0; level < MOST_LEVELS; level++) {
            Path dir;
            try {
                dir = sysDevBlock.resolve(number).toRealPath();
            } catch (IOException e) {
                break;
            }
            Long sectors = number(dir.resolve("size"));
            if (length < 0 && sectors != null) {
                length = sectors * 512;
            }
            Long start = number(dir.resolve("start"));
            String parent = text(dir.getParent().resolve("dev"));
            if (Files.exists(dir.resolve("partition")) && start != null && parent != null) {
                offset += start * 512;
                number = parent;
                identity = new FileIdentity("blk-" + makedev(parent));
                via.append(via.length() == 0 ? "" : ", ").append("a partition of block device ").append(parent)
                        .append(" from byte ").append(start * 512);
                continue;
            }
            String backing = text(dir.resolve("loop/backing_file"));
            long[] held = backing == null || backing.isEmpty() ? null : loopHeld(dir, sysDevBlock);
            if (backing != null && !backing.isEmpty() && (held != null || !backing.endsWith(DELETED))) {
                Path file = Path.of(backing.endsWith(DELETED) ? backing.substring(0, backing.length()
                        - DELETED.length()) : backing);
                Long from = number(dir.resolve("loop/offset"));
                long at = held != null ? held[2] : from == null ? 0 : from;
                Object fileIdentity = held == null ? fileIdentity(file) : held[3] == 0 ? heldIdentity(held) : null;
                String under = fileIdentity != null ? null : held != null ? major(held[3]) + ":" + minor(held[3])
                        : blockNumber(file);
                if (fileIdentity != null || under != null) {
                    offset += at;
                    via.append(via.length() == 0 ? "" : ", ").append("a loop device over ").append(file)
                            .append(" from byte ").append(at);
                }
                if (fileIdentity != null) {
                    identity = fileIdentity;
                } else if (under != null) {
                    // A loop device over a block device (another loop device, say, found by H24): down again.
                    number = under;
                    identity = new FileIdentity("blk-" + makedev(under));
                    continue;
                }
            }
            break;
        }
        return new Window(identity, offset, Math.max(length, 0), via.toString());
    }

    /**
     * A block device over a file or disk: a loop device over the file, a partition of the disk.
     *
     * @param identity its identity ({@link FileClaims#identityOf}: {@code blk-RDEV})
     * @param device   its conventional node, e.g. {@code /dev/loop3}
     * @param via      how it stands over the file or disk, for messages, e.g. {@code "a loop device over
     *                 /srv/a.img from byte 0"}
     */
    public record Stacked(Object identity, String device, String via) {
    }

    /**
     * The block devices directly over a file or disk, as sysfs tells: loop devices whose backing file
     * it is, partitions of it. Each shares bytes with it. Devices sysfs says nothing of (device-mapper
     * tables) are not found.
     *
     * @param path a regular file or block device (symbolic links followed)
     * @return them, in no particular order; empty for anything else
     * @throws IOException if {@code path} cannot be examined
     */
    public static java.util.List<Stacked> above(Path path) throws IOException {
        return above(path, SYS_DEV_BLOCK);
    }

    static java.util.List<Stacked> above(Path path, Path sysDevBlock) throws IOException {
        Object identity = FileClaims.identityOf(path);
        Map<String, Object> attrs;
        try {
            attrs = Files.readAttributes(path, "unix:mode,rdev");
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return java.util.List.of();
        }
        int type = ((Number) attrs.get("mode")).intValue() & S_IFMT;
        String disk = type == S_IFBLK ? major(((Number) attrs.get("rdev")).longValue()) + ":"
                + minor(((Number) attrs.get("rdev")).longValue()) : null;
        if (disk == null && !Files.isRegularFile(path)) {
            return java.util.List.of();
        }
        return stacked(path, identity, disk, sysDevBlock);
    }

    /**
     * @param identity the file's identity (compared with loop devices' backing files), for a file
     * @param disk     {@code MAJOR:MINOR} of a block device (its partitions are looked for), or null for a file
     */
    static java.util.List<Stacked> stacked(Path path, Object identity, String disk, Path sysDevBlock) {
        java.util.List<Stacked> found = new java.util.ArrayList<>();
        java.util.List<Path> entries;
        try (java.util.stream.Stream<Path> list = Files.list(sysDevBlock)) {
            entries = list.toList();
        } catch (IOException e) {
            return found;
        }
        collect(path.toString(), identity, disk, entries, found, 0, sysDevBlock);
        return found;
    }

    /**
     * Adds the devices directly over {@code name} (a file of {@code identity}, or the block device
     * {@code disk}), then those over each of them, down to {@link #MOST_LEVELS} (a loop device over
     * a loop device over the file, found by H24).
     */
    private static void collect(String name, Object identity, String disk, java.util.List<Path> entries,
            java.util.List<Stacked> found, int level, Path sysDevBlock) {
        if (level >= MOST_LEVELS) {
            return;
        }
        for (Path entry : entries) {
            Path dir;
            try {
                dir = entry.toRealPath();
            } catch (IOException e) {
                continue;
            }
            String number = entry.getFileName().toString();
            String node = "/dev/" + dir.getFileName();
            Stacked over = null;
            if (disk != null) {
                String parent = text(dir.getParent().resolve("dev"));
                Long start = number(dir.resolve("start"));
                if (Files.exists(dir.resolve("partition")) && disk.equals(parent) && start != null) {
                    over = new Stacked(new FileIdentity("blk-" + makedev(number)), node, "a partition of " + name
                            + " from byte " + start * 512);
                }
            }
            String backing = over != null ? null : text(dir.resolve("loop/backing_file"));
            long[] held = backing == null || backing.isEmpty() ? null : loopHeld(dir, sysDevBlock);
            if (backing != null && !backing.isEmpty() && (held != null || !backing.endsWith(DELETED))) {
                Path file = Path.of(backing);
                boolean onIt = held != null ? (disk == null ? held[3] == 0 && identity.equals(heldIdentity(held))
                        : disk.equals(major(held[3]) + ":" + minor(held[3])))
                        : disk == null ? identity.equals(fileIdentity(file)) : disk.equals(blockNumber(file));
                if (onIt) {
                    Long from = held != null ? Long.valueOf(held[2]) : number(dir.resolve("loop/offset"));
                    over = new Stacked(new FileIdentity("blk-" + makedev(number)), node, "a loop device over " + name
                            + " from byte " + (from == null ? 0 : from));
                }
            }
            if (over != null && !found.contains(over)) {
                found.add(over);
                collect(node, null, number, entries, found, level + 1, sysDevBlock);
            }
        }
    }

    /**
     * The regular file a block device's bytes are, as sysfs tells: the backing file of a loop
     * device, of a loop device over a loop device, of the disk of a partition; up to
     * {@value #MOST_LEVELS} levels.
     *
     * @param path a block device node (anything else answers null)
     * @return that file's path as the loop device was set up with it, or null if there is none
     */
    static Path backingFile(Path path) {
        return backingFile(blockNumber(path), SYS_DEV_BLOCK);
    }

    /** @param number {@code MAJOR:MINOR} of a block device, or null */
    static Path backingFile(String number, Path sysDevBlock) {
        for (int level = 0; number != null && level < MOST_LEVELS; level++) {
            Path dir;
            try {
                dir = sysDevBlock.resolve(number).toRealPath();
            } catch (IOException e) {
                return null;
            }
            if (Files.exists(dir.resolve("partition"))) {
                number = text(dir.getParent().resolve("dev"));
                continue;
            }
            String backing = text(dir.resolve("loop/backing_file"));
            if (backing == null || backing.isEmpty() || backing.endsWith("(deleted)")) {
                return null;
            }
            Path file = Path.of(backing);
            number = blockNumber(file);
            if (number == null) {
                return Files.isRegularFile(file) ? file : null;
            }
        }
        return null;
    }

    /** @return {@code MAJOR:MINOR} of a block device node, or null if it is not one now */
    private static String blockNumber(Path node) {
        try {
            Map<String, Object> attrs = Files.readAttributes(node, "unix:mode,rdev");
            if ((((Number) attrs.get("mode")).intValue() & S_IFMT) != S_IFBLK) {
                return null;
            }
            long rdev = ((Number) attrs.get("rdev")).longValue();
            return major(rdev) + ":" + minor(rdev);
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return null;
        }
    }

    /** This machine's {@code /sys/dev/block}: the only one whose loop devices the kernel is asked about. */
    static final Path SYS_DEV_BLOCK = Path.of("/sys/dev/block");

    /** What sysfs appends to a loop device's backing file whose name was removed since it was set up. */
    private static final String DELETED = " (deleted)";

    /**
     * H52-2, H53-2: what sysfs says of a loop device's backing file is a path, which may name
     * nothing ({@code NAME (deleted)}: set up through a hard link removed since) or another file (set
     * up in another mount namespace, or under a mount detached since: the path is the file's within
     * its own mount). The kernel knows the file by device and inode ({@link NativeFiles#loopBacking}),
     * which needs the loop device's node opened; asked only of this machine's sysfs.
     *
     * @param loopDir     the loop device's sysfs directory ({@code /sys/devices/virtual/block/loopN})
     * @param sysDevBlock the {@code /sys/dev/block} it was found through (a test's copy is not asked)
     * @return {@code {st_dev, st_ino, offset, rdev}} of the file behind it ({@code rdev} non-zero for a
     *         block device), or null if it cannot be asked (no JNA, no permission, a test's sysfs)
     */
    static long[] loopHeld(Path loopDir, Path sysDevBlock) {
        NativeFiles sys = FileHoles.system();
        if (sys == null || !sysDevBlock.equals(SYS_DEV_BLOCK)) {
            return null;
        }
        try {
            return sys.loopBacking("/dev/" + loopDir.getFileName());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** @return the identity of the regular file behind a loop device, as {@link #loopHeld} gives it */
    static Object heldIdentity(long[] held) {
        return new FileIdentity("dev-" + held[0] + "-ino-" + held[1]);
    }

    /** @return the identity of a regular file, or null if it is not one now */
    private static Object fileIdentity(Path file) {
        try {
            return Files.isRegularFile(file) ? FileClaims.identityOf(file) : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** glibc's {@code gnu_dev_major}. */
    static long major(long rdev) {
        return ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
    }

    /** glibc's {@code gnu_dev_minor}. */
    static long minor(long rdev) {
        return (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
    }

    /** glibc's {@code gnu_dev_makedev} of {@code MAJOR:MINOR}: the {@code st_rdev} of its nodes. */
    static long makedev(String majorMinor) {
        String[] mm = majorMinor.split(":");
        long major = Long.parseLong(mm[0].trim());
        long minor = Long.parseLong(mm[1].trim());
        return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xffL) << 12) | ((major & ~0xfffL) << 32);
    }

    private static String text(Path file) {
        try {
            return Files.isRegularFile(file) ? new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim() : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static Long number(Path file) {
        String t = text(file);
        try {
            return t == null || t.isEmpty() ? null : Long.parseLong(t);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
