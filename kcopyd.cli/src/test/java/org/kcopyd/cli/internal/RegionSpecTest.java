package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The region syntax: the text after the last ':' is always the region, never part of a file
 * name; a name with ':' is written with a trailing ':'.
 */
class RegionSpecTest {

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    @Test
    void pathsSectorsAndCounts() {
        assertThat(RegionSpec.parse("a.img")).isEqualTo(new RegionSpec("a.img", Path.of("a.img"), 0, -1));
        assertThat(RegionSpec.parse("a.img:100")).isEqualTo(new RegionSpec("a.img:100", Path.of("a.img"), 100, -1));
        assertThat(RegionSpec.parse("/dev/loop0:8+16"))
                .isEqualTo(new RegionSpec("/dev/loop0:8+16", Path.of("/dev/loop0"), 8, 16));
        assertThat(RegionSpec.parse("a.img:")).isEqualTo(new RegionSpec("a.img:", Path.of("a.img"), 0, -1));
    }

    @Test
    void aTrailingColonNamesAFileWhoseNameContainsColons() {
        assertThat(RegionSpec.parse("odd:name.img:")).isEqualTo(
                new RegionSpec("odd:name.img:", Path.of("odd:name.img"), 0, -1));
        assertThat(RegionSpec.parse("odd:name.img:8+2")).isEqualTo(
                new RegionSpec("odd:name.img:8+2", Path.of("odd:name.img"), 8, 2));
        assertThat(RegionSpec.parse("x:::")).isEqualTo(new RegionSpec("x:::", Path.of("x::"), 0, -1));
    }

    @Test
    void malformedRegionsAreRefusedNamingTheTextAndTheRule() {
        for (String bad : new String[] {"dst.img:-5", "new.img:abc", "odd:name.img", "s.img:10+", "s.img:+5",
            "s.img:1+2+3", "s.img: 5", "s.img:0x10"}) {
            String region = bad.substring(bad.lastIndexOf(':') + 1);
            assertThatThrownBy(() -> RegionSpec.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("'" + bad + "': the region '" + region + "' after the last ':' is not SECTOR or "
                            + "SECTOR+COUNT in decimal 512-byte sectors; to name a file whose name contains ':', end "
                            + "it with ':' ('" + bad + ":')");
        }
    }

    @Test
    void numbersPastTheLargestSectorAreRefused() {
        assertThatThrownBy(() -> RegionSpec.parse("src.img:99999999999999999999"))
                .hasMessage("'src.img:99999999999999999999': the sector 99999999999999999999 is past the largest "
                        + "sector 18014398509481983");
        assertThatThrownBy(() -> RegionSpec.parse("src.img:0+18014398509481984"))
                .hasMessageContaining("the sector count 18014398509481984 is past the largest sector");
        assertThatThrownBy(() -> RegionSpec.parse("src.img:18014398509481983+1"))
                .hasMessage("'src.img:18014398509481983+1': the region ends past the largest sector "
                        + "18014398509481983");
        assertThatThrownBy(() -> RegionSpec.parse("a.img:4+0")).hasMessage("'a.img:4+0': the sector count 0 is "
                + "below the minimum 1");
        assertThatThrownBy(() -> RegionSpec.parse(":8")).hasMessage("':8': the file name is empty");
        assertThatThrownBy(() -> RegionSpec.parse("")).hasMessage("'': the file name is empty");
    }

    @Test
    void malformedSuffixesExitTwoAndCreateNoFile() throws Exception {
        Path src = CommandFixture.image(dir, "src.img", 16 * 512, 1);
        String[][] cases = {
            {src.toString(), dir.resolve("dst.img") + ":-5"},
            {src.toString(), dir.resolve("new.img") + ":abc"},
            {src + ":99999999999999999999", dir.resolve("new.img").toString()},
            {"", dir.resolve("new.img").toString()}};
        for (String[] args : cases) {
            fixture.err.getBuffer().setLength(0);
            assertThat(fixture.run("copy", args[0], args[1])).as(String.join(" ", args)).isEqualTo(Exit.USAGE);
            assertThat(fixture.err().lines()).as(String.join(" ", args)).hasSize(1);
        }
        assertThat(fixture.run("zero", dir.resolve("z.img") + ":abc")).isEqualTo(Exit.USAGE);
        assertThat(CommandFixture.names(dir)).containsExactly("src.img");
    }

    @Test
    void aFileWithColonsInItsNameIsCopiedWithATrailingColon() throws Exception {
        Path src = CommandFixture.image(dir, "a:b.img", 4 * 512, 2);
        Path dst = dir.resolve("c:d.img");

        assertThat(fixture.run("copy", src + ":", dst + ":")).as(fixture.err()).isZero();
        assertThat(fixture.run("copy", src.toString(), dir.resolve("x.img").toString())).isEqualTo(Exit.USAGE);

        assertThat(Files.mismatch(src, dst)).isEqualTo(-1);
        assertThat(fixture.err()).contains("end it with ':' ('" + src + ":')");
        assertThat(CommandFixture.names(dir)).containsExactly("a:b.img", "c:d.img");
    }
}
