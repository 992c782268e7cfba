package org.kcopyd.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kcopyd.cli.internal.CommandFixture.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code copy} sizes what it opened, not what the name names afterwards: another file renamed
 * over a source or destination once it has been opened changes neither how much is copied nor
 * whether an existing destination is long enough.
 */
class ReplacedFileCommandTest {

    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    private final CommandFixture fixture = new CommandFixture();

    @AfterEach
    void close() {
        fixture.close();
    }

    @Test
    void aSourceIsCopiedWholeWhenAShorterFileTakesItsNameOnceItIsOpened() throws IOException {
        Path src = image(dir, "src.img", 2 * MIB + 100, 1);
        byte[] data = Files.readAllBytes(src);
        Path shorter = image(dir, "shorter.img", MIB, 2);
        fixture.opener = TestOpeners.renamingOverAfterOpen(fixture.engine.devices(), src, shorter);
        Path dst = dir.resolve("dst.img");

        assertThat(fixture.run("copy", src.toString(), dst.toString())).isZero();

        assertThat(Files.size(src)).as("the name now names the shorter file").isEqualTo(MIB);
        assertThat(Files.size(dst)).as("the length of the file that was opened").isEqualTo(data.length);
        assertThat(Arrays.mismatch(Files.readAllBytes(dst), data)).as("its first differing byte").isEqualTo(-1);
        assertThat(fixture.out()).startsWith("copied 2.0 MiB from " + src);
    }

    @Test
    void anExistingDestinationTooShortIsRefusedWhenALongerFileTakesItsNameOnceItIsOpened() throws IOException {
        Path src = image(dir, "src.img", MIB + 100, 3);
        Path dst = image(dir, "dst.img", MIB + 10, 4);
        byte[] kept = Files.readAllBytes(dst);
        // The file opened keeps a name of its own once the longer one has taken "dst.img".
        Path opened = Files.createLink(dir.resolve("opened.img"), dst);
        Path longer = image(dir, "longer.img", 2 * MIB, 5);
        byte[] longerData = Files.readAllBytes(longer);
        fixture.opener = TestOpeners.renamingOverAfterOpen(fixture.engine.devices(), dst, longer);

        assertThat(fixture.run("copy", src.toString(), dst.toString())).isEqualTo(Exit.USAGE);

        assertThat(fixture.err()).isEqualTo("kcopyd copy: destination " + dst + " has " + (MIB + 10) + " bytes, too "
                + "few for bytes [0, " + (MIB + 100) + "): an existing destination is written in place, never "
                + "extended\n");
        assertThat(Files.size(opened)).as("the file opened, not extended").isEqualTo(kept.length);
        assertThat(Arrays.mismatch(Files.readAllBytes(opened), kept)).as("nor written").isEqualTo(-1);
        assertThat(Arrays.mismatch(Files.readAllBytes(dst), longerData)).as("the file that took the name, untouched")
                .isEqualTo(-1);
    }
}
