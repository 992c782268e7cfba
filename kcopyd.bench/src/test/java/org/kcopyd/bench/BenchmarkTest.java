package org.kcopyd.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.kcopyd.testdevices.LoopMount;

/**
 * The benchmark's command line: a run works only in a directory of its own inside the ones the
 * user names and leaves the user's files alone; bad arguments are refused in one line, exit 2,
 * before anything is made. Runs only the small-job scenario on 1 MiB (no peers).
 */
class BenchmarkTest {

    @TempDir
    Path tmp;
    private Path disk;
    private Path tmpfs;
    private Path userFile;

    @BeforeEach
    void usersFiles() throws IOException {
        disk = Files.createDirectory(tmp.resolve("disk"));
        tmpfs = Files.createDirectory(tmp.resolve("tmpfs"));
        // The names the benchmark gives its own files, and others: none may be touched.
        for (Path dir : List.of(disk, tmpfs)) {
            for (String name : List.of("src.img", "dst.img", "jobs-src.img", "jobs-dst.img", "notes.txt")) {
                Files.writeString(dir.resolve(name), "the user's " + name + " in " + dir.getFileName());
            }
            Path sub = Files.createDirectory(dir.resolve("kcopyd-bench"));
            Files.writeString(sub.resolve("keep.txt"), "kept");
        }
        userFile = Files.writeString(tmp.resolve("thesis.txt"), "not a benchmark report");
    }

