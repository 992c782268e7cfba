package org.kcopyd.bench;

import java.nio.file.Path;

import org.kcopyd.nbd.NbdServer;

/**
 * Run in its own JVM by {@link NbdScenarios}: serves a generated read-only export of the given
 * size on a Unix socket with kcopyd's NBD server and default limits, prints {@value #READY}, and
 * when a line arrives on standard input (the clients are done) prints the peak RSS growth
 * since it started listening as {@code rss-growth-kib=N}.
 */
public final class NbdServeProbe {

    static final String READY = "listening";

    private NbdServeProbe() {
    }

    /**
     * @param args the socket path and the export's size in bytes
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        long bytes = Long.parseLong(args[1]);
        PatternSource device = new PatternSource(bytes / 512);
        try (NbdServer server = NbdServer.builder().export("", device, true).startUnix(socket)) {
            System.gc();
            MemoryProbe.resetPeak();
            long before = MemoryProbe.statusKib("VmRSS");
            System.out.println(READY);
            System.out.flush();
            System.in.read();
            long peak = MemoryProbe.statusKib("VmHWM");
            System.out.println("rss-growth-kib=" + Math.max(0, peak - before));
        }
    }
}
