package org.kcopyd.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

import org.kcopyd.api.EngineSettings;

/**
 * The benchmark's command line, checked whole before anything is created: every bad value is
 * refused with one line that names it and the limit it broke.
 */
final class BenchOptions {

    /** The scenarios, in the order they run. */
    static final List<String> SCENARIOS = List.of("tmpfs-1dest", "tmpfs-3dest-new", "tmpfs-3dest-overwrite",
            "disk-direct", "jobs-4k", "memory", "nbd-read", "nbd-serve", "nbd-3dest", "nbd-memory", "verify", "sparse",
            "sparse-nbd", "offload", "client");

    /** The first words of every report; an existing results file is only overwritten if it starts so. */
    static final String REPORT_HEADER = "kcopyd benchmark ";

    static final String USAGE = """
            Usage: java -jar kcopyd-bench.jar [options]
            Runs the kcopyd engine and its peers (dd, cp, dcfldd, nbdcopy, nbdkit where installed) on data it makes,
            verifies every copy and prints the throughput against the project's targets; the client scenario
            times the runtime jar (kcopyd.jar) as whole processes against qemu-img info.

              --size-mib N      MiB per copy (1..1048576, default 1024)
              --runs N          runs per scenario, the best counts (1..1000, default 3)
              --warmup N|auto   untimed runs before them. auto (the default): one of each program, then more
                                of kcopyd alone until the JIT compiles for under 5%% of 2 runs in a row (at most
                                12 in all): the engine's code compiled, as in a daemon that has copied before.
                                N (0..100):
                                exactly N of each program; 0 times cold runs
              --jobs N          small jobs in jobs-4k (1..100000000, default 1000000)
              --memory-gib N    GiB copied by the memory scenario (1..1024, default 8)
              --tmpfs DIR       an existing directory on tmpfs (default /dev/shm)
              --disk DIR        an existing directory on a disk (default /var/tmp)
              --only NAME[,NAME]  run only these scenarios: %s
              --io-threads N, --subjob-kib N, --subjobs N   engine settings (defaults otherwise)
              --kcopyd-jar FILE the runtime jar the client scenario starts (default: kcopyd.jar next to
                                kcopyd-bench.jar, where the build puts it)
              --results FILE    where the report goes (default bench-results/latest.txt); an existing
                                file is only replaced if it is an earlier report
              --help            this text

            The data lives in a new directory kcopyd-bench-* that the benchmark creates inside DIR; at
            the end it deletes the files it made there and that directory, nothing else.
            Exit status: 0 every target met, 1 a target missed or a run failed, 2 bad arguments.
            """.formatted(String.join(", ", SCENARIOS));

    /** A bad command line; the message is one line that names the bad value. */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    long sizeMib = 1024;
    int runs = 3;
    int warmup = Runs.AUTO;
    int jobs = 1_000_000;
    int memoryGib = 8;
    Path tmpfs = Path.of("/dev/shm");
    Path disk = Path.of("/var/tmp");
    Set<String> only = Set.of();
    EngineSettings settings = EngineSettings.defaults();
    Path results = Path.of("bench-results", "latest.txt");
    Path kcopydJar = defaultKcopydJar();
    boolean help;
    private final Set<String> given = new LinkedHashSet<>();

    private BenchOptions() {
    }