    private record Run(int status, String out, String err) {
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Benchmark.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Every file and directory under {@code root} with its content ("dir" for a directory). */
    private static Map<String, String> tree(Path root) throws IOException {
        Map<String, String> all = new TreeMap<>();
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                all.put(root.relativize(p).toString(), Files.isDirectory(p) ? "dir" : Files.readString(p));
            }
        }
        return all;
    }

    @Test
    void aRunWorksInADirectoryOfItsOwnAndLeavesTheUsersFilesAlone() throws IOException {
        Map<String, String> before = tree(tmp);
        Path results = tmp.resolve("results").resolve("latest.txt");

        Run r = run("--only", "jobs-4k", "--jobs", "200", "--runs", "1", "--size-mib", "1", "--disk", disk.toString(),
                "--tmpfs", tmpfs.toString(), "--results", results.toString());

        assertThat(r.err()).isEmpty();
        assertThat(r.status()).as("0 or 1 (a missed rate target), not a failure").isBetween(0, 1);
        assertThat(r.out()).containsPattern("data in " + tmpfs + "/kcopyd-bench-\\S+").contains("jobs-4k")
                .contains("best of 1 after 1 untimed run of each program and more of kcopyd until the JIT");
        Map<String, String> after = tree(tmp);
        after.keySet().removeIf(name -> name.startsWith("results"));
        assertThat(after).isEqualTo(before);
        assertThat(Files.readString(results)).startsWith(BenchOptions.REPORT_HEADER);
    }

    @Test
    void aRunEndedBySigtermStillRemovesItsOwnFilesAndOnlyThem() throws Exception {
        Map<String, String> before = tree(tmp);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Benchmark.class.getName(),
                "--only", "jobs-4k", "--jobs", "100000000", "--runs", "1", "--size-mib", "1", "--tmpfs",
                tmpfs.toString(), "--disk", disk.toString(), "--results", tmp.resolve("results.txt").toString())
                .redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line = out.readLine();
            while (line != null && !line.startsWith("data in ")) {
                line = out.readLine();
            }
            assertThat(line).as("the run started").isNotNull();
            Path scratch = Path.of(line.substring("data in ".length()));
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(scratch.resolve("jobs-dst.img")));

            p.destroy();

            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(scratch).doesNotExist();
        } finally {
            p.destroyForcibly();
        }
        assertThat(tree(tmp)).isEqualTo(before);
    }

    @Test
    void theClientScenarioTimesTheRuntimeJarAndStopsItsDaemonAndLeavesNothing() throws Exception {
        Map<String, String> before = tree(tmp);

        Run r = run("--only", "client", "--runs", "1", "--tmpfs", tmpfs.toString(), "--results",
                tmp.resolve("results.txt").toString());

        assertThat(r.err()).isEmpty();
        assertThat(r.status()).as("0 or 1 (a missed time budget), not a failure").isBetween(0, 1);
        assertThat(r.out()).contains("status, best/median", "snapshot list, best/median",
                "one-shot copy 1 MiB, best/median", "copy 1 MiB, C1, best/median", "<=0.35 s", "<0.9 s");
        java.util.regex.Matcher daemon = java.util.regex.Pattern.compile("client: daemon pid (\\d+) on (\\S+)")
                .matcher(r.out());
        assertThat(daemon.find()).as("the daemon's pid reported").isTrue();
        long pid = Long.parseLong(daemon.group(1));
        assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive)).as("the daemon ended by SIGTERM").isEmpty();
        assertThat(Path.of(daemon.group(2))).as("its state directory removed").doesNotExist();
        Map<String, String> after = tree(tmp);
        after.keySet().removeIf(name -> name.startsWith("results"));
        assertThat(after).isEqualTo(before);
    }

    @Test
    void anEarlierReportIsReplacedAndAnyOtherFileRefused() throws IOException {
        Path report = Files.writeString(tmp.resolve("latest.txt"), BenchOptions.REPORT_HEADER + "2026-01-01 ...\n");

        Run r = run("--only", "jobs-4k", "--jobs", "100", "--runs", "1", "--size-mib", "1", "--tmpfs",
                tmpfs.toString(), "--results", report.toString());

        assertThat(r.err()).isEmpty();
        assertThat(Files.readString(report)).startsWith(BenchOptions.REPORT_HEADER).doesNotContain("2026-01-01 ...");
        Run refused = run("--only", "jobs-4k", "--tmpfs", tmpfs.toString(), "--results", userFile.toString());
        assertThat(refused.status()).isEqualTo(2);
        assertThat(refused.err()).contains(userFile + " exists and is not an earlier benchmark report");
        assertThat(Files.readString(userFile)).isEqualTo("not a benchmark report");
    }

    @Test
    void helpPrintsTheUsageAndExitsZero() {
        Run r = run("--help");

        assertThat(r.status()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).startsWith("Usage: java -jar kcopyd-bench.jar").contains("--tmpfs DIR", "--disk DIR",
                "kcopyd-bench-*", "Exit status");
    }

    @Test
    void onlySparseNbdSelectsThatScenarioAloneOnTmpfs() throws Exception {
        BenchOptions o = BenchOptions.parse("--only", "sparse-nbd");

        assertThat(BenchOptions.SCENARIOS).contains("sparse-nbd");
        assertThat(BenchOptions.SCENARIOS.stream().filter(o::wanted)).containsExactly("sparse-nbd");
        assertThat(o.needsTmpfs()).as("its image and outputs live on tmpfs").isTrue();
        assertThat(run("--help").out()).contains("sparse, sparse-nbd, offload");
    }

    @Test
    void theOffloadScenarioRacesOnALoopMountedXfsOrSaysWhyNotAndLeavesNothingMounted() throws IOException {
        Path results = tmp.resolve("offload.txt");
        Run r = run("--only", "offload", "--size-mib", "4", "--runs", "1", "--warmup", "0", "--tmpfs",
                tmpfs.toString(), "--disk", disk.toString(), "--results", results.toString());

        assertThat(r.status()).as(r.out() + r.err()).isIn(0, 1); // 1: the tmpfs target missed on a busy machine
        String missing = LoopMount.unavailable(LoopMount.Kind.XFS);
        if (missing == null) {
            assertThat(r.out()).containsPattern("offload-xfs +dd bs=1M \\(new file, xfs\\)")
                    .containsPattern("offload-xfs +cp --reflink=auto")
                    .containsPattern("offload-xfs +kcopyd --offload=never");
        } else {
            assertThat(r.out()).contains("offload-xfs: not run: " + missing);
        }
        assertThat(Files.readString(Path.of("/proc/self/mounts"))).doesNotContain(tmpfs.toString());
        assertThat(tree(tmpfs).keySet()).as("left in --tmpfs").noneMatch(name -> name.startsWith("kcopyd-bench-"));
    }

    static Stream<Arguments> badArguments() {
        return Stream.of(
                Arguments.of(List.of("--bogus"), "unknown option --bogus"),
                Arguments.of(List.of("stray"), "unexpected argument 'stray'"),
                Arguments.of(List.of("--runs"), "option --runs needs a value"),
                Arguments.of(List.of("--disk", "--tmpfs", "TMPFS"), "option --disk needs a value"),
                Arguments.of(List.of("--runs", "three"), "--runs three is not a whole number"),
                Arguments.of(List.of("--warmup", "-1"), "--warmup -1 is outside the allowed range 0..100"),
                Arguments.of(List.of("--warmup", "Auto"), "--warmup Auto is neither auto nor a whole number"),
                Arguments.of(List.of("--size-mib", "-5"), "--size-mib -5 is outside the allowed range 1..1048576"),
                Arguments.of(List.of("--size-mib", "0"), "--size-mib 0 is outside the allowed range 1..1048576"),
                Arguments.of(List.of("--jobs", "99999999999"), "--jobs 99999999999 is outside the allowed range"),
                Arguments.of(List.of("--memory-gib", "-1"), "--memory-gib -1 is outside the allowed range 1..1024"),
                Arguments.of(List.of("--only", "jobs-4k,nope"), "--only: unknown scenario 'nope'"),
                Arguments.of(List.of("--io-threads", "0"), "--io-threads 0: ioThreads 0 is outside the allowed range"),
                Arguments.of(List.of("--subjob-kib", "6"), "--subjob-kib 6: subJobKiB 6 is not a multiple"),
                Arguments.of(List.of("--subjobs", "x"), "--subjobs x: x is not a whole number"),
                Arguments.of(List.of("--tmpfs", "TMP/missing"), "--tmpfs TMP/missing: no such directory"),
                Arguments.of(List.of("--tmpfs", "TMP/thesis.txt"), "--tmpfs TMP/thesis.txt is not a directory"),
                Arguments.of(List.of("--only", "disk-direct", "--disk", "TMP/missing"),
                        "--disk TMP/missing: no such directory"),
                Arguments.of(List.of("--only", "jobs-4k", "--tmpfs", "TMPFS", "--disk", "TMP/missing"),
                        "--disk TMP/missing: no such directory"),
                Arguments.of(List.of("--only", "disk-direct", "--disk", "TMP/thesis.txt"),
                        "--disk TMP/thesis.txt is not a directory"),
                Arguments.of(List.of("--results", "TMP/thesis.txt/latest.txt"), "TMP/thesis.txt is not a directory"),
                Arguments.of(List.of("--only", "client", "--kcopyd-jar", "TMP/missing.jar"),
                        "--kcopyd-jar TMP/missing.jar: no such file"));
    }

    @ParameterizedTest
    @MethodSource("badArguments")
    void badArgumentsAreRefusedInOneLineWithExitTwoBeforeAnythingIsMade(List<String> args, String message)
            throws IOException {
        Map<String, String> before = tree(tmp);
        List<String> full = new ArrayList<>();
        boolean dirsGiven = args.contains("--tmpfs") || args.contains("--disk");
        if (!dirsGiven) {
            full.addAll(List.of("--tmpfs", tmpfs.toString(), "--disk", disk.toString()));
        }
        for (String a : args) {
            full.add(a.replace("TMPFS", tmpfs.toString()).replace("TMP", tmp.toString()));
        }
        if (!args.contains("--results")) {
            full.addAll(List.of("--results", tmp.resolve("results.txt").toString()));
        }

        Run r = run(full.toArray(new String[0]));

        assertThat(r.status()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).startsWith("kcopyd-bench: ").endsWith(" (see --help)" + System.lineSeparator())
                .contains(message.replace("TMP", tmp.toString()));
        assertThat(r.err().lines()).hasSize(1);
        assertThat(tree(tmp)).as("nothing made, nothing changed").isEqualTo(before);
    }
}
