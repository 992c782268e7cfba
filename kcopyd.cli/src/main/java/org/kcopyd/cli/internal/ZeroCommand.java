package org.kcopyd.cli.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.kcopyd.api.BlockDevice;
import org.kcopyd.api.BlockDeviceOpener;
import org.kcopyd.api.CopyFlag;
import org.kcopyd.api.CopyResult;
import org.kcopyd.api.DeviceOption;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.KcopydClient;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code zero DST[:SECTOR[+COUNT]]...}: sets regions of existing files or devices to zeros. */
@Command(name = "zero", mixinStandardHelpOptions = true,
        description = "Sets regions of existing files or block devices to zeros, with no buffer "
        + "pages. All regions must be as long as the first.",
        exitCodeListHeading = "%nExit codes:%n", exitCodeList = {"0:zeroed", "1:could not run", "2:bad arguments",
            "4:write error"})
final class ZeroCommand implements Callable<Integer> {

    @Parameters(arity = "1..*", paramLabel = "DST[:SECTOR[+COUNT]]", description = "Regions; whole files by default.")
    List<String> destinations;

    @Option(names = "--flush", description = "Make the destinations durable before reporting success.")
    boolean flush;

    @Option(names = "--json", description = "Print the result as JSON instead of words.")
    boolean json;

    private final Console console;

    ZeroCommand(Console console) {
        this.console = console;
    }

    @Override
    public Integer call() throws IOException {
        BlockDeviceOpener opener = console.services().devices(Console.WAIT);
        List<BlockDevice> opened = new ArrayList<>();
        try {
            List<IoRegion> regions = new ArrayList<>();
            for (String d : destinations) {
                RegionSpec spec = RegionSpec.parse(d);
                BlockDevice dev = opener.open(spec.path(), DeviceOption.READ_WRITE);
                opened.add(dev);
                long count = spec.count() >= 0 ? spec.count() : dev.sizeInSectors() - spec.sector();
                regions.add(IoRegion.of(dev, spec.sector(), count));
            }
            CopyResult result;
            try (KcopydClient client = console.services().factory(Console.WAIT).createClient(1)) {
                result = client.zero(regions, flush ? EnumSet.of(CopyFlag.FLUSH) : EnumSet.noneOf(CopyFlag.class),
                        null, null).toCompletableFuture().join();
            }
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("result", result.isSuccess() ? "ok" : "error");
                List<Object> dests = new ArrayList<>();
                for (int i = 0; i < regions.size(); i++) {
                    dests.add(Map.of("path", regions.get(i).device().name(), "sectors", regions.get(i).count(),
                            "error", result.writeFailure(i).map(Throwable::getMessage).orElse("")));
                }
                m.put("destinations", dests);
                console.out().println(Json.of(m));
            } else if (result.isSuccess()) {
                console.out().println("zeroed " + Progress.bytes(regions.get(0).byteCount()) + " in "
                        + regions.size() + " region" + (regions.size() == 1 ? "" : "s"));
            } else {
                for (int i = 0; i < regions.size(); i++) {
                    String name = regions.get(i).device().name();
                    result.writeFailure(i).ifPresent(t -> console.err().println("kcopyd zero: writing " + name
                            + " failed: " + t.getMessage()));
                }
            }
            return result.isSuccess() ? Exit.OK : Exit.WRITE_ERROR;
        } catch (IllegalArgumentException e) {
            console.err().println("kcopyd zero: " + e.getMessage());
            return Exit.USAGE;
        } finally {
            for (BlockDevice d : opened) {
                d.close();
            }
        }
    }
}
