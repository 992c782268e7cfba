package org.kcopyd.cli.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydClientFactory;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code copy SRC[:SECTOR[+COUNT]] DST[:SECTOR]...}: one kcopyd job from a file or device to others. */
@Command(name = "copy", mixinStandardHelpOptions = true,
        description = {
            "Copies a region of a file or block device to one or more others, reading it once and writing every "
                + "destination in parallel.",
            "Sectors are 512 bytes. A destination that does not exist is created as a file just large enough."},
        exitCodeListHeading = "%nExit codes:%n", exitCodeList = {"0:copied", "1:could not run (open, service)",
            "2:bad arguments", "3:read error", "4:write error"})
final class CopyCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "SRC[:SECTOR[+COUNT]]", description = "Source; the whole file by default.")
    String source;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "DST[:SECTOR]", description = "Destinations (1 to 64).")
    List<String> destinations;

    @Option(names = "--flush", description = "Make the destinations durable before reporting success.")
    boolean flush;

    @Option(names = "--direct", description = "Bypass the page cache (O_DIRECT).")
    boolean direct;

    @Option(names = "--ignore-errors", description = "Keep going after an I/O error (unreadable chunks are "
            + "written as zeros); errors are still reported.")
    boolean ignoreErrors;

    @Option(names = "--json", description = "Print the result as JSON instead of words.")
    boolean json;

    @Option(names = "--pages", description = "Buffer pages of 4 KiB for this copy (default: the configured default).")
    int pages;

    private final Console console;

    CopyCommand(Console console) {
        this.console = console;
    }

    @Override
    public Integer call() throws IOException {
        KcopydClientFactory factory = console.services().factory(Console.WAIT);
        BlockDeviceOpener opener = console.services().devices(Console.WAIT);
        DeviceOption[] read = direct ? new DeviceOption[] {DeviceOption.DIRECT} : new DeviceOption[0];
        DeviceOption[] write = direct ? new DeviceOption[] {DeviceOption.READ_WRITE, DeviceOption.DIRECT}
                : new DeviceOption[] {DeviceOption.READ_WRITE};
        List<BlockDevice> opened = new ArrayList<>();
        try {
            RegionSpec from = RegionSpec.parse(source);
            BlockDevice src = open(opener, opened, from, read);
            long count = from.count() >= 0 ? from.count() : src.sizeInSectors() - from.sector();
            if (count < 1) {
                throw new IllegalArgumentException("source " + source + " starts at sector " + from.sector()
                        + ", at or past its end " + src.sizeInSectors());
            }
            IoRegion region = IoRegion.of(src, from.sector(), count);
            List<IoRegion> targets = new ArrayList<>();
            for (String d : destinations) {
                RegionSpec to = RegionSpec.parse(d);
                if (to.count() >= 0 && to.count() != count) {
                    throw new IllegalArgumentException("destination " + d + " has " + to.count()
                            + " sectors but the source has " + count);
                }
                BlockDevice dst = Files.exists(to.path()) ? open(opener, opened, to, write)
                        : track(opened, opener.create(to.path(), to.sector() + count, write));
                targets.add(IoRegion.of(dst, to.sector(), count));
            }
            EnumSet<CopyFlag> flags = EnumSet.noneOf(CopyFlag.class);
            if (flush) {
                flags.add(CopyFlag.FLUSH);
            }
            if (ignoreErrors) {
                flags.add(CopyFlag.IGNORE_ERROR);
            }
            return run(factory, region, targets, flags);
        } catch (IllegalArgumentException e) {
            console.err().println("kcopyd copy: " + e.getMessage());
            return Exit.USAGE;
        } finally {
            for (BlockDevice d : opened) {
                d.close();
            }
        }
    }

    private static BlockDevice open(BlockDeviceOpener opener, List<BlockDevice> opened, RegionSpec spec,
            DeviceOption... options) throws IOException {
        try {
            return track(opened, opener.open(spec.path(), options));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IOException(spec.path() + " does not exist", e);
        }
    }

    private static BlockDevice track(List<BlockDevice> opened, BlockDevice device) {
        opened.add(device);
        return device;
    }

    private int run(KcopydClientFactory factory, IoRegion from, List<IoRegion> to, EnumSet<CopyFlag> flags) {
        long start = System.nanoTime();
        long total = from.byteCount() * to.size();
        CopyResult result;
        try (KcopydClient client = pages > 0 ? factory.createClient(pages) : factory.createClient()) {
            var job = client.copy(from, to, flags).toCompletableFuture();
            if (console.terminal() && !json) {
                try (Progress p = new Progress(console.out(), total, () -> client.statistics().bytesWritten())) {
                    result = job.join();
                }
            } else {
                result = job.join();
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        report(from, to, result, seconds);
        if (result.readError()) {
            return Exit.READ_ERROR;
        }
        return result.writeErrors() != 0 ? Exit.WRITE_ERROR : Exit.OK;
    }

    private void report(IoRegion from, List<IoRegion> to, CopyResult result, double seconds) {
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("result", result.isSuccess() ? "ok" : "error");
            m.put("source", from.device().name());
            m.put("sector", from.sector());
            m.put("sectors", from.count());
            m.put("bytes", from.byteCount());
            m.put("seconds", seconds);
            m.put("bytesPerSecond", seconds > 0 ? from.byteCount() / seconds : 0);
            m.put("readError", result.readFailure().map(Throwable::getMessage).orElse(null));
            List<Object> dests = new ArrayList<>();
            for (int i = 0; i < to.size(); i++) {
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("path", to.get(i).device().name());
                d.put("sector", to.get(i).sector());
                d.put("error", result.writeFailure(i).map(Throwable::getMessage).orElse(null));
                dests.add(d);
            }
            m.put("destinations", dests);
            console.out().println(Json.of(m));
            return;
        }
        if (result.isSuccess()) {
            console.out().println(String.format(Locale.ROOT, "copied %s from %s to %d destination%s in %.2f s (%s/s)",
                    Progress.bytes(from.byteCount()), from.device().name(), to.size(), to.size() == 1 ? "" : "s",
                    seconds, Progress.bytes(seconds > 0 ? from.byteCount() / seconds : 0)));
            return;
        }
        result.readFailure().ifPresent(t -> console.err().println("kcopyd copy: reading " + from.device().name()
                + " failed: " + t.getMessage()));
        for (int i = 0; i < to.size(); i++) {
            String name = to.get(i).device().name();
            result.writeFailure(i).ifPresent(t -> console.err().println("kcopyd copy: writing " + name + " failed: "
                    + t.getMessage()));
        }
    }
}
