package org.kcopyd.cli.internal;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydClientFactory;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code zero DST[:SECTOR[+COUNT]]...}: sets regions of existing files or devices to zeros. A
 * region without a count runs to the end of the file, every byte of it: the engine zeroes the
 * whole sectors, this command the tail of less than a sector.
 */
@Command(name = "zero", mixinStandardHelpOptions = true, versionProvider = BundleVersion.class,
        description = {
            "Sets regions of existing files or block devices to zeros, with no buffer pages. All regions must be "
                + "as long as the first.",
            "DST or DST:SECTOR zeroes to the end of the file, every byte of it (a regular file's size need not be "
                + "whole sectors); DST:SECTOR+COUNT zeroes exactly COUNT sectors of 512 bytes.",
            "The text after the last ':' of an argument is always its region; to name a file whose name "
                + "contains ':', end the argument with ':' (a:b.img: is the whole file a:b.img).",
            "An argument starting with SCHEME:// names a device by URI, e.g. nbd://host:10809/export (with the "
                + "kcopyd.nbd bundle); its region follows the last ':' after the host and port. A file whose name "
                + "starts like that is written ./NAME:. A device named by URI may be named only once per command.",
            "Nothing is written unless every argument, file and region is valid. With --json, standard output "
                + "carries exactly one JSON object, failures included."},
        exitCodeListHeading = "%nExit codes:%n", exitCodeList = {
            "0:zeroed; every region complete",
            "1:could not run: a file could not be opened, it is in use (claimed), a service is missing",
            "2:bad arguments: syntax, ranges, overlaps, lengths, a directory, FIFO or character device; "
                + "nothing was written",
            "4:writing a region failed",
            "130:interrupted (Ctrl-C, SIGINT); the regions are incomplete",
            "143:terminated (SIGTERM); the regions are incomplete"})
final class ZeroCommand implements Callable<Integer> {

    @Parameters(arity = "1..*", paramLabel = "DST[:SECTOR[+COUNT]]",
            description = "Regions (1 to 64); whole files by default.")
    List<String> destinations;

    @Option(names = "--flush", description = "Make the destinations durable before reporting success.")
    boolean flush;

    @Option(names = "--json", description = "Print the result as one JSON object on standard output, failures "
            + "included, instead of words.")
    boolean json;

    /** Where the interruption report is hooked in; tests run the hook themselves. */
    ShutdownHooks hooks = ShutdownHooks.RUNTIME;

    private final Console console;

    ZeroCommand(Console console) {
        this.console = console;
    }

    @Override
    public Integer call() {
        Report report = new Report(console, "zero", json);
        return JobRun.command(console, report, hooks, destinations, job -> zero(report, job));
    }

