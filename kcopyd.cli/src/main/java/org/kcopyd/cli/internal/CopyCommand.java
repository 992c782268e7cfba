package org.kcopyd.cli.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydClientFactory;
import org.kcopyd.cli.internal.verify.DigestingDevice;
import org.kcopyd.device.DeviceBacking;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code copy SRC[:SECTOR[+COUNT]] DST[:SECTOR]...}: one kcopyd job from a file or device to others.
 * Everything is checked before anything is created or written: the arguments, every file's kind,
 * the directories of new files, overlaps and sizes. A whole regular file is copied to its last
 * byte: the engine copies the whole sectors, this command the tail of less than a sector.
 */
@Command(name = "copy", mixinStandardHelpOptions = true, versionProvider = BundleVersion.class,
        description = {
            "Copies a region of a file or block device to one or more others, reading it once and writing every "
                + "destination in parallel.",
            "Sectors are 512 bytes. SRC or SRC:SECTOR copies to the end of the file, every byte of it (a regular "
                + "file's size need not be whole sectors); SRC:SECTOR+COUNT copies exactly COUNT sectors.",
            "A destination that does not exist is created, with exactly the bytes it receives. An existing "
                + "destination is written in place, never extended or truncated: it must be long enough.",
            "The text after the last ':' of an argument is always its region; to name a file whose name "
                + "contains ':', end the argument with ':' (a:b.img: is the whole file a:b.img).",
            "An argument starting with SCHEME:// names a device by URI, e.g. nbd://host:10809/export or "
                + "nbd+unix:///export?socket=/run/nbd.sock (with the kcopyd.nbd bundle); its region follows the last "
                + "':' after the host and port. A file whose name starts like that is written ./NAME: (ending with "
                + "':', as any name holding one). A device "
                + "named by URI must exist and be large enough: it is written in place, never created, and may be "
                + "named only once per command.",
            "--verify reads every destination back after the copy (with O_DIRECT where the file system allows it) "
                + "and compares it with the source, within the copy's pages of memory; --hash sha256 prints the "
                + "source region's SHA-256, computed while copying.",
            "Nothing is created or written unless every argument, file and region is valid. With --json, "
                + "standard output carries exactly one JSON object, failures included."},
        exitCodeListHeading = "%nExit codes:%n", exitCodeList = {
            "0:copied; every destination complete",
            "1:could not run: a file could not be opened or created, it is in use (claimed), a service is missing",
            "2:bad arguments: syntax, ranges, overlaps, sizes, a directory, FIFO or character device; "
                + "nothing was written",
            "3:reading the source failed",
            "4:writing a destination failed",
            "5:--verify: a destination read back differs from the source, or could not be read back",
            "130:interrupted (Ctrl-C, SIGINT); the destinations are incomplete",
            "143:terminated (SIGTERM); the destinations are incomplete"})
final class CopyCommand implements Callable<Integer> {

    /** The most destinations of a job (the engine's write error bits). */
    static final int MAX_DESTINATIONS = 64;
    /** The --pages limit when the factory does not publish its maxPagesPerClient. */
    static final int MAX_PAGES = 262144;
    /** Bytes per engine page. */
    static final int PAGE = 4096;

