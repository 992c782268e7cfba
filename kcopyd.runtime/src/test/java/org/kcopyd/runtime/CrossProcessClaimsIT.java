package org.kcopyd.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Claims hold across processes: while a shell holds a snapshot and a mirror, one-shot commands
 * run from other processes — the main way kcopyd is used — are refused the shell's files, with
 * the shell's process named, and change nothing. Each run's claims directory is the test's own
 * ({@code -Dkcopyd.claims.dir}).
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class CrossProcessClaimsIT {

    @TempDir
    Path dir;

    private Path image(String name, int bytes, long seed) throws IOException {
        byte[] data = new byte[bytes];
        new Random(seed).nextBytes(data);
        return Files.write(dir.resolve(name), data);
    }

    @Test
    void oneShotCommandsAreRefusedTheFilesOfAShellsSnapshotAndMirror() throws Exception {
        image("a.img", 4 << 20, 1);
        image("other.img", 4 << 20, 2);
        image("x.img", 1 << 20, 3);
        image("y.img", 1 << 20, 4);
        image("c.img", 1 << 20, 5);
        image("d.img", 1 << 20, 6);
        List<String> jvm = List.of("-Dkcopyd.claims.dir=" + dir.resolve("claims"));
        Process p = new ProcessBuilder(KcopydProcess.command(jvm, List.of())).directory(dir.toFile())
                .redirectErrorStream(true).start();
        long shell = p.pid();
        try (PrintWriter in = new PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8);
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8))) {
            assertThat(ask(in, out, "kcopyd:snapshot create s1 a.img s1.cow --size-mib 4")).contains("snapshot s1 of a.img");
            assertThat(ask(in, out, "kcopyd:mirror create m m.log x.img y.img --wait")).contains("in sync");
            Map<String, String> before = hashes();

            KcopydProcess.Run onOrigin = KcopydProcess.run(dir, "", jvm, "copy", "other.img", "a.img");
            assertThat(onOrigin.exit()).as(onOrigin.err()).isEqualTo(1);
            assertThat(onOrigin.err().lines()).contains("kcopyd copy: a.img is the origin of snapshot s1; write through its"
                    + " origin device (kcopyd process " + shell + ")");

            KcopydProcess.Run onLeg = KcopydProcess.run(dir, "", jvm, "copy", "other.img:0+2048", "y.img");
            assertThat(onLeg.exit()).as(onLeg.err()).isEqualTo(1);
            assertThat(onLeg.err()).contains("y.img is leg 1 of mirror m (kcopyd process " + shell + ")");

            KcopydProcess.Run overLog = KcopydProcess.run(dir, "", jvm, "mirror", "create", "n", "m.log", "c.img",
                    "d.img", "--format");
            assertThat(overLog.exit()).as(overLog.err()).isEqualTo(2);
            assertThat(overLog.err()).contains("is the region log of mirror m (kcopyd process " + shell + ")");

            KcopydProcess.Run onCow = KcopydProcess.run(dir, "", jvm, "snapshot", "create", "s2", "d.img", "s1.cow",
                    "--format", "--size-mib", "4");
            assertThat(onCow.exit()).as(onCow.err()).isEqualTo(1);
            assertThat(onCow.err()).contains("s1.cow is the COW store of snapshot s1");

            assertThat(hashes()).as("no file changed").isEqualTo(before);
            in.println("exit 0");
        } finally {
            p.getOutputStream().close();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }

        // The claims went with the shell: the same copy now runs.
        KcopydProcess.Run copy = KcopydProcess.run(dir, "", List.of("-Dkcopyd.claims.dir=" + dir.resolve("claims")),
                "copy", "other.img", "a.img");
        assertThat(copy.exit()).as(copy.err()).isZero();
        assertThat(Files.mismatch(dir.resolve("other.img"), dir.resolve("a.img"))).isEqualTo(-1);
    }

    /** The SHA-256 of every file in the working directory (the claims directory aside). */
    private Map<String, String> hashes() throws IOException, NoSuchAlgorithmException {
        Map<String, String> hashes = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                hashes.put(f.getFileName().toString(),
                        HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))));
            }
        }
        return hashes;
    }

    /** Sends one shell command and returns everything it printed (standard output and error). */
    private static String ask(PrintWriter shell, BufferedReader out, String command) throws IOException {
        shell.println(command);
        shell.println("echo @@done");
        StringBuilder seen = new StringBuilder();
        String line;
        while ((line = out.readLine()) != null && !line.contains("@@done")) {
            seen.append(line).append('\n');
        }
        return seen.toString();
    }
}