    private int zero(Report report, JobRun job) {
        List<RegionSpec> specs = new ArrayList<>();
        for (String d : destinations) {
            try {
                specs.add(RegionSpec.parse(d));
            } catch (IllegalArgumentException e) {
                throw CommandException.usage("region " + e.getMessage());
            }
        }
        if (specs.size() > CopyCommand.MAX_DESTINATIONS) {
            throw CommandException.usage(specs.size() + " regions given; a zero job writes 1 to "
                    + CopyCommand.MAX_DESTINATIONS);
        }
        KcopydClientFactory factory = console.services().factory(Console.WAIT);
        int max = Math.min(CopyCommand.MAX_DESTINATIONS, CopyCommand.intProperty(
                console.services().factoryProperties(), "maxDestinations", CopyCommand.MAX_DESTINATIONS));
        if (specs.size() > max) {
            throw CommandException.usage(specs.size() + " regions given; the engine's maxDestinations is " + max);
        }
        List<Operand> operands = new ArrayList<>();
        for (RegionSpec s : specs) {
            Operand o = s.remote() ? Operand.remote(s.uri()) : Operand.existing(s.path(), "destination");
            for (int j = 0; j < operands.size(); j++) {
                if (o.isRemote() && o.identity().equals(operands.get(j).identity())) {
                    throw CommandException.usage("regions '" + specs.get(j).text() + "' and '" + s.text()
                            + "' are of the same device (the same URI): a device named by URI may appear once per "
                            + "command");
                }
            }
            operands.add(o);
        }
        try (OpenFiles files = new OpenFiles(console.services().devices(Console.WAIT), false)) {
            List<Target> targets = new ArrayList<>();
            for (int i = 0; i < specs.size(); i++) {
                RegionSpec s = specs.get(i);
                Operand o = operands.get(i);
                long have = OpenFiles.bytes(o, files.openWrite(o));
                long length = length(s, have);
                if (!targets.isEmpty() && length != targets.get(0).length()) {
                    throw CommandException.usage("region '" + s.text() + "' has " + length + " bytes but the first, '"
                            + targets.get(0).spec().text() + "', has " + targets.get(0).length()
                            + "; every region must be as long as the first");
                }
                Target t = new Target(s, o, s.startByte(), length);
                for (Target u : targets) {
                    if (t.overlaps(u.operand().identity(), u.startByte(), u.end())) {
                        throw CommandException.usage("regions '" + u.spec().text() + "' and '" + s.text()
                                + "' are of the same file and overlap: " + Target.range(u.startByte(), u.end())
                                + " and " + Target.range(t.startByte(), t.end()));
                    }
                }
                targets.add(t);
            }
            long sectors = targets.get(0).sectors();
            List<IoRegion> regions = new ArrayList<>();
            if (sectors > 0) {
                for (Target t : targets) {
                    BlockDevice device = files.openWrite(t.operand());
                    CopyCommand.checkAligned(device, t.spec().sector(), sectors);
                    regions.add(IoRegion.of(device, t.spec().sector(), sectors));
                }
            }
            EnumSet<CopyFlag> flags = flush ? EnumSet.of(CopyFlag.FLUSH) : EnumSet.noneOf(CopyFlag.class);
            int tail = targets.get(0).tail();
            try (KcopydClient client = createClient(factory)) {
                Outcome ran = job.run(client, files, null, targets,
                        sectors > 0 ? c -> c.zero(regions, flags, null, null) : null,
                        () -> ByteBuffer.allocate(tail), flush, false);
                if (ran == null) {
                    return Exit.INTERRUPTED;
                }
                Outcome outcome = JobRun.stillNamed(ran, targets, files);
                long bytes = targets.get(0).length();
                Map<String, Object> fields = new LinkedHashMap<>();
                fields.put("bytes", bytes);
                return report.finished(outcome, targets, fields, "zeroed " + Progress.bytes(bytes) + " in "
                        + targets.size() + " region" + (targets.size() == 1 ? "" : "s"));
            }
        }
    }

    /** @return the region's bytes: COUNT sectors, or to the end of the file, every byte */
    private static long length(RegionSpec s, long fileBytes) {
        long fileSectors = fileBytes / BlockDevice.SECTOR_SIZE;
        if (s.count() >= 0) {
            if (s.sector() + s.count() > fileSectors) {
                throw CommandException.usage("region '" + s.text() + "' ends at sector " + (s.sector() + s.count())
                        + ", past the end of " + s.name() + " at sector " + fileSectors);
            }
            return s.count() * BlockDevice.SECTOR_SIZE;
        }
        if (s.startByte() >= fileBytes) {
            throw CommandException.usage(fileBytes == 0 ? "region '" + s.text() + "': " + s.name()
                    + " is empty: nothing to zero" : "region '" + s.text() + "' starts at sector " + s.sector()
                    + ", at or past the end of " + s.name() + " (" + fileBytes + " bytes)");
        }
        return fileBytes - s.startByte();
    }

    private static KcopydClient createClient(KcopydClientFactory factory) {
        try {
            // Zeroing needs no buffer pages: one page, the least a client holds.
            return factory.createClient(1);
        } catch (RuntimeException e) {
            throw CommandException.failed("cannot create a kcopyd client: " + e.getMessage());
        }
    }
}
