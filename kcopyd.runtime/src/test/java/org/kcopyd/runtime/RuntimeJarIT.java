package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime jar as users run it: {@code java -jar kcopyd.jar COMMAND...} with its exit codes
 * and output, and the interactive shell's kcopyd commands fed through standard input; with a
 * configuration directory ({@code --config-dir}), its files applied and, in the shell, re-read
 * when edited.
 */
class RuntimeJarIT {

    @TempDir
    Path dir;

    private KcopydProcess.Run run(String stdin, String... args) {
        return KcopydProcess.run(dir, stdin, List.of(), args);
    }

    private Path image(String name, int bytes, long seed) throws IOException {
        byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        return Files.write(dir.resolve(name), data);
    }

    @Test
    void copiesAFileToTwoNewDestinations() throws Exception {
        Path src = image("disk.img", 3 << 20, 1);

        KcopydProcess.Run r = run("", "copy", "disk.img", "a.img", "b.img", "--flush");

        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("copied 3.0 MiB from disk.img to 2 destinations");
        assertThat(r.err()).doesNotContain("Exception");
        assertThat(Files.mismatch(src, dir.resolve("a.img"))).isEqualTo(-1);
        assertThat(Files.mismatch(src, dir.resolve("b.img"))).isEqualTo(-1);
    }

