package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kcopyd.cli.internal.CommandFixture.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the commands report: with {@code --json} exactly one JSON object on standard output,
 * failures included; each destination's true state (complete, incomplete, failed) in words and
 * in JSON.
 */
class ReportTest {

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    private String p(String name) {
        return dir.resolve(name).toString();
    }

    @Test
    void usageErrorsWithJsonAreOneObjectOnStandardOutput() throws Exception {
        image(dir, "src.img", 4096, 1);

        assertThat(fixture.run("copy", "--json", p("src.img"))).isEqualTo(Exit.USAGE);
        assertThat(fixture.run("copy", "--json", "--pages", "abc", p("src.img"), p("new.img"))).isEqualTo(Exit.USAGE);

        assertThat(fixture.out().lines().toList()).containsExactly(
                "{\"result\":\"error\",\"exitCode\":2,\"message\":\"Missing required parameter: 'DST[:SECTOR]'\","
                        + "\"destinations\":[]}",
                "{\"result\":\"error\",\"exitCode\":2,\"message\":\"Invalid value for option '--pages': 'abc' is not an "
                        + "int\",\"destinations\":[]}");
        assertThat(fixture.err()).isEmpty();
    }

    @Test
    void refusalsWithJsonNameTheUntouchedDestinations() throws Exception {
        image(dir, "src.img", 4096, 2);

        assertThat(fixture.run("copy", "--json", p("none.img"), p("new.img"))).isEqualTo(Exit.FAILED);
        assertThat(fixture.run("copy", "--json", p("src.img"), p("new.img") + ":abc")).isEqualTo(Exit.USAGE);
        assertThat(fixture.run("copy", "--json", "--pages", "0", p("src.img"), p("new.img"))).isEqualTo(Exit.USAGE);
        assertThat(fixture.run("zero", "--json", p("none.img"))).isEqualTo(Exit.FAILED);

        List<String> lines = fixture.out().lines().toList();
        assertThat(lines).hasSize(4);
        assertThat(lines.get(0)).isEqualTo("{\"result\":\"error\",\"exitCode\":1,\"message\":\"cannot open source "
                + p("none.img") + ": no such file\",\"destinations\":[{\"argument\":\"" + p("new.img")
                + "\",\"state\":\"untouched\"}]}");
        assertThat(lines.get(1)).startsWith("{\"result\":\"error\",\"exitCode\":2,\"message\":\"destination '"
                + p("new.img") + ":abc': the region 'abc'");
        assertThat(lines.get(2)).startsWith("{\"result\":\"error\",\"exitCode\":2,\"message\":\"--pages 0 is outside 1..");
        assertThat(lines.get(3)).startsWith("{\"result\":\"error\",\"exitCode\":1,\"message\":\"cannot open destination "
                + p("none.img"));
        assertThat(fixture.err()).isEmpty();
        assertThat(CommandFixture.names(dir)).containsExactly("src.img");
    }

    @Test
    void numbersArePlainNotScientific() throws Exception {
        assertThat(Json.of(List.of(1.2e9, 0.5, 2.0, 1e-7, Double.NaN, Double.POSITIVE_INFINITY, 3L)))
                .isEqualTo("[1200000000,0.5,2,0.0000001,null,null,3]");
        image(dir, "src.img", 8 << 20, 3);

        assertThat(fixture.run("copy", "--json", p("src.img"), p("a.img"))).isZero();

        String out = fixture.out().trim();
        assertThat(out).matches("\\{\"result\":\"ok\",\"source\":\"[^\"]+\",\"sector\":0,\"sectors\":16384,"
                + "\"bytes\":8388608,\"seconds\":[0-9.]+,\"bytesPerSecond\":[0-9]+,\"destinations\":\\[\\{\"path\":"
                + "\"[^\"]+a.img\",\"sector\":0,\"error\":null,\"state\":\"complete\"}]}");
    }

    @Test
    void aWriteErrorLeavesTheOtherDestinationsIncompleteNotHealthy() throws Exception {
        image(dir, "src.img", 1 << 20, 4);
        fixture.failing(dir.resolve("bad.img"), 0, new IOException("No space left on device"));

        assertThat(fixture.run("copy", p("src.img"), p("good.img"), p("bad.img"))).isEqualTo(Exit.WRITE_ERROR);
        assertThat(fixture.run("copy", "--json", p("src.img"), p("good2.img"), p("bad.img")))
                .isEqualTo(Exit.WRITE_ERROR);

        assertThat(fixture.err().lines().toList()).containsExactly(
                "kcopyd copy: " + p("good.img") + ": incomplete: the job stopped at the write error on " + p("bad.img")
                        + " before reaching the end",
                "kcopyd copy: " + p("bad.img") + ": failed: No space left on device");
        assertThat(fixture.out()).startsWith("{\"result\":\"error\",\"exitCode\":4,\"message\":\"writing "
                + p("bad.img") + " failed: No space left on device\"").contains(
                "{\"path\":\"" + p("good2.img") + "\",\"sector\":0,\"error\":\"the job stopped at the write error on "
                        + p("bad.img") + " before reaching the end\",\"state\":\"incomplete\"}",
                "{\"path\":\"" + p("bad.img") + "\",\"sector\":0,\"error\":\"No space left on device\","
                        + "\"state\":\"failed\"}");
    }

    @Test
    void withIgnoreErrorsTheHealthyDestinationsAreComplete() throws Exception {
        Path src = image(dir, "src.img", (1 << 20) + 100, 5);
        fixture.failing(dir.resolve("bad.img"), 0, new IOException("No space left on device"));

        assertThat(fixture.run("copy", "--ignore-errors", src.toString(), p("good.img"), p("bad.img")))
                .isEqualTo(Exit.WRITE_ERROR);

        assertThat(fixture.err().lines().toList()).containsExactly(
                "kcopyd copy: " + p("good.img") + ": complete",
                "kcopyd copy: " + p("bad.img") + ": failed: No space left on device");
        assertThat(Files.mismatch(src, dir.resolve("good.img"))).isEqualTo(-1);
    }

    @Test
    void aReadErrorLeavesEveryDestinationIncomplete() throws Exception {
        Path src = image(dir, "src.img", 1 << 20, 6);
        fixture.failing(src, 1024, new IOException("Input/output error"));

        assertThat(fixture.run("copy", "--json", src.toString(), p("a.img"), p("b.img"))).isEqualTo(Exit.READ_ERROR);

        Map<String, String> states = Map.of("a.img", "incomplete", "b.img", "incomplete");
        assertThat(fixture.out()).startsWith("{\"result\":\"error\",\"exitCode\":3,\"message\":\"reading " + src
                + " failed: Input/output error\"");
        states.forEach((name, state) -> assertThat(fixture.out()).contains("{\"path\":\"" + p(name) + "\",\"sector\":0,"
                + "\"error\":\"the copy stopped at the read error before reaching the end\",\"state\":\"" + state + "\"}"));
    }

    @Test
    void aZeroWriteErrorIsReportedPerRegion() throws Exception {
        image(dir, "a.img", 64 * 512, 7);
        Path bad = image(dir, "bad.img", 64 * 512, 8);
        fixture.failing(bad, 0, new IOException("Input/output error"));

        assertThat(fixture.run("zero", p("a.img"), bad.toString())).isEqualTo(Exit.WRITE_ERROR);

        assertThat(fixture.err().lines().toList()).containsExactly(
                "kcopyd zero: " + p("a.img") + ": incomplete: the job stopped at the write error on " + bad
                        + " before reaching the end",
                "kcopyd zero: " + bad + ": failed: Input/output error");
    }
}