    @Parameters(index = "0", paramLabel = "SRC[:SECTOR[+COUNT]]", description = "Source; the whole file by default.")
    String source;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "DST[:SECTOR]",
            description = "Destinations (1 to 64); DST:SECTOR+COUNT is allowed when COUNT is the source's count.")
    List<String> destinations;

    @Option(names = "--flush", description = "Make the destinations durable before reporting success.")
    boolean flush;

    @Option(names = "--direct", description = "Bypass the page cache (O_DIRECT).")
    boolean direct;

    @Option(names = "--ignore-errors", description = "Keep going after an I/O error (unreadable chunks are "
            + "written as zeros); errors are still reported.")
    boolean ignoreErrors;

    @Option(names = "--json", description = "Print the result as one JSON object on standard output, failures "
            + "included, instead of words.")
    boolean json;

    @Option(names = "--sparse", paramLabel = "MODE", defaultValue = "auto", description = "auto (default): holes "
            + "of the source are not read, and zeros become holes in destinations that can have them (files) or are "
            + "skipped where a destination already reads as zeros (a file this command creates); always: also every "
            + "zero block of 4 KiB between data; never: every byte is read and written.")
    String sparse = "auto";

    @Option(names = "--offload", paramLabel = "MODE", defaultValue = "auto", description = "auto (default): "
            + "the kernel copies between files of one file system only where that beats kcopyd's own copy: a "
            + "reflink (XFS, Btrfs, bcachefs, OCFS2) or a server-side copy (NFS, SMB); elsewhere (ext4, tmpfs) "
            + "kcopyd reads and writes. always: the kernel copies wherever it accepts (copy_file_range), for "
            + "storage known to gain from it. Where the kernel refuses (another file system) the copy goes "
            + "through the pages. Not with --hash or --sparse=always, which must see the bytes. never: every byte "
            + "is read and written by kcopyd.")
    String offload = "auto";

    @Option(names = "--pages", paramLabel = "N", description = "Buffer pages of 4 KiB for this copy, 1 to the "
            + "engine's maxPagesPerClient (default: the engine's defaultPages).")
    Integer pages;

    @Option(names = "--verify", description = "After the copy, read every destination back (O_DIRECT where "
            + "possible) and compare it with the source; report the first differing sector of each; exit code 5 "
            + "if one differs.")
    boolean verify;

    @Option(names = "--hash", paramLabel = "ALGORITHM", description = "Print the source region's digest, "
            + "computed during the copy without a second read: sha256 (also sha-256).")
    String hash;

    /** The --hash algorithms: the name accepted (lower case) and the JDK's. */
    static final Map<String, String> HASHES = Map.of("sha256", "SHA-256", "sha-256", "SHA-256");

    /** Where the interruption report is hooked in; tests run the hook themselves. */
    ShutdownHooks hooks = ShutdownHooks.RUNTIME;

    private final Console console;

    CopyCommand(Console console) {
        this.console = console;
    }

    @Override
    public Integer call() {
        Report report = new Report(console, "copy", json);
        return JobRun.command(console, report, hooks, destinations, job -> copy(report, job));
    }

    private int copy(Report report, JobRun job) {
        String algorithm = hashAlgorithm(hash);
        RegionSpec from = parse(source, "source");
        List<RegionSpec> to = new ArrayList<>();
        for (String d : destinations) {
            to.add(parse(d, "destination"));
        }
        if (to.size() > MAX_DESTINATIONS) {
            throw CommandException.usage(to.size() + " destinations given; a copy writes 1 to " + MAX_DESTINATIONS);
        }
        java.util.Set<CopyFlag> sparseFlags = SparseOption.flags(sparse);
        java.util.Set<CopyFlag> offloadFlags = OffloadOption.flags(offload);
        KcopydClientFactory factory = console.services().factory(Console.WAIT);
        Map<String, Object> engine = console.services().factoryProperties();
        int maxDestinations = Math.min(MAX_DESTINATIONS, intProperty(engine, "maxDestinations", MAX_DESTINATIONS));
        if (to.size() > maxDestinations) {
            throw CommandException.usage(to.size() + " destinations given; the engine's maxDestinations is "
                    + maxDestinations);
        }
        int maxPages = intProperty(engine, "maxPagesPerClient", MAX_PAGES);
        if (pages != null && (pages < 1 || pages > maxPages)) {
            throw CommandException.usage("--pages " + pages + " is outside 1.." + maxPages
                    + " (the engine's maxPagesPerClient)");
        }
        BlockDeviceOpener opener = console.services().devices(Console.WAIT);

        Operand src = from.remote() ? Operand.remote(from.uri()) : Operand.existing(from.path(), "source");
        List<Operand> dsts = new ArrayList<>();
        for (RegionSpec d : to) {
            dsts.add(d.remote() ? Operand.remote(d.uri())
                    : d.uri() != null ? Operand.existing(d.path(), "destination") : Operand.destination(d.path()));
        }
        checkUrisOnce(from, src, to, dsts);
        try (OpenFiles files = new OpenFiles(opener, direct)) {
            BlockDevice srcDevice = files.openRead(src);
            long length = sourceLength(from, OpenFiles.bytes(src, srcDevice));
            long sectors = length / BlockDevice.SECTOR_SIZE;
            boolean partial = length % BlockDevice.SECTOR_SIZE != 0;
            List<Target> targets = new ArrayList<>();
            for (int i = 0; i < to.size(); i++) {
                RegionSpec d = to.get(i);
                if (d.count() >= 0 && partial) {
                    throw CommandException.usage("destination '" + d.text() + "' has a sector count, but the source "
                            + src.name() + " has " + length + " bytes, not whole sectors; give DST or DST:SECTOR");
                }
                if (d.count() >= 0 && d.count() != sectors) {
                    throw CommandException.usage("destination '" + d.text() + "' has " + d.count()
                            + " sectors but the source has " + sectors);
                }
                if (d.sector() > RegionSpec.MAX_SECTOR - (length + BlockDevice.SECTOR_SIZE - 1) / BlockDevice.SECTOR_SIZE) {
                    throw CommandException.usage("destination '" + d.text() + "' ends past the largest sector "
                            + RegionSpec.MAX_SECTOR);
                }
                targets.add(new Target(d, dsts.get(i), d.startByte(), length));
            }
            checkOverlaps(src, from.startByte(), length, targets);
            if (sectors > 0) {
                checkAligned(srcDevice, from.sector(), sectors);
            }
            for (Target t : targets) {
                if (t.operand().exists()) {
                    long have = OpenFiles.bytes(t.operand(), files.openWrite(t.operand()));
                    if (have < t.end() && t.operand().isRemote()) {
                        throw CommandException.usage("destination " + t.name() + " has " + have + " bytes, too few for "
                                + "the source's " + length + " bytes at " + Target.range(t.startByte(), t.end())
                                + ": a device named by URI is written in place, never created or extended");
                    }
                    if (have < t.end()) {
                        throw CommandException.usage("destination " + t.name() + " has " + have + " bytes, too few for "
                                + Target.range(t.startByte(), t.end()) + ": an existing destination is written in "
                                + "place, never extended");
                    }
                    if (partial && t.operand().isRemote() && have != t.end()) {
                        // Such a device takes whole sectors, and past its last one only its own last bytes.
                        throw CommandException.usage("destination " + t.name() + " is a device named by URI of " + have
                                + " bytes, written in whole sectors, but the source " + src.name() + " has " + length
                                + " bytes, not whole sectors, which would end at byte " + t.end() + ", not at its end; "
                                + "give the source as SRC:SECTOR+COUNT");
                    }
                    if (sectors > 0) {
                        checkAligned(files.openWrite(t.operand()), t.spec().sector(), sectors);
                    }
                }
            }
            try (KcopydClient client = createClient(factory)) {
                create(files, targets);
                List<IoRegion> regions = new ArrayList<>();
                IoRegion region = null;
                try {
                    if (sectors > 0) {
                        region = IoRegion.of(srcDevice, from.sector(), sectors);
                        for (Target t : targets) {
                            regions.add(IoRegion.of(files.openWrite(t.operand()), t.spec().sector(), sectors));
                        }
                    }
                } catch (IllegalArgumentException | CommandException e) {
                    files.removeCreated();
                    throw e instanceof CommandException c ? c : CommandException.usage(e.getMessage());
                }
                EnumSet<CopyFlag> flags = EnumSet.noneOf(CopyFlag.class);
                flags.addAll(sparseFlags);
                flags.addAll(offloadFlags);
                if (flush) {
                    flags.add(CopyFlag.FLUSH);
                }
                if (ignoreErrors) {
                    flags.add(CopyFlag.IGNORE_ERROR);
                }
                DigestingDevice hashing = null;
                if (algorithm != null && region != null) {
                    hashing = new DigestingDevice(srcDevice, digest(algorithm), from.sector(), sectors,
                            (long) client.statistics().pages() * PAGE);
                    region = IoRegion.of(hashing, from.sector(), sectors);
                }
                IoRegion whole = region;
                long tailByte = from.startByte() + sectors * BlockDevice.SECTOR_SIZE;
                AtomicReference<ByteBuffer> tailRead = new AtomicReference<>();
                long start = System.nanoTime();
                Outcome ran = job.run(client, files, src.name(), targets,
                        sectors > 0 ? c -> c.copy(whole, regions, flags) : null,
                        () -> {
                            ByteBuffer tail = files.readTail(src, tailByte, targets.get(0).tail());
                            tailRead.set(tail.duplicate());
                            return tail;
                        },
                        flush, ignoreErrors);
                if (ran == null) {
                    return Exit.INTERRUPTED;
                }
                // With --verify the read-back finds a destination taken from under the copy (exit 5).
                Outcome outcome = verify ? ran : JobRun.stillNamed(ran, targets, files);
                double seconds = (System.nanoTime() - start) / 1e9;
                Map<String, Object> fields = fields(src, from, sectors, length, seconds);
                String digestLine = null;
                if (algorithm != null) {
                    String hex = outcome.isSuccess() ? hex(hashing, algorithm, tailRead.get()) : null;
                    fields.put("sha256", hex);
                    digestLine = hex == null ? null : "sha256 " + hex + "  " + from.text();
                }
                List<Verification.Check> checks = null;
                if (verify) {
                    long verifyStart = System.nanoTime();
                    long budget = (long) client.statistics().pages() * PAGE;
                    checks = job.verify(outcome, () -> new Verification(files, direct)
                            .run(src, srcDevice, from.sector(), sectors, targets, outcome, budget));
                    if (checks == null) {
                        return Exit.INTERRUPTED;
                    }
                    fields.put("verifySeconds", Math.round((System.nanoTime() - verifyStart) / 1e6) / 1000.0);
                }
                return report.finished(outcome, targets, fields,
                        String.format(Locale.ROOT, "copied %s from %s to %d destination%s in %.2f s (%s/s)",
                                Progress.bytes(length), src.name(), targets.size(), targets.size() == 1 ? "" : "s",
                                seconds, Progress.bytes(seconds > 0 ? length / seconds : 0)),
                        checks, digestLine);
            }
        }
    }

    /**
     * @return the JDK's name of the --hash algorithm, or null without --hash
     * @throws CommandException {@link Exit#USAGE} naming the value and the supported ones
     */
    static String hashAlgorithm(String name) {
        if (name == null) {
            return null;
        }
        String jdk = HASHES.get(name.toLowerCase(Locale.ROOT));
        if (jdk == null) {
            throw CommandException.usage("--hash '" + name + "' is not supported; the supported algorithm is sha256 "
                    + "(also written sha-256, in any case)");
        }
        return jdk;
    }

    private static MessageDigest digest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw CommandException.failed("this Java runtime has no " + algorithm + ": " + e.getMessage());
        }
    }

    /** @return the region's digest in hexadecimal: from the hashing view, or of the tail alone */
    private static String hex(DigestingDevice hashing, String algorithm, ByteBuffer tail) {
        byte[] d = hashing != null ? hashing.digest(tail) : tailDigest(algorithm, tail);
        return HexFormat.of().formatHex(d);
    }

    private static byte[] tailDigest(String algorithm, ByteBuffer tail) {
        MessageDigest md = digest(algorithm);
        if (tail != null) {
            md.update(tail);
        }
        return md.digest();
    }

    private static RegionSpec parse(String text, String role) {
        try {
            return RegionSpec.parse(text);
        } catch (IllegalArgumentException e) {
            throw CommandException.usage(role + " " + e.getMessage());
        }
    }

    static int intProperty(Map<String, Object> properties, String key, int otherwise) {
        Object value = properties.get(key);
        if (value instanceof Number n) {
            return n.intValue();
        }
        try {
            return value == null ? otherwise : Integer.parseInt(value.toString().trim());
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    /** @return the bytes to copy: COUNT sectors, or to the end of the file, every byte */
    private static long sourceLength(RegionSpec from, long sourceBytes) {
        long sourceSectors = sourceBytes / BlockDevice.SECTOR_SIZE;
        if (from.count() >= 0) {
            if (from.sector() + from.count() > sourceSectors) {
                throw CommandException.usage("source '" + from.text() + "' ends at sector " + (from.sector() + from.count())
                        + ", past its end at sector " + sourceSectors);
            }
            return from.count() * BlockDevice.SECTOR_SIZE;
        }
        if (from.startByte() >= sourceBytes) {
            throw CommandException.usage(sourceBytes == 0 ? "source " + from.name() + " is empty: nothing to copy"
                    : "source '" + from.text() + "' starts at sector " + from.sector() + ", at or past its end ("
                    + sourceBytes + " bytes)");
        }
        return sourceBytes - from.startByte();
    }

    /**
     * Refuses a device named by URI that is named twice: as the source and a destination, or as two
     * destinations. Unlike files, such devices have no identity to compare regions by, only their
     * normalized URIs; refusing is the safe choice, also where the regions would not overlap.
     */
    private static void checkUrisOnce(RegionSpec from, Operand src, List<RegionSpec> to, List<Operand> dsts) {
        for (int i = 0; i < dsts.size(); i++) {
            Operand d = dsts.get(i);
            if (!d.isRemote()) {
                continue;
            }
            if (d.identity().equals(src.identity())) {
                throw CommandException.usage("destination '" + to.get(i).text() + "' and the source '" + from.text()
                        + "' are the same device (the same URI): a device named by URI may appear once per command");
            }
            for (int j = 0; j < i; j++) {
                if (d.identity().equals(dsts.get(j).identity())) {
                    throw CommandException.usage("destinations '" + to.get(j).text() + "' and '" + to.get(i).text()
                            + "' are the same device (the same URI): a device named by URI may appear once per command");
                }
            }
        }
    }

    /**
     * Refuses a destination overlapping the source or another destination in the same file, also
     * where one is a block device over the other: a loop device over the file, a partition of the
     * disk ({@link DeviceBacking}).
     */
    private static void checkOverlaps(Operand src, long srcStart, long length, List<Target> targets) {
        Map<Operand, DeviceBacking.Window> windows = new HashMap<>();
        for (int i = 0; i < targets.size(); i++) {
            Target t = targets.get(i);
            if (t.overlaps(src.identity(), srcStart, srcStart + length)) {
                throw CommandException.usage("destination '" + t.spec().text() + "' overlaps the source "
                        + src.name() + " (the same file): " + Target.range(t.startByte(), t.end()) + " and "
                        + Target.range(srcStart, srcStart + length));
            }
            String through = overlapThrough(windows, t.operand(), t.startByte(), t.end(), src, srcStart,
                    srcStart + length);
            if (through != null) {
                throw CommandException.usage("destination '" + t.spec().text() + "' overlaps the source "
                        + src.name() + ": " + through);
            }
            for (int j = 0; j < i; j++) {
                Target u = targets.get(j);
                if (t.overlaps(u.operand().identity(), u.startByte(), u.end())) {
                    throw CommandException.usage("destinations '" + u.spec().text() + "' and '" + t.spec().text()
                            + "' are the same file and overlap: " + Target.range(u.startByte(), u.end()) + " and "
                            + Target.range(t.startByte(), t.end()));
                }
                through = overlapThrough(windows, t.operand(), t.startByte(), t.end(), u.operand(), u.startByte(),
                        u.end());
                if (through != null) {
                    throw CommandException.usage("destinations '" + u.spec().text() + "' and '" + t.spec().text()
                            + "' overlap: " + through);
                }
            }
        }
    }

    /**
     * @return how {@code a}'s bytes {@code [aStart, aEnd)} and {@code b}'s {@code [bStart, bEnd)}
     *         are the same bytes of one file or disk through a block device over it, in words: the
     *         part they share, as each names it; null if they are not (or one is not a file or block
     *         device that exists)
     */
    private static String overlapThrough(Map<Operand, DeviceBacking.Window> windows, Operand a, long aStart,
            long aEnd, Operand b, long bStart, long bEnd) {
        if (a.isRemote() || b.isRemote() || !a.exists() || !b.exists() || a.regular() && b.regular()) {
            return null;
        }
        DeviceBacking.Window wa = window(windows, a);
        DeviceBacking.Window wb = window(windows, b);
        if (wa == null || wb == null || !wa.overlaps(aStart, aEnd, wb, bStart, bEnd)) {
            return null;
        }
        // The shared bytes, where the two windows lie in the file or disk under both.
        long from = Math.max(wa.offset() + aStart, wb.offset() + bStart);
        long to = Math.min(wa.offset() + aEnd, wb.offset() + bEnd);
        return wa.describe(Target.range(from - wa.offset(), to - wa.offset()) + " of " + a.name()) + " and "
                + wb.describe(Target.range(from - wb.offset(), to - wb.offset()) + " of " + b.name())
                + " are the same bytes";
    }

    private static DeviceBacking.Window window(Map<Operand, DeviceBacking.Window> windows, Operand o) {
        return windows.computeIfAbsent(o, k -> {
            try {
                return DeviceBacking.of(k.path());
            } catch (IOException e) {
                // Not examinable now: its own identity was compared above, which is what can be told.
                return null;
            }
        });
    }

    private KcopydClient createClient(KcopydClientFactory factory) {
        try {
            return pages == null ? factory.createClient() : factory.createClient(pages);
        } catch (IllegalArgumentException e) {
            throw CommandException.usage("--pages " + pages + ": " + e.getMessage());
        } catch (IllegalStateException e) {
            throw CommandException.failed("cannot create a kcopyd client: " + e.getMessage());
        }
    }

    /** Creates the new destinations, each as long as its furthest region; on a failure removes them again. */
    private static void create(OpenFiles files, List<Target> targets) {
        Map<Object, Target> furthest = new LinkedHashMap<>();
        for (Target t : targets) {
            if (!t.operand().exists()) {
                furthest.merge(t.operand().identity(), t, (a, b) -> a.end() >= b.end() ? a : b);
            }
        }
        try {
            for (Target t : furthest.values()) {
                files.create(t.operand(), t.end());
            }
        } catch (CommandException e) {
            files.removeCreated();
            throw e;
        }
    }

    /**
     * Refuses, before anything is created or written, a region its device could only fail: one not
     * aligned to the device's minimum block (an NBD server's), as {@link IoRegion} says it.
     */
    static void checkAligned(BlockDevice device, long sector, long sectors) {
        try {
            IoRegion.of(device, sector, sectors);
        } catch (IllegalArgumentException e) {
            throw CommandException.usage(e.getMessage());
        }
    }

    private static Map<String, Object> fields(Operand src, RegionSpec from, long sectors, long length, double seconds) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("source", src.name());
        m.put("sector", from.sector());
        m.put("sectors", sectors);
        m.put("bytes", length);
        m.put("seconds", Math.round(seconds * 1000) / 1000.0);
        m.put("bytesPerSecond", seconds > 0 ? Math.round(length / seconds) : 0);
        return m;
    }
}