    @Test
    void printsJsonForARegionCopy() throws Exception {
        image("disk.img", 1 << 20, 2);

        KcopydProcess.Run r = run("", "copy", "disk.img:100+8", "part.img:4", "--json");

        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().trim()).startsWith("{\"result\":\"ok\"").contains("\"sector\":100").contains("\"sectors\":8")
                .contains("\"bytes\":4096").contains("\"path\":\"part.img\",\"sector\":4,\"error\":null");
        assertThat(Files.size(dir.resolve("part.img"))).isEqualTo(12 * 512);
    }

    @Test
    void exitCodesAndMessagesAreDistinctAndPlain() throws Exception {
        image("disk.img", 64 * 512, 3);

        KcopydProcess.Run missing = run("", "copy", "nothing.img", "x.img");
        KcopydProcess.Run usage = run("", "copy", "disk.img");
        KcopydProcess.Run pastEnd = run("", "copy", "disk.img:10+100", "y.img");

        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).startsWith("kcopyd copy: ").contains("nothing.img").doesNotContain("\tat ");
        assertThat(usage.exit()).isEqualTo(2);
        assertThat(usage.err()).contains("Missing required parameter");
        assertThat(pastEnd.exit()).isEqualTo(2);
        assertThat(pastEnd.err()).startsWith("kcopyd copy: ").contains("64").doesNotContain("\tat ");
    }

    @Test
    void theDemoVerifiesEveryResult() throws Exception {
        KcopydProcess.Run r = run("", "demo", "--size-mib", "8", "--dir", dir.resolve("demo").toString());

        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("verified: the three copies are identical to the sample")
                .contains("verified: the snapshot still shows the original content")
                .contains("verified: after the merge copy-1.img is the sample again")
                .contains("verified: both legs hold the sample")
                .contains("demo complete: every result verified");
    }

    @Test
    void withoutArgumentsTheShellRunsKcopydCommandsFromStandardInput() throws Exception {
        Path src = image("disk.img", 1 << 20, 4);
        image("leg0.img", 1 << 20, 5);
        image("leg1.img", 1 << 20, 6);

        KcopydProcess.Run r = run(String.join("\n", "kcopyd:config", "kcopyd:copy disk.img copy.img",
                "kcopyd:zero copy.img:0+8", "kcopyd:snapshot create s1 disk.img s1.cow --size-mib 4",
                "kcopyd:snapshot list", "kcopyd:mirror create m1 m1.log leg0.img leg1.img --wait",
                "kcopyd:mirror status m1", "kcopyd:clients", "kcopyd:mirror remove m1", "kcopyd:snapshot remove s1",
                "") + "\n");

        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("defaultPages = 2048").contains("copied 1.0 MiB from disk.img")
                .contains("zeroed 4.0 KiB in 1 region").contains("snapshot s1 of disk.img taken")
                .contains("s1  active  0/").contains("m1  2 regions  in sync").contains("leg 1  in-sync")
                .contains("mirror m1 removed").contains("snapshot s1 removed")
                .containsPattern("kcopyd\\.snapshot-1 +2048 ")
                .containsPattern("\\d+ clients, \\d+ of 262144 budget pages");
        byte[] copy = Files.readAllBytes(dir.resolve("copy.img"));
        assertThat(java.util.Arrays.copyOfRange(copy, 0, 4096)).containsOnly(0);
        assertThat(java.util.Arrays.copyOfRange(copy, 4096, copy.length))
                .isEqualTo(java.util.Arrays.copyOfRange(Files.readAllBytes(src), 4096, copy.length));
        assertThat(Files.mismatch(dir.resolve("leg0.img"), dir.resolve("leg1.img"))).isEqualTo(-1);
    }

    @Test
    void aSnapshotOrMirrorThatFailsToStartLeavesNoConfigurationBehind() throws Exception {
        image("a.img", 1 << 20, 7);
        image("b.img", 1 << 20, 8);
        image("c.img", 1 << 20, 9);
        image("d.img", 1 << 20, 10);

        KcopydProcess.Run r = run(String.join("\n", "kcopyd:snapshot create s1 a.img s1.cow --size-mib 4",
                "kcopyd:snapshot create s2 b.img s1.cow --size-mib 4",
                "kcopyd:snapshot create s2 b.img s2.cow --size-mib 4",
                "kcopyd:mirror create m m.log a.img c.img",
                "kcopyd:mirror create m m.log c.img d.img",
                "kcopyd:snapshot list", "kcopyd:mirror status", "") + "\n");

        List<String> refusals = r.err().lines().filter(l -> !l.isBlank()).toList();
        assertThat(refusals).as("one line for each refusal").hasSize(2);
        assertThat(refusals.get(0)).contains("s1.cow is the COW store of snapshot s1");
        assertThat(refusals.get(1)).contains("a.img is the origin of snapshot s1");
        assertThat(r.err()).doesNotContain("\tat ").doesNotContain("Exception").doesNotContain("exists already")
                .doesNotContain("did not");
        assertThat(r.out()).contains("snapshot s1 of a.img").contains("snapshot s2 of b.img")
                .containsPattern("(?m)^(g! )?s2 +active").containsPattern("m +\\d+ regions");
    }

    @Test
    void configurationFilesOfTheNamedDirectoryAreApplied() throws Exception {
        Files.createDirectories(dir.resolve("etc"));
        Files.writeString(dir.resolve("etc/org.kcopyd.engine.cfg"), "defaultPages = 512\nmaxQueuedJobs = 77\n");

        KcopydProcess.Run r = run("kcopyd:config\n", "--config-dir", "etc");
        KcopydProcess.Run oneShot = run("", "--config-dir=etc", "config");

        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("defaultPages = 512").contains("maxQueuedJobs = 77");
        assertThat(oneShot.exit()).as(oneShot.err()).isZero();
        assertThat(oneShot.out()).contains("defaultPages = 512").contains("maxQueuedJobs = 77");
        assertThat(Files.readString(dir.resolve("etc/org.kcopyd.engine.cfg"))).as("the user's file is left alone")
                .isEqualTo("defaultPages = 512\nmaxQueuedJobs = 77\n");
    }

    @Test
    void anEditedConfigurationFileIsAppliedWhileTheRuntimeRuns() throws Exception {
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(etc.resolve("org.kcopyd.engine.cfg"), "maxQueuedJobs = 100\n");
        Process p = new ProcessBuilder(KcopydProcess.command(List.of(), List.of("--config-dir", "etc")))
                .directory(dir.toFile()).redirectErrorStream(true).start();
        try (var shell = new java.io.PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8);
                var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8))) {
            shell.println("kcopyd:config");
            assertThat(readUntil(out, "maxQueuedJobs = ")).isEqualTo("maxQueuedJobs = 100");

            Files.writeString(etc.resolve("org.kcopyd.engine.cfg"), "maxQueuedJobs = 250\n");

            // FileInstall polls every second: ask every 100 ms until the new value shows, for up to 30 s.
            String seen = "";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!seen.equals("maxQueuedJobs = 250") && System.nanoTime() < deadline) {
                java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
                shell.println("kcopyd:config");
                seen = readUntil(out, "maxQueuedJobs = ");
            }
            assertThat(seen).isEqualTo("maxQueuedJobs = 250");
            shell.println("exit 0");
        } finally {
            p.getOutputStream().close();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
    }

    /** Reads lines until one starts with {@code prefix}; returns it. Blocks on the runtime's output. */
    private static String readUntil(java.io.BufferedReader out, String prefix) throws IOException {
        String line;
        while ((line = out.readLine()) != null) {
            int at = line.indexOf(prefix);
            if (at >= 0) {
                return line.substring(at).trim();
            }
        }
        throw new IOException("the runtime ended before printing " + prefix);
    }
}
