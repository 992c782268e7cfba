package org.kcopyd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import org.kcopyd.api.CopyResult;
import org.kcopyd.api.EngineSettings;
import org.kcopyd.api.IoRegion;
import org.kcopyd.api.Kcopyd;
import org.kcopyd.api.KcopydClient;
import org.kcopyd.api.KcopydEngine;

/**
 * Run in its own JVM by {@link Benchmark}: copies {@code GiB} gibibytes from a generated source
 * to a verifying sink with the default page count, and prints the peak RSS growth (VmHWM
 * after minus VmRSS before the copy) as {@code rss-growth-kib=N verified=true|false}.
 */
public final class MemoryProbe {

    private MemoryProbe() {
    }

    static long statusKib(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException(field + " not in /proc/self/status");
    }

    /** Linux 4.0+: writing 5 to clear_refs resets VmHWM to the current RSS. */
    static void resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException e) {
            // Older kernels: VmHWM then includes start-up, which only overstates the growth.
        }
    }

    /**
     * @param args the number of GiB to copy
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        long gib = Long.parseLong(args[0]);
        long sectors = gib << 21;
        try (KcopydEngine engine = Kcopyd.start(EngineSettings.defaults())) {
            KcopydClient warm = engine.createClient();
            PatternSource warmSrc = new PatternSource(1 << 16);
            warm.copy(IoRegion.whole(warmSrc), List.of(IoRegion.whole(new VerifyingSink(1 << 16))), Set.of())
                    .toCompletableFuture().join();
            warm.close();
            System.gc();
            resetPeak();
            long before = statusKib("VmRSS");
            KcopydClient client = engine.createClient();
            PatternSource src = new PatternSource(sectors);
            VerifyingSink sink = new VerifyingSink(sectors);
            CopyResult r = client.copy(IoRegion.whole(src), List.of(IoRegion.whole(sink)), Set.of())
                    .toCompletableFuture().join();
            long peak = statusKib("VmHWM");
            boolean ok = r.isSuccess() && sink.mismatches.sum() == 0 && sink.bytes.sum() == sectors * 512;
            System.out.println("rss-growth-kib=" + Math.max(0, peak - before) + " verified=" + ok + " pages="
                    + client.pages());
            client.close();
        }
    }
}
