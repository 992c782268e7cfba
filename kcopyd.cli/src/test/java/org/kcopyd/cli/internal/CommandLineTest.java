package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kcopyd.cli.internal.CommandFixture.image;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.jar.Manifest;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The commands' parsing, messages and exit codes, on an engine outside OSGi. */
class CommandLineTest {

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    private int run(String... args) {
        return fixture.run(args);
    }

    @Test
    void copyWritesEveryDestinationAndExitsZero() throws Exception {
        Path src = image(dir, "src.img", 1 << 20, 1);

        int code = run("copy", src.toString(), dir.resolve("a.img").toString(), dir.resolve("b.img") + ":8");

        assertThat(code).as(fixture.err()).isZero();
        assertThat(fixture.out()).contains("copied 1.0 MiB").contains("to 2 destinations");
        assertThat(Files.mismatch(src, dir.resolve("a.img"))).isEqualTo(-1);
        assertThat(Files.size(dir.resolve("b.img"))).isEqualTo((1 << 20) + 8 * 512);
    }

    @Test
    void badArgumentsExitTwoWithAPlainMessage() throws Exception {
        Path src = image(dir, "src.img", 16 * 512, 2);

        assertThat(run("copy", src.toString())).isEqualTo(Exit.USAGE);
        assertThat(run("copy", src + ":8+100", dir.resolve("x.img").toString())).isEqualTo(Exit.USAGE);
        assertThat(fixture.err()).contains("ends at sector 108, past its end at sector 16").doesNotContain("\tat ");
        assertThat(run("copy", src + ":0+4", dir.resolve("y.img") + ":0+5")).isEqualTo(Exit.USAGE);
        assertThat(fixture.err()).contains("has 5 sectors but the source has 4");
        assertThat(CommandFixture.names(dir)).containsExactly("src.img");
    }

    @Test
    void aMissingSourceExitsOneNamingIt() {
        Path none = dir.resolve("none.img");

        assertThat(run("copy", none.toString(), dir.resolve("x.img").toString())).isEqualTo(Exit.FAILED);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: cannot open source " + none + ": no such file\n");
    }

    @Test
    void zeroSetsRegionsToZeros() throws Exception {
        Path img = image(dir, "img.img", 64 * 512, 3);

        assertThat(run("zero", img + ":8+16", "--json")).isZero();

        byte[] data = Files.readAllBytes(img);
        assertThat(java.util.Arrays.copyOfRange(data, 8 * 512, 24 * 512)).containsOnly(0);
        assertThat(fixture.out()).startsWith("{\"result\":\"ok\"");
    }

    @Test
    void configListsTheEffectiveSettings() {
        assertThat(run("config")).isZero();
        assertThat(fixture.out()).contains("defaultPages = 2048").contains("subJobKiB = 512");
    }

    @Test
    void progressLinesShowBytesRateAndTimeLeft() {
        assertThat(Progress.line(512L << 20, 1L << 30, 2.0)).contains("50%").contains("512.0 MiB / 1.0 GiB")
                .contains("256.0 MiB/s").contains("0:02 left");
        assertThat(Json.of(Map.of("a", "x\"y"))).isEqualTo("{\"a\":\"x\\\"y\"}");
    }

    @Test
    void everyCommandExplainsItselfWithHelp() {
        for (String command : List.of("copy", "zero", "config", "demo")) {
            assertThat(run(command, "--help")).as(command).isZero();
        }
        assertThat(run("snapshot", "create", "--help")).isZero();
        assertThat(run("mirror", "status", "--help")).isZero();
        assertThat(fixture.out()).contains("Usage: kcopyd copy").contains("Exit codes:")
                .contains("Usage: kcopyd snapshot create").contains("Usage: kcopyd mirror status");
    }

    @Test
    void topLevelHelpNamesTheConfigurationDirectoryOption() {
        assertThat(run("--help")).isZero();
        assertThat(fixture.out().replaceAll("\\s+", " ")).contains("only from a directory named with --config-dir")
                .contains("must not be writable by others");
    }

    @Test
    void helpDocumentsTheColonRuleWholeFilesAndTheInterruptionCodes() {
        assertThat(run("copy", "--help")).isZero();
        assertThat(run("zero", "--help")).isZero();

        String help = fixture.out().replaceAll("\\s+", " ");
        assertThat(help).contains("end the argument with ':' (a:b.img: is the whole file a:b.img)")
                .contains("every byte of it").contains("never extended or truncated")
                .contains("130 interrupted").contains("143 terminated");
    }

    @Test
    void versionIsTheBundleVersionOfTheBuild() throws Exception {
        Manifest manifest;
        try (InputStream in = Files.newInputStream(Path.of("target/classes/META-INF/MANIFEST.MF"))) {
            manifest = new Manifest(in);
        }
        String bundleVersion = manifest.getMainAttributes().getValue("Bundle-Version");

        assertThat(run("--version")).isZero();
        assertThat(run("copy", "--version")).isZero();

        assertThat(bundleVersion).isNotBlank();
        assertThat(fixture.out()).isEqualTo("kcopyd " + bundleVersion + "\nkcopyd " + bundleVersion + "\n");
    }

    @Test
    void pagesOutsideTheFactoryRangeAreRefusedNamingValueAndRange() throws Exception {
        Path src = image(dir, "src.img", 16 * 512, 4);
        int max = fixture.engine.settings().maxPagesPerClient();

        for (String pages : List.of("0", "-1", String.valueOf(max + 1))) {
            fixture.err.getBuffer().setLength(0);
            assertThat(run("copy", "--pages", pages, src.toString(), dir.resolve("new.img").toString()))
                    .as(pages).isEqualTo(Exit.USAGE);
            assertThat(fixture.err()).as(pages)
                    .isEqualTo("kcopyd copy: --pages " + pages + " is outside 1.." + max
                            + " (the engine's maxPagesPerClient)\n");
        }
        assertThat(run("copy", "--pages", String.valueOf(max), src.toString(), dir.resolve("new.img").toString()))
                .as(fixture.err()).isZero();
        assertThat(run("copy", "--pages", "1", src.toString(), dir.resolve("new2.img").toString())).isZero();
    }

    @Test
    void picocliUsageErrorsAreOneLineNamingTheBadArgument() throws Exception {
        Path src = image(dir, "src.img", 16 * 512, 5);

        assertThat(run("copy", "--bogus", src.toString(), dir.resolve("x.img").toString())).isEqualTo(Exit.USAGE);
        assertThat(run("copy", "--pages", "abc", src.toString(), dir.resolve("x.img").toString()))
                .isEqualTo(Exit.USAGE);
        // H48-9: Java's parser takes other scripts' digits (Arabic-Indic eight); the region parser did not.
        assertThat(run("copy", "--pages", "\u0668", src.toString(), dir.resolve("x.img").toString()))
                .isEqualTo(Exit.USAGE);
        assertThat(run("copy", "--pages", "99999999999", src.toString(), dir.resolve("x.img").toString()))
                .isEqualTo(Exit.USAGE);

        assertThat(fixture.err().lines()).hasSize(4);
        assertThat(fixture.err().lines().toList().get(0)).contains("'--bogus'").endsWith("(see kcopyd copy --help)");
        assertThat(fixture.err().lines().toList().get(1)).contains("'abc' is not an int");
        assertThat(fixture.err().lines().toList().get(2)).contains("'\u0668' is not an int");
        assertThat(fixture.err().lines().toList().get(3)).contains("'99999999999' is not an int");
        assertThat(CommandFixture.names(dir)).containsExactly("src.img");
    }
}
