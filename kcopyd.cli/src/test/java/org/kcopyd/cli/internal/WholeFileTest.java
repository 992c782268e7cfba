package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kcopyd.cli.internal.CommandFixture.image;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole regular file is copied and zeroed to its last byte, as cp, nbdcopy and qemu-img do,
 * whatever its size; a region with a sector count stays in whole sectors.
 */
class WholeFileTest {

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    @Test
    void aThousandByteFileIsCopiedAsAThousandBytes() throws Exception {
        Path src = image(dir, "odd.img", 1000, 1);
        Path dst = dir.resolve("new.img");

        assertThat(fixture.run("copy", src.toString(), dst.toString())).as(fixture.err()).isZero();

        assertThat(Files.size(dst)).isEqualTo(1000);
        assertThat(Files.mismatch(src, dst)).isEqualTo(-1);
        assertThat(fixture.out()).startsWith("copied 1000 B from " + src + " to 1 destination");
    }

    @Test
    void aLargeFileWithATailIsCopiedWholeToSeveralDestinationsWithFlush() throws Exception {
        Path src = image(dir, "big.img", (3 << 20) + 77, 2);
        Path a = dir.resolve("a.img");
        Path b = dir.resolve("b.img");

        assertThat(fixture.run("copy", "--flush", src.toString(), a.toString(), b + ":8")).as(fixture.err()).isZero();

        assertThat(Files.mismatch(src, a)).isEqualTo(-1);
        byte[] copy = Files.readAllBytes(b);
        assertThat(copy).hasSize(8 * 512 + (3 << 20) + 77);
        assertThat(Arrays.copyOfRange(copy, 8 * 512, copy.length)).isEqualTo(Files.readAllBytes(src));
    }

    @Test
    void aFileShorterThanASectorIsCopiedWhole() throws Exception {
        Path src = image(dir, "tiny.img", 100, 3);
        Path dst = dir.resolve("new.img");

        assertThat(fixture.run("copy", src.toString(), dst.toString())).as(fixture.err()).isZero();

        assertThat(Files.readAllBytes(dst)).isEqualTo(Files.readAllBytes(src));
    }

    @Test
    void fromASectorToTheEndIncludesTheTail() throws Exception {
        Path src = image(dir, "odd.img", 1000, 4);
        Path dst = dir.resolve("new.img");

        assertThat(fixture.run("copy", src + ":1", dst.toString())).as(fixture.err()).isZero();

        assertThat(Files.readAllBytes(dst)).isEqualTo(Arrays.copyOfRange(Files.readAllBytes(src), 512, 1000));
    }

    @Test
    void anExplicitCountStaysInWholeSectors() throws Exception {
        Path src = image(dir, "odd.img", 1000, 5);
        Path dst = dir.resolve("new.img");

        assertThat(fixture.run("copy", src + ":0+1", dst.toString())).as(fixture.err()).isZero();

        assertThat(Files.readAllBytes(dst)).isEqualTo(Arrays.copyOf(Files.readAllBytes(src), 512));
    }

    @Test
    void anExistingLongerDestinationIsWrittenInPlaceNotTruncated() throws Exception {
        Path src = image(dir, "odd.img", 1000, 6);
        Path dst = image(dir, "old.img", 4096, 7);
        byte[] before = Files.readAllBytes(dst);

        assertThat(fixture.run("copy", src.toString(), dst.toString())).as(fixture.err()).isZero();

        byte[] after = Files.readAllBytes(dst);
        assertThat(after).hasSize(4096);
        assertThat(Arrays.copyOf(after, 1000)).isEqualTo(Files.readAllBytes(src));
        assertThat(Arrays.copyOfRange(after, 1000, 4096)).isEqualTo(Arrays.copyOfRange(before, 1000, 4096));
    }

    @Test
    void anExistingDestinationTooShortForTheTailIsRefusedAndUntouched() throws Exception {
        Path src = image(dir, "odd.img", 1000, 8);
        Path dst = image(dir, "short.img", 999, 9);
        byte[] before = Files.readAllBytes(dst);

        assertThat(fixture.run("copy", src.toString(), dst.toString())).isEqualTo(Exit.USAGE);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: destination " + dst + " has 999 bytes, too few for bytes "
                + "[0, 1000): an existing destination is written in place, never extended\n");
        assertThat(Files.readAllBytes(dst)).isEqualTo(before);
    }

    @Test
    void aSectorCountOnTheDestinationOfAPartialSourceIsRefused() throws Exception {
        Path src = image(dir, "odd.img", 1000, 10);

        assertThat(fixture.run("copy", src.toString(), dir.resolve("new.img") + ":0+1")).isEqualTo(Exit.USAGE);

        assertThat(fixture.err()).contains("has 1000 bytes, not whole sectors; give DST or DST:SECTOR");
        assertThat(CommandFixture.names(dir)).containsExactly("odd.img");
    }

    @Test
    void anEmptySourceIsRefused() throws Exception {
        Path src = Files.createFile(dir.resolve("empty.img"));

        assertThat(fixture.run("copy", src.toString(), dir.resolve("new.img").toString())).isEqualTo(Exit.USAGE);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: source " + src + " is empty: nothing to copy\n");
        assertThat(CommandFixture.names(dir)).containsExactly("empty.img");
    }

    @Test
    void zeroingAWholeFileZeroesTheTailToo() throws Exception {
        Path img = image(dir, "odd.img", 1000, 11);

        assertThat(fixture.run("zero", "--flush", img.toString())).as(fixture.err()).isZero();

        assertThat(Files.readAllBytes(img)).hasSize(1000).containsOnly(0);
        assertThat(fixture.out()).isEqualTo("zeroed 1000 B in 1 region\n");
    }

    @Test
    void zeroingFromASectorOrACountLeavesTheRestAlone() throws Exception {
        Path a = image(dir, "a.img", 1000, 12);
        Path b = image(dir, "b.img", 1000, 13);
        byte[] beforeA = Files.readAllBytes(a);
        byte[] beforeB = Files.readAllBytes(b);

        assertThat(fixture.run("zero", a + ":1")).as(fixture.err()).isZero();
        assertThat(fixture.run("zero", b + ":0+1")).as(fixture.err()).isZero();

        byte[] afterA = Files.readAllBytes(a);
        assertThat(Arrays.copyOf(afterA, 512)).isEqualTo(Arrays.copyOf(beforeA, 512));
        assertThat(Arrays.copyOfRange(afterA, 512, 1000)).containsOnly(0);
        byte[] afterB = Files.readAllBytes(b);
        assertThat(Arrays.copyOf(afterB, 512)).containsOnly(0);
        assertThat(Arrays.copyOfRange(afterB, 512, 1000)).isEqualTo(Arrays.copyOfRange(beforeB, 512, 1000));
    }

    @Test
    void zeroRegionsOfDifferentByteLengthsAreRefused() throws Exception {
        Path a = image(dir, "a.img", 1000, 14);
        Path b = image(dir, "b.img", 1020, 15);
        byte[] beforeA = Files.readAllBytes(a);

        assertThat(fixture.run("zero", a.toString(), b.toString())).isEqualTo(Exit.USAGE);

        assertThat(fixture.err()).contains("has 1020 bytes but the first").contains("has 1000");
        assertThat(Files.readAllBytes(a)).isEqualTo(beforeA);
    }
}