    /**
     * @param args the command line
     * @return the options; {@link #help} set if help was asked for (nothing else is checked then)
     * @throws UsageException on an unknown option, a missing or bad value, or an unusable directory
     */
    static BenchOptions parse(String... args) throws UsageException {
        BenchOptions o = new BenchOptions();
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            if (option.equals("--help") || option.equals("-h")) {
                o.help = true;
                return o;
            }
            if (!option.startsWith("--")) {
                throw new UsageException("unexpected argument '" + option + "'");
            }
            if (!isKnown(option)) {
                throw new UsageException("unknown option " + option);
            }
            if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
                throw new UsageException("option " + option + " needs a value");
            }
            o.given.add(option);
            o.set(option, args[++i]);
        }
        o.check();
        return o;
    }

    private static boolean isKnown(String option) {
        return switch (option) {
            case "--size-mib", "--runs", "--warmup", "--jobs", "--memory-gib", "--tmpfs", "--disk", "--only", "--io-threads",
                    "--subjob-kib", "--subjobs", "--results", "--kcopyd-jar" -> true;
            default -> false;
        };
    }

    private void set(String option, String value) throws UsageException {
        switch (option) {
            case "--size-mib" -> sizeMib = number(option, value, 1, 1L << 20);
            case "--runs" -> runs = (int) number(option, value, 1, 1000);
            case "--warmup" -> warmup = warmup(option, value);
            case "--jobs" -> jobs = (int) number(option, value, 1, 100_000_000);
            case "--memory-gib" -> memoryGib = (int) number(option, value, 1, 1024);
            case "--tmpfs" -> tmpfs = path(option, value);
            case "--disk" -> disk = path(option, value);
            case "--only" -> only = scenarios(value);
            case "--io-threads" -> engine(option, value, b -> b.ioThreads((int) number(value)));
            case "--subjob-kib" -> engine(option, value, b -> b.subJobKiB((int) number(value)));
            case "--subjobs" -> engine(option, value, b -> b.subJobsPerJob((int) number(value)));
            case "--results" -> results = path(option, value);
            case "--kcopyd-jar" -> kcopydJar = path(option, value);
            default -> throw new IllegalStateException(option);
        }
    }

    private static long number(String option, String value, long min, long max) throws UsageException {
        long n;
        try {
            n = Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new UsageException(option + " " + value + " is not a whole number");
        }
        if (n < min || n > max) {
            throw new UsageException(option + " " + value + " is outside the allowed range " + min + ".." + max);
        }
        return n;
    }

    private static int warmup(String option, String value) throws UsageException {
        if ("auto".equals(value)) {
            return Runs.AUTO;
        }
        if (!value.matches("[+-]?[0-9]+")) {
            throw new UsageException(option + " " + value + " is neither auto nor a whole number");
        }
        return (int) number(option, value, 0, 100);
    }

    /** For engine settings: their own ranges apply, checked by the settings builder. */
    private static long number(String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(value + " is not a whole number");
        }
    }

    private void engine(String option, String value, UnaryOperator<EngineSettings.Builder> change)
            throws UsageException {
        try {
            settings = change.apply(settings.toBuilder()).build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(option + " " + value + ": " + e.getMessage());
        }
    }

    private static Path path(String option, String value) throws UsageException {
        if (value.isEmpty()) {
            throw new UsageException("option " + option + " needs a value");
        }
        try {
            return Path.of(value);
        } catch (java.nio.file.InvalidPathException e) {
            throw new UsageException(option + " " + value + " is not a valid path");
        }
    }

    private static Set<String> scenarios(String value) throws UsageException {
        Set<String> names = new LinkedHashSet<>();
        for (String name : value.split(",", -1)) {
            if (!SCENARIOS.contains(name)) {
                throw new UsageException("--only: unknown scenario '" + name + "'; the scenarios are "
                        + String.join(", ", SCENARIOS));
            }
            names.add(name);
        }
        return Set.copyOf(names);
    }

    boolean wanted(String scenario) {
        return only.isEmpty() || only.contains(scenario);
    }

    boolean needsTmpfs() {
        return wanted("tmpfs-1dest") || wanted("tmpfs-3dest-new") || wanted("tmpfs-3dest-overwrite")
                || wanted("jobs-4k") || wanted("verify") || wanted("sparse") || wanted("sparse-nbd")
                || wanted("offload") || wanted("client")
                || SCENARIOS.stream().anyMatch(s -> s.startsWith("nbd-") && wanted(s));
    }

    /**
     * Checks the directories (every one given, and the defaults the scenarios need) and the
     * results file, so that a long run is not lost at its end.
     */
    private void check() throws UsageException {
        if (needsTmpfs() || given.contains("--tmpfs")) {
            directory("--tmpfs", tmpfs);
        }
        if (wanted("disk-direct") || wanted("offload") || given.contains("--disk")) {
            directory("--disk", disk);
        }
        Path parent = results.toAbsolutePath().getParent();
        if (parent != null && Files.exists(parent) && !Files.isDirectory(parent)) {
            throw new UsageException("--results " + results + ": " + parent + " is not a directory");
        }
        if (Files.exists(results, LinkOption.NOFOLLOW_LINKS) && !isReport(results)) {
            throw new UsageException("--results " + results + " exists and is not an earlier benchmark report;"
                    + " not overwriting it");
        }
        if ((wanted("client") || given.contains("--kcopyd-jar")) && !Files.isRegularFile(kcopydJar)) {
            throw new UsageException("--kcopyd-jar " + kcopydJar + ": no such file (the client scenario runs the"
                    + " runtime jar: build kcopyd.runtime, or name its target/kcopyd.jar)");
        }
    }

    /** kcopyd.jar in the directory that holds the benchmark's jar (or, run from classes, its classes directory). */
    private static Path defaultKcopydJar() {
        try {
            Path here = Path.of(BenchOptions.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path parent = here.toAbsolutePath().getParent();
            return (parent != null ? parent : here).resolve("kcopyd.jar");
        } catch (java.net.URISyntaxException | RuntimeException e) {
            return Path.of("kcopyd.jar");
        }
    }

    private static void directory(String option, Path dir) throws UsageException {
        if (!Files.exists(dir)) {
            throw new UsageException(option + " " + dir + ": no such directory");
        }
        if (!Files.isDirectory(dir)) {
            throw new UsageException(option + " " + dir + " is not a directory");
        }
        if (!Files.isWritable(dir)) {
            throw new UsageException(option + " " + dir + " is not writable");
        }
    }

    private static boolean isReport(Path file) {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String first = r.readLine();
            return first != null && first.startsWith(REPORT_HEADER);
        } catch (IOException e) {
            return false;
        }
    }
}
